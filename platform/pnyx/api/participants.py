"""Participants: sign up, and one's own profile."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from pnyx.consultations import votes
from pnyx.identity.accounts import signup
from pnyx.identity.models import Account, Participant
from pnyx.identity.participants import age_band
from pnyx.identity.service import issue_token, principal_of
from pnyx.kernel.errors import Forbidden
from pnyx.kernel.i18n import N_
from pnyx.moderation import integrity
from pnyx.web.context import (
    current_participant,
    current_principal,
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
        votes.place_earlier_votes(session, participant)
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
        """My profile (and the segment my votes count in).

        An anonymous voter (the session cookie) has one too, without e-mail or first name.
        """
        participant, account = _me(create=False)
        return _profile(participant, account)

    @blp.arguments(ProfilePatchSchema())
    @blp.response(200, ProfileSchema)
    def patch(self, data):
        """Give or update year of birth and/or postal code.

        Anonymous voters may give them too. The votes cast while they were unknown then count
        in the segment they place the voter in.
        """
        integrity.check(
            kernel().store, "profile", tenant_id=require_tenant().id, ip=request.remote_addr
        )
        participant, account = _me(create=True)
        votes.give_segment(db(), participant, datetime.now(UTC), **data)
        db().commit()
        return _profile(participant, account)


def _me(*, create: bool) -> tuple[Participant, Account | None]:
    """The caller's participant and account: a citizen's, or an anonymous session's (created
    on ``create``). Staff have no participant: 403."""
    principal = current_principal()
    if principal is not None and principal.is_staff:
        raise Forbidden(N_("Your role does not allow this."), code="forbidden")
    participant = current_participant(create=create)
    if participant is None:
        require_principal()
    account = db().get(Account, principal.id) if principal is not None else None
    return participant, account
