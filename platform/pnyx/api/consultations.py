"""Consultations, their proposals and tags in the API."""

from __future__ import annotations

from flask import g, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from pnyx.consultations import proposals, search, service
from pnyx.consultations.models import QUALIFICATION_BITS
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

from .schemas import (
    ConsultationPatchSchema,
    ConsultationSchema,
    ConsultationWriteSchema,
    ProposalPageSchema,
    ProposalSchema,
    TagSchema,
    proposal_payload,
)

blp = Blueprint(
    "consultations", __name__, url_prefix="/api/v1/consultations", description="Consultations"
)


@blp.before_request
def _load_consultation():
    """Before any argument is parsed: another tenant's (or a hidden) consultation is a 404."""
    require_tenant()
    consultation_id = (request.view_args or {}).get("consultation_id")
    if consultation_id is None:
        return
    if request.endpoint == "consultations.Sequence":
        _load_sequence_context(consultation_id)
        return
    g.consultation = service.visible_consultation(db(), consultation_id, current_principal())


def _load_sequence_context(consultation_id: int) -> None:
    """A sequence's read (a hot path): the consultation, the voter and what they voted on, in
    one round trip of plain SQL (``rotation.read_context``), to ``g.sequence_context``."""
    db().use_generic_plans()
    principal = current_principal()
    if principal is not None:
        context = rotation.read_context(db(), consultation_id, account_id=principal.id)
    else:
        context = rotation.read_context(db(), consultation_id, participant_id=anonymous_voter_id())
    if context is None or not service.can_see(context.consultation, principal):
        raise NotFound(N_("No such consultation."), code="consultation_not_found")
    g.sequence_context = context


def consultation_payload(consultation) -> dict:
    progress = service.progress(db(), consultation, kernel().store)
    return {
        "consultation": consultation,
        "status": consultation.status_at(now()),
        "progress": {
            "participants": progress.participants,
            "proposals": progress.proposals,
            "votes": progress.votes,
        },
        "tags": service.tags_of(db(), consultation.id),
    }


def _set_rotation(consultation, raw: dict | None) -> None:
    """Rotation settings (strategy, sequence size, floor, cap) merged into the consultation's."""
    if raw is None:
        return
    clean = rotation.validate_settings(raw)
    settings = dict(consultation.settings or {})
    settings["rotation"] = {**settings.get("rotation", {}), **clean}
    consultation.settings = settings
    db().flush()


def _dump(consultation) -> dict:
    payload = consultation_payload(consultation)
    data = ConsultationSchema().dump(payload["consultation"])
    data.update(status=payload["status"], progress=payload["progress"])
    config = rotation.config_of(consultation)
    data["rotation"] = {
        "strategy": config.strategy,
        "sequence_size": config.sequence_size,
        "vote_floor": config.settings.vote_floor,
        "vote_cap": config.settings.vote_cap,
    }
    data["tags"] = TagSchema(many=True).dump(payload["tags"])
    return data


@blp.route("")
class Consultations(MethodView):
    @blp.response(200)
    def get(self):
        """The consultations of this tenant the caller may see."""
        return {"items": [_dump(c) for c in service.list_consultations(db(), current_principal())]}

    @blp.arguments(ConsultationWriteSchema())
    @blp.response(201)
    def post(self, data):
        """Create a consultation (tenant admins)."""
        require_principal("tenant_admin")
        rotation_settings = data.pop("rotation", None)
        consultation = service.create_consultation(db(), data)
        _set_rotation(consultation, rotation_settings)
        db().commit()
        return _dump(consultation)


@blp.route("/<int:consultation_id>")
class ConsultationById(MethodView):
    @blp.response(200)
    def get(self, consultation_id):
        """The question, its context, steps, goals, live progress and tags."""
        return _dump(g.consultation)

    @blp.arguments(ConsultationPatchSchema())
    @blp.response(200)
    def patch(self, data, consultation_id):
        """Edit a consultation (tenant admins)."""
        require_principal("tenant_admin")
        rotation_settings = data.pop("rotation", None)
        consultation = service.update_consultation(db(), consultation_id, data)
        _set_rotation(consultation, rotation_settings)
        db().commit()
        return _dump(consultation)


class TagWriteSchema(Schema):
    slug = fields.String(required=True, validate=validate.Length(max=60))
    label = fields.String(required=True, validate=validate.Length(max=100))


@blp.route("/<int:consultation_id>/tags")
class Tags(MethodView):
    @blp.response(200, TagSchema(many=True))
    def get(self, consultation_id):
        """The consultation's themes."""
        return service.tags_of(db(), consultation_id)

    @blp.arguments(TagWriteSchema())
    @blp.response(201, TagSchema)
    def post(self, data, consultation_id):
        """Add a theme (tenant admins)."""
        require_principal("tenant_admin")
        tag = service.add_tag(db(), consultation_id, data["slug"], data["label"])
        db().commit()
        return tag


class SearchArgs(Schema):
    q = fields.String(validate=validate.Length(max=200))
    tag = fields.String(validate=validate.Length(max=60))
    sort = fields.String(load_default="recent", validate=validate.OneOf(search.SORTS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class ProposalWriteSchema(Schema):
    content = fields.String(required=True, validate=validate.Length(max=1000))


def _page_payload(items, total, page, per_page, voter) -> dict:
    return {
        "items": proposal_payload(db(), items, voter),
        "total": total,
        "page": page,
        "per_page": per_page,
    }


@blp.route("/<int:consultation_id>/proposals")
class Proposals(MethodView):
    @blp.arguments(SearchArgs(), location="query")
    @blp.response(200, ProposalPageSchema)
    def get(self, args, consultation_id):
        """Published proposals: keywords, tag, sorted by recent or votes, paginated."""
        page = search.search(db(), consultation_id, **args)
        return _page_payload(
            page.items, page.total, page.page, page.per_page, current_participant()
        )

    @blp.arguments(ProposalWriteSchema())
    @blp.response(201, ProposalSchema)
    def post(self, data, consultation_id):
        """Propose ("Il faut …"): 12–140 characters of plain text; created pending."""
        principal = require_principal("participant", "tenant_admin", "partner_admin")
        integrity.check(
            kernel().store,
            "proposal",
            tenant_id=g.consultation.tenant_id,
            ip=request.remote_addr,
            account_id=principal.id,
        )
        author = current_participant(create=True)
        proposal = proposals.submit(db(), g.consultation, author, data["content"], now())
        db().commit()
        return proposal_payload(db(), [proposal], author)[0]


@blp.route("/<int:consultation_id>/proposals/mine")
class MyProposals(MethodView):
    @blp.response(200, ProposalSchema(many=True))
    def get(self, consultation_id):
        """The caller's own proposals, pending ones included."""
        require_principal()
        author = current_participant()
        found = proposals.of_author(db(), consultation_id, author) if author else []
        return proposal_payload(db(), found, author)


@blp.route("/<int:consultation_id>/proposals/pending")
class Pending(MethodView):
    @blp.response(200, ProposalSchema(many=True))
    def get(self, consultation_id):
        """Proposals waiting for a decision (tenant admins, until the moderation desk)."""
        require_principal("tenant_admin")
        return proposal_payload(db(), proposals.pending(db(), consultation_id), None)


class CardSchema(Schema):
    proposal = fields.Nested(ProposalSchema)
    card_key = fields.String()
    position = fields.Integer()


def card_payload(card: rotation.Card, voter_id: int) -> dict:
    """A served card as CardsSchema shows it: the proposal, its raw counts and tags, its key.

    A card is never a proposal the voter voted on: no vote of theirs to show.
    """
    proposal, raw = card.proposal, card.counts or {}
    return {
        "proposal": {
            "id": proposal.id,
            "consultation_id": proposal.consultation_id,
            "content": proposal.content,
            "status": proposal.status,
            "refusal_reason": proposal.refusal_reason,
            "created_at": proposal.created_at.isoformat(),
            "tags": [{"id": t.id, "slug": t.slug, "label": t.label} for t in card.tags or ()],
            "counts": {
                "agree": raw.get("agree", 0),
                "disagree": raw.get("disagree", 0),
                "neutral": raw.get("neutral", 0),
                "total": sum(raw.get(k, 0) for k in ("agree", "disagree", "neutral")),
                "qualifications": {q: raw.get(q, 0) for q in QUALIFICATION_BITS},
            },
            "my_vote": None,
            "mine": proposal.author_id == voter_id,
        },
        "position": card.position,
        "card_key": card.card_key,
    }


class CardsSchema(Schema):
    cards = fields.List(fields.Nested(CardSchema))
    total = fields.Integer()


class SequenceArgs(Schema):
    size = fields.Integer(load_default=None, allow_none=True)


@blp.route("/<int:consultation_id>/sequence")
class Sequence(MethodView):
    @blp.arguments(SequenceArgs(), location="query")
    @blp.response(200, CardsSchema)
    def get(self, args, consultation_id):
        """The next cards for this voter, chosen by the consultation's rotation strategy.

        Each card carries a signed key binding the proposal, this voter's session and the place
        it was served; a vote sent back with it counts for scores.
        """
        context = g.sequence_context
        voter, voted = context.voter, context.voted
        if voter is None:  # a first visit: the voter is created (and remembered in the cookie)
            voter = current_participant(create=True)
            db().commit()
            voted = frozenset()
        served = rotation.sequence(
            db(),
            kernel().store,
            kernel().signer,
            context.consultation,
            voter,
            now=now(),
            size=args["size"],
            voted=voted,
        )
        # Built here rather than dumped by CardsSchema (which documents it; a test holds the two
        # together): a dozen nested proposals through marshmallow cost more than choosing them.
        return jsonify(
            {"cards": [card_payload(card, voter.id) for card in served], "total": len(served)}
        )
