"""Pages: a tenant's home, the operator's console, login and logout."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    abort,
    g,
    redirect,
    render_template,
    request,
    send_file,
    send_from_directory,
    url_for,
)
from flask import (
    session as cookie_session,
)
from flask_babel import gettext as _

from pnyx.consultations import service as consultations
from pnyx.identity.service import authenticate
from pnyx.kernel.config import REPO_ROOT
from pnyx.kernel.errors import Unauthorized
from pnyx.kernel.storage import LocalStorage
from tenants import service as tenants_service

from .context import current_principal, current_tenant, db, is_operator_host, kernel, log_in
from .forms import safe_next, say

blp = Blueprint("pages", __name__)

# Front-end packages served from node_modules (installed from the npm registry by `make setup`).
VENDOR_PACKAGES = {"swagger-ui-dist", "htmx.org", "axe-core"}
NODE_MODULES = REPO_ROOT / "node_modules"
YEAR = 365 * 86400


@blp.route("/")
def home():
    if is_operator_host():
        principal = current_principal()
        tenants = []
        if principal and principal.role == "operator":
            tenants, _ = tenants_service.list_tenants(db(), limit=200)
        # Links to the tenants' hosts keep this host's port (a demo or a test server).
        _host, colon, port = request.host.rpartition(":")
        port_suffix = f":{port}" if colon and port.isdigit() else ""
        return render_template(
            "operator_home.html", principal=principal, tenants=tenants, port_suffix=port_suffix
        )
    tenant = current_tenant()
    principal = current_principal()
    visible = consultations.list_consultations(db(), principal) if tenant else []
    moment = datetime.now(UTC)
    return render_template(
        "home.html",
        tenant=tenant,
        principal=principal,
        consultations=[(c, c.status_at(moment)) for c in visible],
        members_only=consultations.count_members_only(db()) if tenant and not principal else 0,
    )


@blp.route("/login", methods=["GET", "POST"])
def login():
    form = {"email": request.form.get("email", "")[:254]}
    next_path = safe_next(request.values.get("next"), url_for("pages.home"))
    error = None
    missing = request.method == "POST" and not (
        form["email"].strip() and request.form.get("password")
    )
    if missing:
        error = _("Enter your e-mail address and your password.")  # not "wrong": missing
    elif request.method == "POST":
        try:
            principal = authenticate(
                db(),
                form["email"],
                request.form.get("password", ""),
                staff=current_tenant() is None,
            )
        except Unauthorized as exc:
            error = say(exc.detail)
        else:
            db().commit()
            drafts = cookie_session.get("drafts")
            log_in(principal)
            if isinstance(drafts, dict):
                cookie_session["drafts"] = drafts  # a proposal typed before logging in
            return redirect(next_path)
    status = 422 if missing else 401 if error else 200
    return render_template("login.html", form=form, error=error, next_path=next_path), status


@blp.route("/logout", methods=["POST"])
def logout():
    cookie_session.clear()
    return redirect(url_for("pages.home"))


@blp.route("/favicon.ico")
def favicon():
    """Browsers ask for it on pages that name no icon (the API's Swagger page)."""
    return redirect(url_for("static", filename="favicon.svg"), 301)


@blp.route("/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str):
    if package not in VENDOR_PACKAGES:
        abort(404)
    return send_from_directory(NODE_MODULES / package, filename, max_age=86400)


@blp.route("/files/<path:key>")
def public_file(key: str):
    """A tenant's public file (a partner's logo) from local storage, the embedded default; S3
    serves its own. Only this host's tenant's files: ``public/<tenant_id>/…``. Their names
    change with their content, so they may be cached for good."""
    storage = kernel().storage
    tenant = current_tenant()
    if not isinstance(storage, LocalStorage) or tenant is None:
        abort(404)
    if not key.startswith(f"public/{tenant.id}/") or not key.endswith(".png"):
        abort(404)
    try:
        path = storage.path(key)
    except ValueError:
        abort(404)
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="image/png", max_age=YEAR, conditional=True)


@blp.app_context_processor
def _layout():
    return {"host": g.get("host"), "tenant": g.get("tenant")}
