"""A proposal by id: read it, vote on it, decide on it."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from pnyx.consultations import cards, proposals, service, votes
from pnyx.consultations.proposals import REFUSAL_REASONS
from pnyx.kernel.errors import NotFound
from pnyx.web.context import (
    current_participant,
    current_principal,
    db,
    kernel,
    require_principal,
    require_tenant,
)

from .schemas import MyVoteSchema, ProposalSchema, proposal_payload

blp = Blueprint(
    "proposals", __name__, url_prefix="/api/v1/proposals", description="Proposals and votes"
)


def now() -> datetime:
    return datetime.now(UTC)


@blp.before_request
def _load_proposal():
    """Before any argument is parsed: unknown, hidden or another tenant's proposal → 404."""
    require_tenant()
    proposal_id = (request.view_args or {}).get("proposal_id")
    if proposal_id is None:
        return
    proposal = proposals.get(db(), proposal_id)
    g.consultation = service.visible_consultation(
        db(), proposal.consultation_id, current_principal()
    )
    principal = current_principal()
    if not proposals.visible(proposal, current_participant()) and not (
        principal and principal.role == "tenant_admin"
    ):
        raise NotFound("No such proposal.", code="proposal_not_found")
    g.proposal = proposal


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
    decision = fields.String(
        required=True, validate=validate.OneOf(("accept", "refuse", "postpone"))
    )
    reason = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(REFUSAL_REASONS)
    )
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    tag_ids = fields.List(fields.Integer(), load_default=list, validate=validate.Length(max=20))


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
    @blp.arguments(VoteSchema)
    @blp.response(200, VoteResultSchema)
    def put(self, data, proposal_id):
        """Vote agree/disagree/neutral with qualifications of that key; idempotent, changeable.

        With the card key served with the proposal the vote counts for scores; without it, or
        with a wrong one, it counts raw only (``card_key_problem`` says why).
        """
        voter = current_participant(create=True)
        check = cards.verify(
            kernel().signer,
            data["card_key"],
            tenant_id=voter.tenant_id,
            proposal_id=proposal_id,
            participant_id=voter.id,
        )
        state = votes.cast(
            db(),
            g.consultation,
            proposal_id,
            voter,
            data["key"],
            data["qualifications"],
            trusted=check.trusted,
            now=now(),
        )
        db().commit()
        return _result(state, check)

    @blp.response(200, VoteResultSchema)
    def delete(self, proposal_id):
        """Withdraw one's vote (idempotent)."""
        voter = current_participant(create=True)
        state = votes.remove(db(), g.consultation, proposal_id, voter, now=now())
        db().commit()
        return _result(state, None)


@blp.route("/<int:proposal_id>/decision")
class Decision(MethodView):
    @blp.arguments(DecisionSchema)
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
