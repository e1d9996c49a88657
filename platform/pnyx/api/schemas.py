"""Schemas shared by the engine's API modules, and the proposal payload with counts and my vote."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from pnyx.consultations import proposals as proposals_service
from pnyx.consultations import votes
from pnyx.consultations.models import QUALIFICATION_BITS
from pnyx.consultations.service import LANGUAGES, STEP_KINDS


class StepSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(STEP_KINDS))
    title = fields.String(load_default="", validate=validate.Length(max=120))
    date = fields.Date(allow_none=True, load_default=None)


class ConsultationWriteSchema(Schema):
    slug = fields.String(required=True, validate=validate.Length(max=80))
    question = fields.String(required=True, validate=validate.Length(max=300))
    proposal_prefix = fields.String(validate=validate.Length(max=40))
    context = fields.String(validate=validate.Length(max=5000))
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    starts_at = fields.AwareDateTime(required=True, default_timezone=None)
    ends_at = fields.AwareDateTime(required=True, default_timezone=None)
    visibility = fields.String(validate=validate.OneOf(("public", "restricted")))
    goal_participants = fields.Integer(validate=validate.Range(min=0, max=10**9))
    goal_proposals = fields.Integer(validate=validate.Range(min=0, max=10**9))
    goal_votes = fields.Integer(validate=validate.Range(min=0, max=10**9))
    steps = fields.List(fields.Nested(StepSchema), validate=validate.Length(max=10))
    rotation = fields.Dict(
        metadata={
            "description": "strategy (apt | makeorg | uniform), sequence_size, vote_floor, vote_cap"
        }
    )


class ConsultationPatchSchema(ConsultationWriteSchema):
    """The same fields, each optional."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)


class TagSchema(Schema):
    id = fields.Integer()
    slug = fields.String()
    label = fields.String()


class ConsultationSchema(Schema):
    id = fields.Integer()
    slug = fields.String()
    question = fields.String()
    proposal_prefix = fields.String()
    context = fields.String()
    language = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    visibility = fields.String()
    goal_participants = fields.Integer()
    goal_proposals = fields.Integer()
    goal_votes = fields.Integer()
    steps = fields.List(fields.Dict())


class CountsSchema(Schema):
    agree = fields.Integer()
    disagree = fields.Integer()
    neutral = fields.Integer()
    total = fields.Integer()
    qualifications = fields.Dict(keys=fields.String(), values=fields.Integer())


class MyVoteSchema(Schema):
    key = fields.String()
    qualifications = fields.List(fields.String())
    trusted = fields.Boolean()


class ProposalSchema(Schema):
    id = fields.Integer()
    consultation_id = fields.Integer()
    content = fields.String()
    status = fields.String()
    refusal_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    tags = fields.List(fields.Nested(TagSchema))
    counts = fields.Nested(CountsSchema)
    my_vote = fields.Nested(MyVoteSchema, allow_none=True)
    mine = fields.Boolean()


class ProposalPageSchema(Schema):
    items = fields.List(fields.Nested(ProposalSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


def proposal_payload(session, items, voter, *, counts=None, mine=None, tags=None) -> list[dict]:
    """Proposals with their raw counts (all segments), tags, and the voter's own vote.

    ``counts`` (proposal id → raw counts), ``mine`` (proposal id → the voter's vote) and
    ``tags`` (proposal id → its tags): when the caller already read them in this request, they
    are not read again.
    """
    ids = [p.id for p in items]
    if counts is None:
        counts = {
            pid: counter.counts(trusted=False)
            for pid, counter in votes.counters(session, ids).items()
        }
    if mine is None:
        mine = votes.votes_of(session, voter, ids) if voter is not None else {}
    if tags is None:
        tags = proposals_service.tags_by_proposal(session, ids)
    payload = []
    for p in items:
        raw = counts.get(p.id) or {}
        vote = mine.get(p.id)
        payload.append(
            {
                "id": p.id,
                "consultation_id": p.consultation_id,
                "content": p.content,
                "status": p.status,
                "refusal_reason": p.refusal_reason,
                "created_at": p.created_at,
                "tags": tags.get(p.id, []),
                "counts": {
                    "agree": raw.get("agree", 0),
                    "disagree": raw.get("disagree", 0),
                    "neutral": raw.get("neutral", 0),
                    "total": sum(raw.get(k, 0) for k in ("agree", "disagree", "neutral")),
                    "qualifications": {q: raw.get(q, 0) for q in QUALIFICATION_BITS},
                },
                "my_vote": (
                    {
                        "key": vote.key,
                        "qualifications": list(vote.qualifications),
                        "trusted": vote.trusted,
                    }
                    if vote
                    else None
                ),
                "mine": voter is not None and p.author_id == voter.id,
            }
        )
    return payload
