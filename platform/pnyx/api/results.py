"""A consultation's results (weighted scores and zones per segment) and its vote integrity:
the lockstep groups found, with their evidence, and clearing a false alarm (tenant admins)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from pnyx.consultations import proposals, service
from pnyx.consultations.models import SEGMENTS
from pnyx.moderation import integrity
from pnyx.results import service as results_service
from pnyx.results.groups import MIN_VOTES, NO_GROUPS
from pnyx.web.context import current_principal, db, kernel, require_principal, require_tenant
from pnyx.web.forms import tenant_zone

blp = Blueprint(
    "results",
    __name__,
    url_prefix="/api/v1/consultations",
    description="Results and vote integrity",
)


@blp.before_request
def _load_consultation():
    """Before any argument is parsed: another tenant's (or a hidden) consultation is a 404."""
    require_tenant()
    consultation_id = (request.view_args or {}).get("consultation_id")
    if consultation_id is not None:
        g.consultation = service.visible_consultation(db(), consultation_id, current_principal())


class ResultsArgs(Schema):
    segment = fields.String(load_default="all", validate=validate.OneOf(SEGMENTS))


class IntervalSchema(Schema):
    low = fields.Float()
    high = fields.Float()


class ProposalResultSchema(Schema):
    proposal_id = fields.Integer()
    content = fields.String()
    votes = fields.Float(metadata={"description": "weighted trusted votes"})
    agree = fields.Float()
    disagree = fields.Float()
    neutral = fields.Float()
    agree_interval = fields.Nested(IntervalSchema)
    disagree_interval = fields.Nested(IntervalSchema)
    neutral_interval = fields.Nested(IntervalSchema)
    top_score = fields.Float()
    controversy = fields.Float()
    rejection = fields.Float()
    zone = fields.String(metadata={"description": "zone of the point estimate"})
    result = fields.String(
        metadata={"description": "the certain zone, or needs_more_votes: what to publish"}
    )
    zone_probability = fields.Float()


class ResultsSchema(Schema):
    consultation_id = fields.Integer()
    segment = fields.String()
    provisional = fields.Boolean(
        metadata={"description": "shown before the end, to the tenant's admins only"}
    )
    proposals = fields.List(fields.Nested(ProposalResultSchema))


class GroupRatesSchema(Schema):
    proposal_id = fields.Integer()
    content = fields.String()
    consensus = fields.Float(
        metadata={"description": "group-informed consensus: the product of the groups' agree rates"}
    )
    division = fields.Float(metadata={"description": "most agreeing group's rate minus least's"})
    agree = fields.List(fields.Float(), metadata={"description": "per group, in label order"})
    votes = fields.List(fields.Integer(), metadata={"description": "per group, in label order"})


class DistinctiveSchema(Schema):
    proposal_id = fields.Integer()
    content = fields.String()
    agree = fields.Float(metadata={"description": "the group's agree rate"})
    others_agree = fields.Float(metadata={"description": "the other voters' agree rate"})


class OpinionGroupSchema(Schema):
    label = fields.String()
    voters = fields.Integer()
    share = fields.Float()
    distinctive = fields.List(fields.Nested(DistinctiveSchema))


class OpinionGroupsSchema(Schema):
    consultation_id = fields.Integer()
    provisional = fields.Boolean()
    computing = fields.Boolean(
        metadata={"description": "being computed for the first time: ask again in a minute"}
    )
    placed = fields.Integer(metadata={"description": "voters placed in a group"})
    min_votes = fields.Integer(metadata={"description": "votes a voter needs to be placed"})
    silhouette = fields.Float(metadata={"description": "how well apart the groups are, -1 to 1"})
    groups = fields.List(fields.Nested(OpinionGroupSchema))
    consensus = fields.List(fields.Nested(GroupRatesSchema))
    division = fields.List(fields.Nested(GroupRatesSchema))


def _interval(interval: tuple[float, float]) -> dict:
    return {"low": round(interval[0], 4), "high": round(interval[1], 4)}


def _result(item: results_service.Published, content: str) -> dict:
    return {
        "proposal_id": item.proposal_id,
        "content": content,
        "votes": round(item.votes, 3),
        "agree": round(item.agree, 4),
        "disagree": round(item.disagree, 4),
        "neutral": round(item.neutral, 4),
        "agree_interval": _interval(item.agree_interval),
        "disagree_interval": _interval(item.disagree_interval),
        "neutral_interval": _interval(item.neutral_interval),
        "top_score": round(item.top_score, 4),
        "controversy": round(item.controversy, 4),
        "rejection": round(item.rejection, 4),
        "zone": item.zone,
        "result": item.result,
        "zone_probability": round(item.zone_probability, 4),
    }


@blp.route("/<int:consultation_id>/results")
class Results(MethodView):
    @blp.arguments(ResultsArgs(), location="query")
    @blp.response(200, ResultsSchema)
    def get(self, args, consultation_id):
        """Each published proposal's scores and zone in a segment (``all``,
        ``territory:rural``, ``age:25_34``, …), on trusted votes weighted by the voter's
        history, each flagged lockstep group counting as one voice. ``result`` is the zone once
        certain at 95 %, else ``needs_more_votes``. Recomputed at most once a minute.

        Published when the consultation ends (``results_not_published`` before); its tenant's
        admins see them before, as provisional."""
        shown = _require_published()
        found = results_service.published(db(), kernel().store, g.consultation.id, args["segment"])
        contents = proposals.contents(db(), [item.proposal_id for item in found])
        return {
            "consultation_id": g.consultation.id,
            "segment": args["segment"],
            "provisional": shown.provisional,
            "proposals": [_result(item, contents.get(item.proposal_id, "")) for item in found],
        }


@blp.route("/<int:consultation_id>/results/groups")
class OpinionGroups(MethodView):
    @blp.response(200, OpinionGroupsSchema)
    def get(self, consultation_id):
        """Opinion groups: voters who vote alike (principal components of the trusted votes,
        then k-means, as Polis), what every group agrees on (group-informed consensus), what
        divides them, and what each group agrees with more than the others. Members of flagged
        lockstep groups are left out. Published as the results are. A job recomputes them at
        most every ten minutes; until its first run, ``computing`` is true and the lists are
        empty."""
        shown = _require_published()
        found = results_service.kept_opinion_groups(
            db(), kernel().store, kernel().jobs, g.consultation.id
        )
        computing = found is None
        found = found or NO_GROUPS
        named = [item.proposal_id for item in found.consensus + found.division]
        named += [pid for group in found.groups for pid, _rate, _others in group.distinctive]
        contents = proposals.contents(db(), named)

        def rates(item) -> dict:
            return {
                **item._asdict(),
                "content": contents.get(item.proposal_id, ""),
                "consensus": round(item.consensus, 4),
                "division": round(item.division, 4),
                "agree": [round(rate, 4) for rate in item.agree],
            }

        return {
            "consultation_id": g.consultation.id,
            "provisional": shown.provisional,
            "computing": computing,
            "placed": found.placed,
            "min_votes": MIN_VOTES,
            "silhouette": round(found.silhouette, 4),
            "groups": [
                {
                    "label": group.label,
                    "voters": group.voters,
                    "share": round(group.share, 4),
                    "distinctive": [
                        {
                            "proposal_id": pid,
                            "content": contents.get(pid, ""),
                            "agree": round(rate, 4),
                            "others_agree": round(others, 4),
                        }
                        for pid, rate, others in group.distinctive
                    ],
                }
                for group in found.groups
            ],
            "consensus": [rates(item) for item in found.consensus],
            "division": [rates(item) for item in found.division],
        }


def _require_published() -> results_service.Publication:
    return results_service.require_published(
        g.consultation, current_principal(), datetime.now(UTC), tenant_zone()
    )


class SharedVoteSchema(Schema):
    proposal_id = fields.Integer()
    content = fields.String()
    key = fields.String()
    members = fields.Integer(metadata={"description": "members who cast this vote"})


class EvidenceSchema(Schema):
    shared = fields.List(fields.Nested(SharedVoteSchema))
    shared_total = fields.Integer()
    first_at = fields.String()
    last_at = fields.String()
    span_seconds = fields.Integer()
    edges = fields.Integer()
    median_covotes = fields.Float()
    min_covotes = fields.Integer()
    median_surprise = fields.Float(metadata={"description": "-log10 p of the pairs' co-votes"})
    min_surprise = fields.Float()
    window_seconds = fields.Float()
    agreement = fields.Float(metadata={"description": "share of same keys on co-voted proposals"})
    chance_agreement = fields.Float(metadata={"description": "that share expected by chance"})
    kappa = fields.Float(metadata={"description": "agreement beyond chance (Cohen's kappa)"})
    pairs_checked = fields.Integer()


class GroupSchema(Schema):
    id = fields.Integer()
    consultation_id = fields.Integer()
    size = fields.Integer()
    status = fields.String()
    members = fields.List(fields.Integer(), metadata={"description": "participant ids"})
    evidence = fields.Nested(EvidenceSchema)
    detected_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    cleared_by = fields.String(allow_none=True)
    cleared_at = fields.AwareDateTime(allow_none=True)


class GroupsArgs(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(("flagged", "cleared")))


class GroupListSchema(Schema):
    items = fields.List(fields.Nested(GroupSchema))


class DetectionSchema(Schema):
    queued = fields.Boolean()


def group_payload(view: integrity.GroupView) -> dict:
    record = view.record
    return {
        "id": record.id,
        "consultation_id": record.consultation_id,
        "size": record.size,
        "status": record.status,
        "members": view.members,
        "evidence": {**record.evidence, "shared": view.shared},
        "detected_at": record.detected_at,
        "updated_at": record.updated_at,
        "cleared_by": record.cleared_by,
        "cleared_at": record.cleared_at,
    }


@blp.route("/<int:consultation_id>/integrity/groups")
class Groups(MethodView):
    @blp.arguments(GroupsArgs(), location="query")
    @blp.response(200, GroupListSchema)
    def get(self, args, consultation_id):
        """Groups of voters found voting in lockstep, with the evidence (tenant admins)."""
        require_principal("tenant_admin")
        views = integrity.groups_of(db(), g.consultation.id, status=args["status"])
        return {"items": [group_payload(view) for view in views]}


@blp.route("/<int:consultation_id>/integrity/groups/<int:group_id>/clear")
class ClearGroup(MethodView):
    @blp.response(200, GroupSchema)
    def post(self, consultation_id, group_id):
        """Clear a false alarm: the members count as ordinary voters again, and the group stays
        cleared when later runs find it again (tenant admins; idempotent)."""
        principal = require_principal("tenant_admin")
        integrity.clear_group(
            db(), g.consultation.id, group_id, by=principal.email, now=datetime.now(UTC)
        )
        db().commit()
        view = next(
            v for v in integrity.groups_of(db(), g.consultation.id) if v.record.id == group_id
        )
        return group_payload(view)


@blp.route("/<int:consultation_id>/integrity/detect")
class Detect(MethodView):
    @blp.response(202, DetectionSchema)
    def post(self, consultation_id):
        """Run lockstep detection now (a job; inline on the embedded default) (tenant admins)."""
        require_principal("tenant_admin")
        db().commit()  # end this request's transaction: an inline job opens its own
        integrity.request_detection(g.consultation.tenant_id, g.consultation.id)
        return {"queued": True}
