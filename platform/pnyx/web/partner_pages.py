"""The tenant admin's partners pages: the coalition by tier; add, edit, order, remove a partner
and its logo."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from billing import partners
from billing.models import TIERS
from pnyx.kernel.errors import Problem
from pnyx.kernel.images import MAX_BYTES, UPLOAD_LIMIT

from .admin_pages import tenant_admins_only
from .context import db, kernel
from .forms import field_errors, say

blp = Blueprint("partner_pages", __name__, url_prefix="/admin/partners")  # CSRF: forms.init_csrf
blp.before_request(tenant_admins_only)


# A page reads a file several times the logo's limit, so that a logo too large is refused by
# its field, with what was typed in the others kept, rather than by a 413 page.
PAGE_UPLOAD_LIMIT = 5 * UPLOAD_LIMIT


@blp.url_value_preprocessor
def _room_for_a_logo(endpoint, values):
    """Before anything reads the form (the CSRF check does): more than the application's limit
    for other requests."""
    request.max_content_length = PAGE_UPLOAD_LIMIT


@blp.route("/")
def index():
    return render_template(
        "admin/partners.html",
        coalition=partners.coalition(db()),
        done=request.args.get("done"),
    )


def _typed() -> dict:
    return {
        "name": request.form.get("name", "")[:500],
        "tier": request.form.get("tier", ""),
        "website_url": request.form.get("website_url", "")[:1000],
        "position": request.form.get("position", "")[:20],
    }


def _form(partner, form: dict, errors: dict | None = None, message=None, status: int = 200):
    return render_template(
        "admin/partner_form.html",
        partner=partner,
        form=form,
        errors=errors or {},
        message=message,
        tiers=TIERS,
        tier_labels=partners.TIER_LABELS,
        saved=request.args.get("saved") == "1",
    ), status


def _save(partner_id: int | None):
    """Create or update from the form, then the logo if one was sent; all or nothing."""
    typed = _typed()
    logo = request.files.get("logo")
    try:
        if partner_id is None:
            partner = partners.create_partner(db(), typed)
        else:
            partner = partners.update_partner(db(), partner_id, typed)
        if logo is not None and logo.filename:
            partners.set_logo(db(), kernel().storage, partner.id, logo.read(MAX_BYTES + 1))
        elif request.form.get("remove_logo"):
            partners.remove_logo(db(), kernel().storage, partner.id)
    except Problem as exc:
        db().rollback()
        current = partners.get_partner(db(), partner_id) if partner_id is not None else None
        return _form(current, typed, field_errors(exc), say(exc.detail), exc.status)
    db().commit()
    return redirect(url_for(".edit", partner_id=partner.id, saved=1), 303)


@blp.route("/new", methods=["GET", "POST"])
def new():
    if request.method == "POST":
        return _save(None)
    return _form(None, {"tier": "associate", "position": "0"})


@blp.route("/<int:partner_id>", methods=["GET", "POST"])
def edit(partner_id: int):
    partner = partners.get_partner(db(), partner_id)  # another tenant's: 404
    if request.method == "POST":
        return _save(partner.id)
    form = {
        "name": partner.name,
        "tier": partner.tier,
        "website_url": partner.website_url or "",
        "position": str(partner.position),
    }
    return _form(partner, form)


@blp.route("/<int:partner_id>/delete", methods=["POST"])
def delete(partner_id: int):
    partners.delete_partner(db(), kernel().storage, partner_id)
    db().commit()
    return redirect(url_for(".index", done="deleted"), 303)
