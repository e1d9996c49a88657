"""Pages: a tenant's home, the operator's console, login and logout."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    g,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask import (
    session as cookie_session,
)

from pnyx.identity.service import authenticate
from pnyx.kernel.config import REPO_ROOT
from pnyx.kernel.errors import Unauthorized
from tenants import service as tenants_service

from .context import current_principal, current_tenant, db, is_operator_host, log_in

blp = Blueprint("pages", __name__)

# Front-end packages served from node_modules (installed from the npm registry by `make setup`).
VENDOR_PACKAGES = {"swagger-ui-dist", "htmx.org", "axe-core"}
NODE_MODULES = REPO_ROOT / "node_modules"


@blp.route("/")
def home():
    if is_operator_host():
        principal = current_principal()
        tenants = []
        if principal and principal.role == "operator":
            tenants, _ = tenants_service.list_tenants(db(), limit=200)
        return render_template("operator_home.html", principal=principal, tenants=tenants)
    return render_template("home.html", tenant=current_tenant(), principal=current_principal())


@blp.route("/login", methods=["GET", "POST"])
def login():
    form = {"email": request.form.get("email", "")}
    error = None
    if request.method == "POST":
        try:
            principal = authenticate(
                db(),
                form["email"],
                request.form.get("password", ""),
                staff=current_tenant() is None,
            )
        except Unauthorized as exc:
            error = exc.detail
        else:
            db().commit()
            log_in(principal)
            return redirect(url_for("pages.home"))
    status = 401 if error else 200
    return render_template("login.html", form=form, error=error), status


@blp.route("/logout", methods=["POST"])
def logout():
    cookie_session.clear()
    return redirect(url_for("pages.home"))


@blp.route("/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str):
    if package not in VENDOR_PACKAGES:
        abort(404)
    return send_from_directory(NODE_MODULES / package, filename, max_age=86400)


@blp.app_context_processor
def _layout():
    return {"host": g.get("host"), "tenant": g.get("tenant")}
