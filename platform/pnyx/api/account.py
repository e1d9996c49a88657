"""One's account: password reset by e-mail, download my data, delete my account."""

from __future__ import annotations

import json

from flask import Response, g, request
from flask import session as cookie_session
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from pnyx.consultations.privacy import export_account
from pnyx.identity.privacy import confirm_password, delete_account
from pnyx.identity.recovery import request_reset, reset_password
from pnyx.kernel.db import utcnow
from pnyx.kernel.errors import Forbidden
from pnyx.kernel.i18n import N_
from pnyx.web.context import db, kernel, require_principal, require_tenant

blp = Blueprint(
    "my_account",
    __name__,
    url_prefix="/api/v1",
    description="One's account: password reset, download my data, delete my account",
)

LOCAL_SUFFIXES = (".localhost", ".test")


@blp.before_request
def _tenant_only():
    require_tenant()


class ResetRequestSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(max=254))


class ResetConfirmSchema(Schema):
    token = fields.String(required=True, validate=validate.Length(max=1000))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=200))


class PasswordSchema(Schema):
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=200))


def reset_url_base() -> str:
    """``https://<host>/reset`` on the request's (already resolved) host; http for local hosts."""
    host = g.host  # normalised and resolved to this tenant by tenants.web
    local = host == "localhost" or host.endswith(LOCAL_SUFFIXES)
    if local:
        _, _, port = request.host.rpartition(":")
        authority = f"{host}:{port}" if port.isdigit() and ":" in request.host else host
        return f"http://{authority}/reset"
    return f"https://{host}/reset"


def _own_account():
    principal = require_principal()
    if principal.is_staff:  # staff have no account on a tenant (and no tenant host session)
        raise Forbidden(N_("Staff have no account here."), code="forbidden")
    return principal


@blp.route("/auth/password-reset")
class PasswordReset(MethodView):
    @blp.arguments(ResetRequestSchema())
    @blp.response(202)
    def post(self, data):
        """Mail a one-hour reset link to this e-mail, if it has an account on this host.

        Always 202, whether or not the account exists.
        """
        request_reset(db(), kernel().jobs, data["email"], reset_url_base=reset_url_base())


@blp.route("/auth/password-reset/confirm")
class PasswordResetConfirm(MethodView):
    @blp.arguments(ResetConfirmSchema())
    @blp.response(204)
    @blp.alt_response(401, description="reset_token_invalid or reset_token_expired")
    @blp.alt_response(422, description="weak_password")
    def post(self, data):
        """Set a new password with the link's token; every other session and token ends."""
        session = db()
        reset_password(session, kernel().signer, data["token"], data["password"], utcnow())
        session.commit()
        cookie_session.pop("auth", None)


@blp.route("/participants/me/export")
class Export(MethodView):
    @blp.response(200, description="Everything held on the caller, as a JSON attachment")
    def get(self):
        """Download my data: account, profile, proposals, votes (this tenant only)."""
        principal = _own_account()
        data = export_account(db(), principal.id)
        slug = require_tenant().slug
        return Response(
            json.dumps(data, ensure_ascii=False, indent=2),
            mimetype="application/json",
            headers={
                "Content-Disposition": f'attachment; filename="pnyx-{slug}-account-{principal.id}.json"',
                "Cache-Control": "no-store",
            },
        )


@blp.route("/participants/me")
class DeleteMe(MethodView):
    @blp.arguments(PasswordSchema())
    @blp.response(204)
    @blp.alt_response(401, description="invalid_credentials")
    def delete(self, data):
        """Delete my account (asks the password again). Proposals and votes stay, anonymous."""
        principal = _own_account()
        session = db()
        confirm_password(session, principal.id, data["password"])
        delete_account(session, principal.id, utcnow())
        session.commit()
        cookie_session.clear()
