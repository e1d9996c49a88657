"""The moderation desk's pages (operator's host, ``/moderation``) and each tenant's charter
(tenant host, ``/charte``)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from pnyx.consultations.proposals import REFUSAL_REASONS
from pnyx.kernel.errors import Forbidden, Invalid, NotFound, Problem
from pnyx.kernel.i18n import N_
from pnyx.moderation import assignments, charter, service, workload
from tenants.models import Tenant

from .context import current_principal, db, is_operator_host, kernel, require_tenant
from .forms import field_errors, form_id, form_ids, now, say

blp = Blueprint("moderation_desk", __name__)

PUBLIC_ENDPOINTS = {"moderation_desk.charter_page"}


@blp.before_request
def _staff_on_the_operators_host():
    if request.endpoint in PUBLIC_ENDPOINTS:
        require_tenant()  # a tenant's charter: on its own host only
        return None
    if not is_operator_host():
        raise NotFound(N_("Not found on this host."), code="not_found")
    principal = current_principal()
    if principal is None:
        return redirect(url_for("pages.login", next=request.full_path.rstrip("?")))
    if not (principal.is_staff and principal.role in assignments.DESK_ROLES):
        raise Forbidden(N_("Your role does not allow this."), code="forbidden")
    return None


@blp.app_template_filter()
def check_label(code: str) -> str:
    """A pre-check's kind (``Finding.code``) as the moderator reads it."""
    return {
        "personal_data.email": _("E-mail address"),
        "personal_data.phone": _("Phone number"),
        "personal_data.iban": _("Bank account number (IBAN)"),
        "personal_data.nir": _("Social security number"),
        "personal_data.card": _("Bank card number"),
        "link": _("Link or website address"),
        "insult": _("Insult"),
        "vulgarity": _("Vulgarity"),
        "slur": _("Discriminatory slur"),
        "language": _("Unexpected language"),
        "duplicate": _("Near-duplicate"),
    }.get(code, code)


def _ttl() -> float:
    return float(current_app.config.get("MODERATION_LOCK_TTL") or service.LOCK_TTL)


def _open(tenant_id: int | None = None):
    staff = current_principal()
    assignments.open_desk(db(), staff, tenant_id=tenant_id)
    return staff


def _tenant_names() -> dict[int, str]:
    visible = db().visible_tenants
    if not visible:
        return {}
    return {t.id: t.name for t in db().query(Tenant).filter(Tenant.id.in_(visible))}


@blp.route("/moderation/")
def index():
    staff = _open()
    return render_template(
        "moderation/index.html",
        principal=staff,
        loads=workload.tenant_loads(db(), now()),
        empty=request.args.get("empty") == "1",
        done=request.args.get("done"),
    )


@blp.route("/moderation/next", methods=["POST"])
def take_next():
    raw = request.form.get("tenant_id", "")
    staff = _open(form_id(raw))
    found = service.next_proposal(db(), kernel().store, staff, now(), ttl=_ttl())
    db().commit()
    if found is None:
        return redirect(url_for(".index", empty=1), 303)
    return redirect(url_for(".proposal", proposal_id=found[0].id), 303)


def _render_proposal(proposal_id: int, *, errors=None, form=None, message=None, status=200):
    staff = current_principal()
    store = kernel().store
    proposal = service.get_proposal(db(), staff, proposal_id)
    lock = None
    if proposal.status in service.QUEUE_STATUSES:
        try:
            lock = service.take_lock(store, staff, proposal.id, now(), _ttl())
        except Problem:
            lock = service.lock_of(store, proposal.id)
    item = service.desk_item(db(), store, proposal, lock)
    mine = bool(item.lock and item.lock.held_by(staff))
    can_decide = mine or (not item.lock and proposal.status in ("pending", "postponed"))
    beside = {"content", "reason"} | ({"tag_ids"} if item.tags else set())
    if can_decide and (errors or {}).keys() & beside:
        message = None  # said once: beside its field in the decision forms
    return render_template(
        "moderation/proposal.html",
        principal=staff,
        item=item,
        mine=mine,
        can_decide=can_decide,
        reasons=REFUSAL_REASONS,
        errors=errors or {},
        form=form or {},
        message=message,
        ttl=_ttl(),
    ), status


@blp.route("/moderation/proposals/<int:proposal_id>")
def proposal(proposal_id: int):
    _open()
    return _render_proposal(proposal_id)


def _decision_form() -> dict:
    form = {
        "decision": request.form.get("decision", "")[:20],
        "reason": request.form.get("reason", "")[:40] or None,
        "note": request.form.get("note", "")[:500] or None,
        "content": request.form.get("content", "")[:500] or None,
    }
    form["tag_ids"] = form_ids(request.form.getlist("tag_ids"), limit=20)  # no id: -1, refused
    return form


@blp.route("/moderation/proposals/<int:proposal_id>/decision", methods=["POST"])
def decide(proposal_id: int):
    staff = _open()
    form = _decision_form()
    back = request.form.get("back", "")
    k = kernel()
    try:
        service.decide(
            db(),
            staff,
            proposal_id,
            form["decision"],
            store=k.store,
            jobs=k.jobs,
            now=now(),
            reason=form["reason"],
            note=form["note"],
            tag_ids=form["tag_ids"],
            content=form["content"],
            ttl=_ttl(),
        )
    except Problem as exc:
        db().rollback()
        if isinstance(exc, NotFound):
            raise
        errors = field_errors(exc) if isinstance(exc, Invalid) else {}
        return _render_proposal(
            proposal_id, errors=errors, form=form, message=say(exc.detail), status=exc.status
        )
    db().commit()
    if back.startswith("/moderation/") and not back.startswith("//"):
        return redirect(back, 303)
    return redirect(url_for(".index", done=form["decision"]), 303)


@blp.route("/moderation/proposals/<int:proposal_id>/lock", methods=["POST"])
def renew(proposal_id: int):
    """Renewed by the open page (htmx) while the moderator works on it."""
    staff = _open()
    service.renew(db(), kernel().store, staff, proposal_id, now(), ttl=_ttl())
    return "", 204


@blp.route("/moderation/proposals/<int:proposal_id>/release", methods=["POST"])
def release(proposal_id: int):
    staff = _open()
    service.release(db(), kernel().store, staff, proposal_id)
    return redirect(url_for(".index"), 303)


@blp.route("/moderation/tenants/<int:tenant_id>/authors/<int:author_id>")
def by_author(tenant_id: int, author_id: int):
    staff = _open(tenant_id)
    found = service.of_author(db(), kernel().store, staff, author_id, now(), ttl=_ttl())
    return render_template(
        "moderation/author.html",
        principal=staff,
        tenant_name=_tenant_names().get(tenant_id, ""),
        author_id=author_id,
        items=[(p, lock, bool(lock and lock.held_by(staff))) for p, lock in found],
        reasons=REFUSAL_REASONS,
        back=request.path,
    )


@blp.route("/moderation/untagged")
def untagged():
    staff = _open()
    items = workload.untagged(db())
    tags = {}
    for item in items:
        if item.consultation.id not in tags:
            from pnyx.consultations.service import tags_of

            tags[item.consultation.id] = tags_of(db(), item.consultation.id)
    return render_template(
        "moderation/untagged.html",
        principal=staff,
        items=items,
        tags=tags,
        tenant_names=_tenant_names(),
        back=request.path,
    )


@blp.route("/moderation/workload")
def workload_page():
    staff = current_principal()
    if staff.role == "operator":
        assignments.open_all_tenants(db(), staff)
    else:
        _open()
    moment = now()
    return render_template(
        "moderation/workload.html",
        principal=staff,
        loads=workload.tenant_loads(db(), moment),
        moderators=workload.moderator_loads(db(), moment),
        target_hours=int(workload.TARGET.total_seconds() // 3600),
    )


@blp.route("/moderation/assignments", methods=["GET", "POST"])
def assignments_page():
    staff = current_principal()
    if staff.role != "operator":
        raise Forbidden(N_("Your role does not allow this."), code="forbidden")
    message, status = None, 200
    if request.method == "POST":
        staff_id = form_id(request.form.get("staff_id", ""))
        tenant_id = form_id(request.form.get("tenant_id", ""))
        if staff_id is None or tenant_id is None:
            abort(400)
        try:
            if request.form.get("action") == "remove":
                assignments.unassign(db(), staff, staff_id, tenant_id)
            else:
                assignments.assign(db(), staff, staff_id, tenant_id, now())
        except Problem as exc:
            db().rollback()
            message, status = say(exc.detail), exc.status
        else:
            db().commit()
            return redirect(url_for(".assignments_page"), 303)
    rows = assignments.assignments(db(), staff)
    tenants = list(db().query(Tenant).order_by(Tenant.slug))
    return render_template(
        "moderation/assignments.html",
        principal=staff,
        rows=rows,
        staff_members=assignments.desk_staff(db()),
        tenants=tenants,
        message=message,
    ), status


# -------------------------------------------------------------------------------- charter


@blp.route("/charte", methods=["GET", "POST"])
def charter_page():
    principal = current_principal()
    editor = principal is not None and principal.role == "tenant_admin"
    errors, status, typed = {}, 200, None
    if request.method == "POST":
        if not editor:
            raise Forbidden(N_("Your role does not allow this."), code="forbidden")
        typed = request.form.get("text", "")[: charter.MAX_LENGTH + 1]
        try:
            charter.set_charter(db(), principal, typed, now())
        except Problem as exc:
            db().rollback()
            errors, status = field_errors(exc), exc.status
        else:
            db().commit()
            return redirect(url_for(".charter_page", saved=1), 303)
    found = charter.charter_of(db())
    text = found.text if found else ""
    return render_template(
        "moderation/charter.html",
        principal=principal,
        paragraphs=[p.strip() for p in text.split("\n\n") if p.strip()],
        charter=found,
        editor=editor,
        typed=typed if typed is not None else text,
        errors=errors,
        saved=request.args.get("saved") == "1",
    ), status
