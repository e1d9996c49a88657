"""The tenant admin's vote-integrity page: lockstep groups with their evidence, clearing a
false alarm, running detection now."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from pnyx.consultations import service as consultations
from pnyx.kernel.errors import Problem
from pnyx.moderation import integrity

from .admin_pages import tenant_admins_only
from .context import current_principal, db
from .forms import now, say

blp = Blueprint("integrity_pages", __name__, url_prefix="/admin")  # CSRF: forms.init_csrf


blp.before_request(tenant_admins_only)


def _page(consultation, status: int = 200, message: str | None = None):
    views = integrity.groups_of(db(), consultation.id)
    return render_template(
        "admin/integrity.html",
        consultation=consultation,
        flagged=[v for v in views if v.record.status == "flagged"],
        cleared=[v for v in views if v.record.status == "cleared"],
        message=message,
        done=request.args.get("done"),
    ), status


@blp.route("/c/<slug>/integrite")
def groups(slug: str):
    return _page(consultations.by_slug(db(), slug))


@blp.route("/c/<slug>/integrite/<int:group_id>/clear", methods=["POST"])
def clear(slug: str, group_id: int):
    consultation = consultations.by_slug(db(), slug)
    try:
        integrity.clear_group(
            db(), consultation.id, group_id, by=current_principal().email, now=now()
        )
    except Problem as exc:
        db().rollback()
        return _page(consultation, exc.status, say(exc.detail))
    db().commit()
    return redirect(url_for(".groups", slug=slug, done="cleared") + f"#group-{group_id}", 303)


@blp.route("/c/<slug>/integrite/detect", methods=["POST"])
def detect(slug: str):
    consultation = consultations.by_slug(db(), slug)
    db().commit()  # end this request's transaction: an inline job opens its own
    integrity.request_detection(consultation.tenant_id, consultation.id)
    return redirect(url_for(".groups", slug=slug, done="detect"), 303)
