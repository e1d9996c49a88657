"""The shared moderation desk (operator's host only), and each tenant's charter (tenant host)."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from pnyx.identity.service import Principal
from pnyx.kernel.db import ID_MAX
from pnyx.kernel.errors import NotFound
from pnyx.kernel.i18n import N_
from pnyx.moderation import assignments, charter, service, workload
from pnyx.moderation.service import DeskItem
from pnyx.web.context import (
    db,
    is_operator_host,
    kernel,
    now,
    require_principal,
    require_tenant,
)

blp = Blueprint(
    "moderation",
    __name__,
    url_prefix="/api/v1/moderation",
    description="The moderation desk (operator's host; moderators and operators)",
)
charter_blp = Blueprint(
    "charter", __name__, url_prefix="/api/v1/tenant/charter", description="This tenant's charter"
)


@blp.before_request
def _operator_host_only():
    """Before any argument is parsed: on a tenant host the desk does not exist."""
    if not is_operator_host():
        raise NotFound(N_("Not found on this host."), code="not_found")


def lock_ttl() -> float:
    return float(current_app.config.get("MODERATION_LOCK_TTL") or service.LOCK_TTL)


def desk(tenant_id: int | None = None) -> Principal:
    """The caller (a moderator or an operator), with the request's session bound to the
    tenants they are assigned to (or to one of them)."""
    staff = require_principal(*assignments.DESK_ROLES)
    assignments.open_desk(db(), staff, tenant_id=tenant_id)
    return staff


# ------------------------------------------------------------------------------- schemas


class LockSchema(Schema):
    proposal_id = fields.Integer()
    holder = fields.String(attribute="holder_email")
    holder_id = fields.Integer()
    expires_at = fields.DateTime(allow_none=True)


class FindingSchema(Schema):
    code = fields.String()
    message = fields.String()
    span = fields.List(fields.Integer(), allow_none=True)
    excerpt = fields.String()


class SimilarSchema(Schema):
    proposal_id = fields.Integer()
    similarity = fields.Float()
    content = fields.String()
    status = fields.String()


class LanguageSchema(Schema):
    code = fields.String()
    confidence = fields.Float()


class ChecksSchema(Schema):
    flagged = fields.Boolean()
    findings = fields.List(fields.Nested(FindingSchema))
    language = fields.Nested(LanguageSchema)
    similar = fields.List(fields.Nested(SimilarSchema))


class TenantRefSchema(Schema):
    id = fields.Integer()
    slug = fields.String()
    name = fields.String()


class ConsultationRefSchema(Schema):
    id = fields.Integer()
    slug = fields.String()
    question = fields.String()
    proposal_prefix = fields.String()


class DeskTagSchema(Schema):
    id = fields.Integer()
    slug = fields.String()
    label = fields.String()
    kind = fields.String()


class DeskProposalSchema(Schema):
    id = fields.Integer()
    tenant = fields.Nested(TenantRefSchema)
    consultation = fields.Nested(ConsultationRefSchema)
    author_id = fields.Integer(allow_none=True)
    content = fields.String()
    original_content = fields.String(allow_none=True)
    language = fields.String()
    status = fields.String()
    created_at = fields.DateTime()
    lock = fields.Nested(LockSchema, allow_none=True)
    checks = fields.Nested(ChecksSchema)
    tags = fields.List(fields.Nested(DeskTagSchema))
    required_tag_kinds = fields.List(fields.String())


class NextSchema(Schema):
    proposal = fields.Nested(DeskProposalSchema, allow_none=True)


# An id of a row: past ID_MAX it names none, and the database would raise on it.
ID = validate.Range(min=1, max=ID_MAX)


class NextArgs(Schema):
    tenant_id = fields.Integer(load_default=None, validate=ID)


class DeskDecisionArgs(Schema):
    decision = fields.String(
        required=True,
        validate=validate.Length(max=20),
        metadata={"description": "accept | refuse | postpone | tag (an accepted proposal)"},
    )
    reason = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=40),
        metadata={"description": "refuse: one of " + ", ".join(service.proposals.REFUSAL_REASONS)},
    )
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    tag_ids = fields.List(
        fields.Integer(validate=ID), load_default=list, validate=validate.Length(max=20)
    )
    content = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=500),
        metadata={"description": "accept: the corrected text (the original is kept)"},
    )


class AuditEntrySchema(Schema):
    id = fields.Integer()
    proposal_id = fields.Integer()
    tenant_id = fields.Integer()
    action = fields.String()
    staff_email = fields.String()
    reason = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    before = fields.Dict()
    after = fields.Dict()
    at = fields.DateTime()


class AuthorArgs(Schema):
    tenant_id = fields.Integer(required=True, validate=ID)


class AuthorProposalSchema(Schema):
    id = fields.Integer()
    consultation_id = fields.Integer()
    content = fields.String()
    status = fields.String()
    created_at = fields.DateTime()
    lock = fields.Nested(LockSchema, allow_none=True)
    mine = fields.Boolean()


class UntaggedArgs(Schema):
    tenant_id = fields.Integer(load_default=None, validate=ID)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class UntaggedSchema(Schema):
    proposal_id = fields.Integer()
    tenant_id = fields.Integer()
    consultation_id = fields.Integer()
    content = fields.String()
    decided_at = fields.DateTime(allow_none=True)
    missing_kinds = fields.List(fields.String())


class TenantLoadSchema(Schema):
    tenant_id = fields.Integer()
    slug = fields.String()
    name = fields.String()
    pending = fields.Integer()
    postponed = fields.Integer()
    oldest_pending_at = fields.DateTime(allow_none=True)
    oldest_age_hours = fields.Float(allow_none=True)
    late = fields.Boolean()
    target_hours = fields.Float()


class ModeratorLoadSchema(Schema):
    staff_id = fields.Integer(allow_none=True)
    staff_email = fields.String()
    accept = fields.Integer()
    refuse = fields.Integer()
    postpone = fields.Integer()
    tag = fields.Integer()
    total = fields.Integer()
    last_at = fields.DateTime(allow_none=True)


class WorkloadSchema(Schema):
    target_hours = fields.Float()
    tenants = fields.List(fields.Nested(TenantLoadSchema))
    moderators = fields.List(fields.Nested(ModeratorLoadSchema))


class AssignmentArgs(Schema):
    staff_id = fields.Integer(required=True, validate=ID)
    tenant_id = fields.Integer(required=True, validate=ID)


class AssignmentSchema(Schema):
    staff_id = fields.Integer()
    staff_email = fields.String()
    tenant_id = fields.Integer()
    tenant_slug = fields.String()
    created_at = fields.DateTime()


class CharterSchema(Schema):
    text = fields.String(required=True, validate=validate.Length(max=charter.MAX_LENGTH))
    updated_at = fields.DateTime(dump_only=True, allow_none=True)


def item_payload(item: DeskItem) -> dict:
    p = item.proposal
    return {
        "id": p.id,
        "tenant": item.tenant,
        "consultation": item.consultation,
        "author_id": p.author_id,
        "content": p.content,
        "original_content": p.original_content,
        "language": p.language,
        "status": p.status,
        "created_at": p.created_at,
        "lock": item.lock,
        "checks": {
            "flagged": item.report.flagged,
            "findings": [
                {
                    "code": f.code,
                    "message": f.message,
                    "span": list(f.span) if f.span else None,
                    "excerpt": f.excerpt,
                }
                for f in item.report.findings
            ],
            "language": item.report.language,
            "similar": item.similar,
        },
        "tags": item.tags,
        "required_tag_kinds": item.required_tag_kinds,
    }


# -------------------------------------------------------------------------------- routes


@blp.route("/next")
class Next(MethodView):
    @blp.arguments(NextArgs(), location="query")
    @blp.response(200, NextSchema)
    def get(self, args):
        """The oldest pending proposal of my tenants that nobody else holds, locked for me,
        with its pre-checks (``proposal`` is null when the queue is empty)."""
        staff = desk(args["tenant_id"])
        store = kernel().store
        found = service.next_proposal(db(), store, staff, now(), ttl=lock_ttl())
        if found is None:
            return {"proposal": None}
        proposal, lock = found
        payload = item_payload(service.desk_item(db(), store, proposal, lock))
        db().commit()
        return {"proposal": payload}


@blp.route("/proposals/<int:proposal_id>")
class DeskProposal(MethodView):
    @blp.response(200, DeskProposalSchema)
    def get(self, proposal_id):
        """A proposal of my tenants with its pre-checks and who holds it (nothing is locked)."""
        staff = desk()
        proposal = service.get_proposal(db(), staff, proposal_id)
        return item_payload(service.desk_item(db(), kernel().store, proposal))


@blp.route("/proposals/<int:proposal_id>/lock")
class ProposalLock(MethodView):
    @blp.response(200, LockSchema)
    def post(self, proposal_id):
        """Renew my lock (or take it if free); 409 ``proposal_locked`` with the holder."""
        staff = desk()
        return service.renew(db(), kernel().store, staff, proposal_id, now(), ttl=lock_ttl())

    @blp.response(204)
    def delete(self, proposal_id):
        """Release my lock (idempotent)."""
        staff = desk()
        service.release(db(), kernel().store, staff, proposal_id)


@blp.route("/proposals/<int:proposal_id>/decision")
class Decision(MethodView):
    @blp.arguments(DeskDecisionArgs())
    @blp.response(200, AuditEntrySchema)
    def post(self, data, proposal_id):
        """Accept (with tags, optionally a corrected text), refuse (reason + note), postpone,
        or tag an accepted proposal; audited, the author is told by e-mail."""
        staff = desk()
        k = kernel()
        record = service.decide(
            db(),
            staff,
            proposal_id,
            data["decision"],
            store=k.store,
            jobs=k.jobs,
            now=now(),
            reason=data["reason"],
            note=data["note"],
            tag_ids=data["tag_ids"],
            content=data["content"],
            ttl=lock_ttl(),
        )
        db().commit()
        return record


@blp.route("/authors/<int:author_id>/pending")
class AuthorPending(MethodView):
    @blp.arguments(AuthorArgs(), location="query")
    @blp.response(200, AuthorProposalSchema(many=True))
    def get(self, args, author_id):
        """All pending proposals of one author in one of my tenants, locked for me where free."""
        staff = desk(args["tenant_id"])
        found = service.of_author(db(), kernel().store, staff, author_id, now(), ttl=lock_ttl())
        return [
            {
                "id": p.id,
                "consultation_id": p.consultation_id,
                "content": p.content,
                "status": p.status,
                "created_at": p.created_at,
                "lock": lock,
                "mine": bool(lock and lock.held_by(staff)),
            }
            for p, lock in found
        ]


@blp.route("/untagged")
class UntaggedQueue(MethodView):
    @blp.arguments(UntaggedArgs(), location="query")
    @blp.response(200, UntaggedSchema(many=True))
    def get(self, args):
        """Accepted proposals still missing a tag kind their consultation requires."""
        desk(args["tenant_id"])
        return [
            {
                "proposal_id": u.proposal.id,
                "tenant_id": u.proposal.tenant_id,
                "consultation_id": u.consultation.id,
                "content": u.proposal.content,
                "decided_at": u.proposal.decided_at,
                "missing_kinds": list(u.missing_kinds),
            }
            for u in workload.untagged(db(), limit=args["limit"])
        ]


@blp.route("/workload")
class Workload(MethodView):
    @blp.response(200, WorkloadSchema)
    def get(self):
        """Queue size and oldest pending age (48-hour target) per tenant, decisions per
        moderator over 7 days: my tenants (an operator: every tenant)."""
        staff = require_principal(*assignments.DESK_ROLES)
        if staff.role == "operator":
            assignments.open_all_tenants(db(), staff)
        else:
            desk()
        moment = now()
        return {
            "target_hours": workload.TARGET.total_seconds() / 3600,
            "tenants": workload.tenant_loads(db(), moment),
            "moderators": workload.moderator_loads(db(), moment),
        }


def _assignment_payload(assignment, staff, tenant) -> dict:
    return {
        "staff_id": staff.id,
        "staff_email": staff.email,
        "tenant_id": tenant.id,
        "tenant_slug": tenant.slug,
        "created_at": assignment.created_at,
    }


@blp.route("/assignments")
class Assignments(MethodView):
    @blp.response(200, AssignmentSchema(many=True))
    def get(self):
        """Who moderates which tenant (operators)."""
        operator = require_principal("operator")
        return [_assignment_payload(*row) for row in assignments.assignments(db(), operator)]

    @blp.arguments(AssignmentArgs())
    @blp.response(201, AssignmentSchema)
    def post(self, data):
        """Assign a moderator to a tenant (operators; idempotent)."""
        operator = require_principal("operator")
        session = db()
        assignment = assignments.assign(
            session, operator, data["staff_id"], data["tenant_id"], now()
        )
        session.commit()
        from pnyx.identity.models import StaffUser
        from tenants.models import Tenant

        return _assignment_payload(
            assignment,
            session.get(StaffUser, data["staff_id"]),
            session.get(Tenant, data["tenant_id"]),
        )

    @blp.arguments(AssignmentArgs())
    @blp.response(204)
    def delete(self, data):
        """Take a tenant from a moderator's desk (operators)."""
        operator = require_principal("operator")
        assignments.unassign(db(), operator, data["staff_id"], data["tenant_id"])
        db().commit()


# ------------------------------------------------------------------------------ charter


@charter_blp.route("")
class Charter(MethodView):
    @charter_blp.response(200, CharterSchema)
    def get(self):
        """The moderation charter this tenant publishes (empty text if none yet)."""
        require_tenant()
        found = charter.charter_of(db())
        return found or {"text": "", "updated_at": None}

    @charter_blp.arguments(CharterSchema())
    @charter_blp.response(200, CharterSchema)
    def put(self, data):
        """Write the charter (the tenant's admins)."""
        require_tenant()
        admin = require_principal("tenant_admin")
        found = charter.set_charter(db(), admin, data["text"], now())
        db().commit()
        return found
