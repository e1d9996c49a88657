"""The tenant admin's pages: consultations (create, edit, tags) and their pending proposals."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, redirect, render_template, request, url_for

from pnyx.consultations import proposals
from pnyx.consultations import service as consultations
from pnyx.consultations.models import Consultation
from pnyx.consultations.service import STEP_KINDS
from pnyx.kernel.errors import Forbidden, Invalid, Problem
from pnyx.kernel.i18n import N_

from .context import current_principal, db, kernel, require_tenant
from .forms import field_errors, form_ids, now, say, tenant_zone

blp = Blueprint("admin", __name__, url_prefix="/admin")

TEXT_FIELDS = ("question", "slug", "proposal_prefix", "context", "visibility", "language")
GOALS = ("goal_participants", "goal_proposals", "goal_votes")


@blp.before_request
def tenant_admins_only():
    """Before every tenant admin page (this blueprint's and the other /admin ones): no /admin
    of a tenant on the operator's host (404); a visitor logs in first; other roles get 403."""
    require_tenant()
    principal = current_principal()
    if principal is None:
        return redirect(url_for("pages.login", next=request.full_path.rstrip("?")))
    if not principal.has_role("tenant_admin"):
        raise Forbidden(N_("Your role does not allow this."), code="forbidden")
    return None


@blp.route("/")
def index():
    rows = []
    moment = now()
    for consultation in consultations.list_consultations(db(), current_principal()):
        rows.append(
            (
                consultation,
                consultation.status_at(moment),
                consultations.progress(db(), consultation, kernel().store),
                len(proposals.pending(db(), consultation.id, limit=1000)),
            )
        )
    return render_template("admin/index.html", rows=rows)


# -- the consultation form -------------------------------------------------------------------


def _local_input(value: datetime | None) -> str:
    return value.astimezone(tenant_zone()).strftime("%Y-%m-%dT%H:%M") if value else ""


def _form_of(consultation: Consultation | None) -> dict:
    if consultation is None:
        return {
            "proposal_prefix": "Il faut",
            "visibility": "public",
            "language": "fr",
            "steps": {},
        }
    form = {name: getattr(consultation, name) for name in (*TEXT_FIELDS, *GOALS)}
    form["starts_at"] = _local_input(consultation.starts_at)
    form["ends_at"] = _local_input(consultation.ends_at)
    form["steps"] = {step["kind"]: step for step in consultation.steps or []}
    return form


def _parse_form() -> tuple[dict, dict]:
    """(what was typed, to show again; the data for the service)."""
    typed: dict = {name: request.form.get(name, "")[:5000] for name in (*TEXT_FIELDS, *GOALS)}
    data: dict = {name: typed[name] for name in TEXT_FIELDS}
    for goal in GOALS:
        raw = typed[goal].strip().replace(" ", "")
        data[goal] = int(raw) if raw.isdecimal() and len(raw) <= 18 else (0 if raw == "" else raw)
    for field in ("starts_at", "ends_at"):
        raw = typed[field] = request.form.get(field, "")[:40].strip()
        try:
            parsed = datetime.fromisoformat(raw) if raw else None
        except ValueError:
            parsed = raw  # the service says what is wrong with it
        if isinstance(parsed, datetime) and parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tenant_zone())  # typed in the tenant's time zone
        data[field] = parsed
    typed["steps"], steps = {}, []
    for kind in STEP_KINDS:
        title = request.form.get(f"step_{kind}_title", "")[:120].strip()
        when = request.form.get(f"step_{kind}_date", "")[:20].strip()
        typed["steps"][kind] = {"title": title, "date": when}
        if title or when:
            steps.append({"kind": kind, "title": title, "date": when or None})
    data["steps"] = steps
    return typed, data


def _consultation_form(consultation: Consultation | None):
    errors: dict[str, list[str]] = {}
    message = None
    status = 200
    form = _form_of(consultation)
    if request.method == "POST":
        form, data = _parse_form()
        try:
            if consultation is None:
                consultation = consultations.create_consultation(db(), data)
            else:
                consultations.update_consultation(db(), consultation.id, data)
        except Problem as exc:
            db().rollback()
            errors, status, message = field_errors(exc), exc.status, say(exc.detail)
            if consultation is not None:
                consultation = consultations.get_consultation(db(), consultation.id)
        else:
            db().commit()
            return redirect(url_for(".edit", consultation_id=consultation.id, saved=1), 303)
    return render_template(
        "admin/consultation_form.html",
        consultation=consultation,
        form=form,
        errors=errors,
        message=message,
        step_kinds=STEP_KINDS,
        tags=consultations.tags_of(db(), consultation.id) if consultation else [],
        tag_form={},
        tag_errors={},
        saved=request.args.get("saved") == "1",
    ), status


@blp.route("/consultations/new", methods=["GET", "POST"])
def new():
    return _consultation_form(None)


@blp.route("/consultations/<int:consultation_id>", methods=["GET", "POST"])
def edit(consultation_id: int):
    return _consultation_form(consultations.get_consultation(db(), consultation_id))


@blp.route("/consultations/<int:consultation_id>/tags", methods=["POST"])
def add_tag(consultation_id: int):
    consultation = consultations.get_consultation(db(), consultation_id)
    tag_form = {
        "tag_slug": request.form.get("tag_slug", "")[:100],
        "tag_label": request.form.get("tag_label", "")[:200],
    }
    try:
        consultations.add_tag(db(), consultation.id, tag_form["tag_slug"], tag_form["tag_label"])
    except Problem as exc:
        db().rollback()
        errors = field_errors(exc)
        tag_errors = {f"tag_{name}": messages for name, messages in errors.items()}
        if not tag_errors:
            tag_errors = {"tag_slug": [say(exc.detail)]}
        return render_template(
            "admin/consultation_form.html",
            consultation=consultation,
            form=_form_of(consultation),
            errors={},
            message=None,
            step_kinds=STEP_KINDS,
            tags=consultations.tags_of(db(), consultation.id),
            tag_form=tag_form,
            tag_errors=tag_errors,
            saved=False,
        ), exc.status
    db().commit()
    return redirect(url_for(".edit", consultation_id=consultation.id) + "#tags", 303)


# -- moderation of the pending proposals -----------------------------------------------------


@blp.route("/consultations/<int:consultation_id>/moderation")
def moderation(
    consultation_id: int, errors: dict | None = None, status: int = 200, message: str | None = None
):
    consultation = consultations.get_consultation(db(), consultation_id)
    return render_template(
        "admin/moderation.html",
        consultation=consultation,
        pending=proposals.pending(db(), consultation.id),
        tags=consultations.tags_of(db(), consultation.id),
        reasons=proposals.REFUSAL_REASONS,
        errors=errors or {},
        message=message,
        decided=request.args.get("decided", type=int),
        decision=request.args.get("decision"),
    ), status


@blp.route(
    "/consultations/<int:consultation_id>/proposals/<int:proposal_id>/decision",
    methods=["POST"],
)
def decide(consultation_id: int, proposal_id: int):
    consultation = consultations.get_consultation(db(), consultation_id)
    proposal = proposals.get(db(), proposal_id, consultation.id)  # another's: 404
    decision = request.form.get("decision", "")
    tag_ids = form_ids(request.form.getlist("tag_ids"))  # no id: -1, refused by the service
    try:
        proposals.decide(
            db(),
            proposal.id,
            decision,
            by=current_principal().email,
            now=now(),
            reason=request.form.get("reason") or None,
            note=request.form.get("note", "")[:500] or None,
            tag_ids=tag_ids if decision == "accept" else None,
        )
    except Problem as exc:
        db().rollback()
        found = field_errors(exc) if isinstance(exc, Invalid) else {}
        # Said once: beside its field if the forms show it, else above them.
        beside = {"reason"}
        if consultations.tags_of(db(), consultation.id):
            beside.add("tag_ids")
        if not found.keys() & beside:
            found["message"] = [say(exc.detail)]
        if proposal.status not in ("pending", "postponed"):  # no longer in the list
            return moderation(consultation.id, status=exc.status, message=say(exc.detail))
        return moderation(consultation.id, errors={proposal.id: found}, status=exc.status)
    db().commit()
    return redirect(
        url_for(
            ".moderation", consultation_id=consultation.id, decided=proposal.id, decision=decision
        ),
        303,
    )
