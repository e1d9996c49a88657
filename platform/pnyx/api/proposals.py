"""A proposal by id: read it, vote on it, decide on it."""

from __future__ import annotations

from flask import g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import bindparam, select

from pnyx.consultations import proposals, service, votes
from pnyx.consultations.models import Consultation, Proposal
from pnyx.consultations.proposals import DECISIONS, REFUSAL_REASONS
from pnyx.kernel.db import ID_MAX
from pnyx.kernel.errors import NotFound
from pnyx.kernel.i18n import N_
from pnyx.moderation import integrity
from pnyx.rotation import service as rotation
from pnyx.web.context import (
    anonymous_voter_id,
    current_participant,
    current_principal,
    db,
    kernel,
    now,
    require_principal,
    require_tenant,
)

from .schemas import MyVoteSchema, ProposalSchema, proposal_payload

blp = Blueprint(
    "proposals", __name__, url_prefix="/api/v1/proposals", description="Proposals and votes"
)


@blp.before_request
def _load_proposal():
    """Before any argument is parsed: unknown, hidden or another tenant's proposal → 404."""
    require_tenant()
    proposal_id = (request.view_args or {}).get("proposal_id")
    if proposal_id is None:
        return
    if request.endpoint == "proposals.VoteOnProposal":
        _load_ballot(proposal_id)
        return
    proposal, consultation = _load(proposal_id)
    principal = current_principal()
    if not service.can_see(consultation, principal):
        raise NotFound(N_("No such consultation."), code="consultation_not_found")
    g.consultation = consultation
    if not proposals.visible(proposal, current_participant()) and not (
        principal and principal.role == "tenant_admin"
    ):
        raise NotFound(N_("No such proposal."), code="proposal_not_found")
    g.proposal = proposal


_LOAD = (
    select(Proposal, Consultation)
    .join(Consultation, Consultation.id == Proposal.consultation_id)
    .where(Proposal.id == bindparam("proposal_id"))
)


def _load(proposal_id: int) -> tuple[Proposal, Consultation]:
    row = db().execute(_LOAD, {"proposal_id": proposal_id}).first()
    if row is None:
        raise NotFound(N_("No such proposal."), code="proposal_not_found")
    return row[0], row[1]


def _load_ballot(proposal_id: int) -> None:
    """The vote path's read (the hottest request): the proposal, its consultation, the voter and
    their vote on it, in one round trip of plain SQL (``votes.read_ballot``), to ``g.ballot``."""
    db().use_generic_plans()
    principal = current_principal()
    if principal is not None:
        ballot = votes.read_ballot(db(), proposal_id, account_id=principal.id)
    else:
        ballot = votes.read_ballot(db(), proposal_id, participant_id=anonymous_voter_id())
        if ballot is not None and ballot.voter is not None and ballot.voter.account_id:
            # The session's participant belongs to an account now: log in to use it.
            ballot = ballot._replace(voter=None, previous_trusted=None)
    if ballot is None:
        raise NotFound(N_("No such proposal."), code="proposal_not_found")
    if not service.can_see(ballot.consultation, principal):
        raise NotFound(N_("No such consultation."), code="consultation_not_found")
    if not proposals.visible(ballot.proposal, ballot.voter) and not (
        principal and principal.role == "tenant_admin"
    ):
        raise NotFound(N_("No such proposal."), code="proposal_not_found")
    g.ballot = ballot


class VoteSchema(Schema):
    key = fields.String(required=True, validate=validate.Length(max=20))
    qualifications = fields.List(fields.String(validate=validate.Length(max=30)), load_default=list)
    card_key = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class VoteResultSchema(Schema):
    proposal_id = fields.Integer()
    vote = fields.Nested(MyVoteSchema, allow_none=True)
    changed = fields.Boolean()
    counted_for_scores = fields.Boolean()
    card_key_problem = fields.String(allow_none=True)


class DecisionSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(tuple(DECISIONS)))
    reason = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(REFUSAL_REASONS)
    )
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    tag_ids = fields.List(
        fields.Integer(validate=validate.Range(min=1, max=ID_MAX)),
        load_default=list,
        validate=validate.Length(max=20),
    )


@blp.route("/<int:proposal_id>")
class ProposalById(MethodView):
    @blp.response(200, ProposalSchema)
    def get(self, proposal_id):
        """A proposal with its counts, tags and the caller's vote."""
        return proposal_payload(db(), [g.proposal], current_participant())[0]


def _result(state, check) -> dict:
    return {
        "proposal_id": state.proposal_id,
        "vote": (
            {
                "key": state.key,
                "qualifications": list(state.qualifications),
                "trusted": state.trusted,
            }
            if state.key
            else None
        ),
        "changed": state.changed,
        "counted_for_scores": state.trusted,
        "card_key_problem": check.reason if check else None,
    }


@blp.route("/<int:proposal_id>/vote")
class VoteOnProposal(MethodView):
    @blp.arguments(VoteSchema())
    @blp.response(200, VoteResultSchema)
    def put(self, data, proposal_id):
        """Vote agree/disagree/neutral with qualifications of that key; idempotent, changeable.

        With the card key served with the proposal the vote counts for scores; without it, or
        with a wrong one, it counts raw only (``card_key_problem`` says why).
        """
        ballot = g.ballot
        principal = current_principal()
        integrity.check(
            kernel().store,
            "vote",
            tenant_id=ballot.consultation.tenant_id,
            ip=request.remote_addr,
            session_id=ballot.voter.id if ballot.voter and principal is None else None,
            account_id=principal.id if principal else None,
        )
        voter = ballot.voter or current_participant(create=True)
        check = rotation.check_card(
            kernel().store,
            kernel().signer,
            data["card_key"],
            tenant_id=ballot.consultation.tenant_id,
            proposal_id=proposal_id,
            voter_id=voter.id,
            already_trusted=bool(ballot.previous_trusted) and voter is ballot.voter,
        )
        state = votes.cast(
            db(),
            ballot.consultation,
            proposal_id,
            voter,
            data["key"],
            data["qualifications"],
            trusted=check.trusted,
            now=now(),
            proposal=ballot.proposal,
        )
        db().commit()
        return _result(state, check)

    @blp.response(200, VoteResultSchema)
    def delete(self, proposal_id):
        """Withdraw one's vote (idempotent)."""
        voter = g.ballot.voter or current_participant(create=True)
        state = votes.remove(db(), g.ballot.consultation, proposal_id, voter, now=now())
        db().commit()
        return _result(state, None)


@blp.route("/<int:proposal_id>/decision")
class Decision(MethodView):
    @blp.arguments(DecisionSchema())
    @blp.response(200, ProposalSchema)
    def post(self, data, proposal_id):
        """Accept (with tags), refuse (with a reason) or postpone (tenant admins)."""
        principal = require_principal("tenant_admin")
        proposal = proposals.decide(
            db(),
            proposal_id,
            data["decision"],
            by=principal.email,
            now=now(),
            reason=data["reason"],
            note=data["note"],
            tag_ids=data["tag_ids"],
        )
        db().commit()
        return proposal_payload(db(), [proposal], None)[0]
