"""Bearer tokens for the API: an account on a tenant host, staff on the operator host."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from pnyx.identity.service import authenticate, issue_token, revoke_tokens
from pnyx.web.context import current_tenant, db, kernel, require_principal

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Authentication")


class CredentialsSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=200))


class TokenSchema(Schema):
    token = fields.String()
    token_type = fields.String()
    role = fields.String()


class MeSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    email = fields.String()
    role = fields.String()
    tenant_id = fields.Integer(allow_none=True)


@blp.route("/token")
class Token(MethodView):
    @blp.arguments(CredentialsSchema())
    @blp.response(201, TokenSchema)
    def post(self, credentials):
        """Exchange e-mail and password for a bearer token valid on this host only."""
        session = db()
        principal = authenticate(
            session, credentials["email"], credentials["password"], staff=current_tenant() is None
        )
        session.commit()
        return {
            "token": issue_token(kernel().signer, principal),
            "token_type": "Bearer",
            "role": principal.role,
        }

    @blp.response(204)
    def delete(self):
        """Revoke every token of the caller (log out everywhere)."""
        principal = require_principal()
        revoke_tokens(db(), principal)
        db().commit()


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, MeSchema)
    def get(self):
        """Who the bearer token or session belongs to."""
        principal = require_principal()
        return {
            "id": principal.id,
            "kind": principal.kind,
            "email": principal.email,
            "role": principal.role,
            "tenant_id": principal.tenant_id,
        }
