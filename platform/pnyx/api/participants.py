"""Participants: sign up, and one's own profile."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from pnyx.identity.accounts import signup
from pnyx.identity.participants import age_band, update_profile
from pnyx.identity.service import issue_token, principal_of
from pnyx.moderation import integrity
from pnyx.web.context import (
    current_participant,
    db,
    kernel,
    log_in,
    require_principal,
    require_tenant,
)

blp = Blueprint(
    "participants", __name__, url_prefix="/api/v1/participants", description="Participants"
)


@blp.before_request
def _tenant_only():
    require_tenant()


class SignupSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=200))
    first_name = fields.String(required=True, validate=validate.Length(max=100))
    birth_year = fields.Raw(required=True)
    postal_code = fields.String(required=True, validate=validate.Length(max=10))


class ProfileSchema(Schema):
    id = fields.Integer(dump_only=True)
    email = fields.String(dump_only=True)
    first_name = fields.String(dump_only=True)
    birth_year = fields.Raw(allow_none=True)
    postal_code = fields.String(allow_none=True, validate=validate.Length(max=10))
    territory = fields.String(dump_only=True)
    age_band = fields.String(dump_only=True)


class ProfilePatchSchema(ProfileSchema):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)


class SignupResultSchema(Schema):
    token = fields.String()
    token_type = fields.String()
    participant = fields.Nested(ProfileSchema)


def _profile(participant, account=None) -> dict:
    return {
        "id": participant.id,
        "email": account.email if account else None,
        "first_name": account.first_name if account else None,
        "birth_year": participant.birth_year,
        "postal_code": participant.postal_code,
        "territory": participant.territory,
        "age_band": age_band(participant.birth_year, datetime.now(UTC)),
    }


@blp.route("")
class Participants(MethodView):
    @blp.arguments(SignupSchema())
    @blp.response(201, SignupResultSchema)
    def post(self, data):
        """Sign up (e-mail, password, first name, year of birth, 5-digit postal code).

        Votes cast anonymously in this session so far become the new account's.
        """
        tenant = require_tenant()
        integrity.check(kernel().store, "signup", tenant_id=tenant.id, ip=request.remote_addr)
        session = db()
        account, participant = signup(
            session, **data, now=datetime.now(UTC), anonymous=current_participant()
        )
        session.commit()
        principal = principal_of(account)
        log_in(principal)
        return {
            "token": issue_token(kernel().signer, principal),
            "token_type": "Bearer",
            "participant": _profile(participant, account),
        }


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, ProfileSchema)
    def get(self):
        """My profile (and the segment my votes count in)."""
        principal = require_principal()
        from pnyx.identity.models import Account

        return _profile(current_participant(create=True), db().get(Account, principal.id))

    @blp.arguments(ProfilePatchSchema())
    @blp.response(200, ProfileSchema)
    def patch(self, data):
        """Update year of birth and/or postal code."""
        principal = require_principal()
        from pnyx.identity.models import Account

        participant = update_profile(
            db(), current_participant(create=True), datetime.now(UTC), **data
        )
        db().commit()
        return _profile(participant, db().get(Account, principal.id))
