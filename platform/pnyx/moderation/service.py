"""The shared moderation desk: the queue with its locks, decisions and their audit.

Every function here works in a desk session (``assignments.open_desk``): bound to the tenants
its staff member is assigned to, it sees nothing else, so another tenant's proposal is a 404.

Locks live in the kernel's store (Redis in production): ``moderation:lock:<proposal id>`` holds
``<staff id>:<e-mail>`` for ``ttl`` seconds. "Next proposal" takes the oldest pending proposal
whose lock it wins with an atomic set-if-absent (two moderators asking at once never get the same
one), renewing is compare-and-expire, releasing compare-and-delete; a lapsed lock simply frees
the proposal. A decision needs the caller to hold the lock, or the lock to be free (it is then
taken for the time of the decision); the proposal row is read ``FOR UPDATE``, so two decisions
on one proposal are serialised and the second finds it ``already_decided``.

Services take their session, the staff principal, the backends and the clock as arguments.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, tuple_

from pnyx.consultations import proposals
from pnyx.consultations.models import (
    Consultation,
    Proposal,
    ProposalStatus,
    ProposalTag,
    Tag,
)
from pnyx.identity.models import Participant
from pnyx.identity.service import Principal
from pnyx.kernel.db import TenantSession, on_commit
from pnyx.kernel.errors import Conflict, Invalid, NotFound
from pnyx.kernel.i18n import N_
from pnyx.kernel.jobs import Jobs
from pnyx.kernel.store import Store
from tenants.models import Tenant

from .assignments import require_desk
from .checks import CheckReport
from .models import ModerationDecision
from .prechecks import INDEXES, Similar, prechecks
from .workload import required_tag_kinds

log = logging.getLogger(__name__)

LOCK_TTL = 120.0  # seconds; the desk renews it while the proposal is open
LOCK_PREFIX = "moderation:lock:"
QUEUE_BATCH = 20  # candidates read per query while skipping proposals locked by others
ACTIONS = ("accept", "refuse", "postpone", "tag")
QUEUE_STATUSES = (ProposalStatus.pending.value, ProposalStatus.postponed.value)
# The statuses each action applies to (postponed proposals come back after the pending ones).
ACTION_FROM = {
    "accept": QUEUE_STATUSES,
    "refuse": QUEUE_STATUSES,
    "postpone": (ProposalStatus.pending.value,),
    "tag": (ProposalStatus.accepted.value,),
}
DECISION_MAIL_JOB = "pnyx.identity.jobs.send_proposal_decision"


class ProposalLocked(Conflict):
    code, title = "proposal_locked", N_("Locked by another moderator")


# ----------------------------------------------------------------------------------- locks


@dataclass(frozen=True)
class Lock:
    proposal_id: int
    holder_id: int
    holder_email: str
    expires_at: datetime | None = None  # known to its holder (the store keeps the TTL)

    def held_by(self, staff: Principal) -> bool:
        return self.holder_id == staff.id


def _key(proposal_id: int) -> str:
    return f"{LOCK_PREFIX}{int(proposal_id)}"


def _value(staff: Principal) -> str:
    return f"{staff.id}:{staff.email}"


def lock_of(store: Store, proposal_id: int) -> Lock | None:
    """Who holds a proposal, if anyone."""
    value = store.get(_key(proposal_id))
    if not value:
        return None
    holder_id, _, email = value.partition(":")
    return Lock(int(proposal_id), int(holder_id), email)


def _locked(lock: Lock) -> ProposalLocked:
    return ProposalLocked(
        N_("%(holder)s is working on this proposal.", holder=lock.holder_email),
        holder=lock.holder_email,
        holder_id=lock.holder_id,
    )


def _try_lock(
    store: Store, staff: Principal, proposal_id: int, now: datetime, ttl: float
) -> Lock | None:
    """Take the lock, or renew it if already ours; None if another holds it."""
    key, value = _key(proposal_id), _value(staff)
    if store.set(key, value, ttl=ttl, only_new=True) or store.compare_and_expire(key, value, ttl):
        return Lock(proposal_id, staff.id, staff.email, now + timedelta(seconds=ttl))
    return None


def take_lock(
    store: Store, staff: Principal, proposal_id: int, now: datetime, ttl: float = LOCK_TTL
) -> Lock:
    """Take or renew the lock; ``proposal_locked`` (with the holder) if someone else has it."""
    for _attempt in range(3):
        lock = _try_lock(store, staff, proposal_id, now, ttl)
        if lock is not None:
            return lock
        held = lock_of(store, proposal_id)
        if held is not None:
            raise _locked(held)
        # It lapsed between our two calls: try again.
    raise Conflict(N_("The lock is contended: try again."), code="lock_contended")


def _desk_proposal(session: TenantSession, proposal_id: int, *, for_update: bool = False):
    proposal = session.get(
        Proposal, proposal_id, with_for_update=for_update or None, populate_existing=for_update
    )
    if proposal is None:
        raise NotFound(N_("No such proposal."), code="proposal_not_found")
    return proposal


def renew(
    session: TenantSession,
    store: Store,
    staff: Principal,
    proposal_id: int,
    now: datetime,
    ttl: float = LOCK_TTL,
) -> Lock:
    """Keep (or take) the lock on a proposal still in the queue, seen from the desk session."""
    require_desk(staff)
    proposal = _desk_proposal(session, proposal_id)
    if proposal.status not in QUEUE_STATUSES:
        raise Conflict(
            N_("This proposal is already %(status)s.", status=N_(proposal.status)),
            code="already_decided",
        )
    return take_lock(store, staff, proposal.id, now, ttl)


def release(session: TenantSession, store: Store, staff: Principal, proposal_id: int) -> None:
    """Let go of a proposal (idempotent); ``proposal_locked`` if someone else holds it."""
    require_desk(staff)
    proposal = _desk_proposal(session, proposal_id)
    held = lock_of(store, proposal.id)
    if held is not None and not held.held_by(staff):
        raise _locked(held)
    store.compare_and_delete(_key(proposal.id), _value(staff))


# ----------------------------------------------------------------------------------- queue


def next_proposal(
    session: TenantSession,
    store: Store,
    staff: Principal,
    now: datetime,
    *,
    ttl: float = LOCK_TTL,
) -> tuple[Proposal, Lock] | None:
    """The oldest pending proposal of the session's tenants that nobody else holds, locked for
    ``staff`` (then the postponed ones, oldest first). One the caller already holds counts as
    theirs (its lock is renewed), so reloading the desk does not skip it. None when the queue is
    empty."""
    require_desk(staff)
    if not session.visible_tenants:
        return None
    for status in QUEUE_STATUSES:
        after = None
        while True:
            query = (
                select(Proposal.created_at, Proposal.id)
                .where(Proposal.status == status)
                .order_by(Proposal.created_at, Proposal.id)
                .limit(QUEUE_BATCH)
            )
            if after is not None:
                query = query.where(tuple_(Proposal.created_at, Proposal.id) > tuple_(*after))
            rows = session.execute(query).all()
            for _created, proposal_id in rows:
                lock = _try_lock(store, staff, proposal_id, now, ttl)
                if lock is None:
                    continue
                # Decided (or postponed) and released between our read and our lock? A
                # postponed one goes back behind every pending one: read it again.
                proposal = session.get(Proposal, proposal_id, populate_existing=True)
                if proposal is not None and proposal.status == status:
                    return proposal, lock
                store.compare_and_delete(_key(proposal_id), _value(staff))
            if len(rows) < QUEUE_BATCH:
                break
            after = tuple(rows[-1])
    return None


def of_author(
    session: TenantSession,
    store: Store,
    staff: Principal,
    author_id: int,
    now: datetime,
    *,
    ttl: float = LOCK_TTL,
) -> list[tuple[Proposal, Lock]]:
    """Every pending (or postponed) proposal of one author in the session's tenant, oldest
    first, each locked for ``staff`` unless another moderator holds it (that lock is returned).
    An author outside the session's tenants is a 404."""
    require_desk(staff)
    if session.get(Participant, author_id) is None:
        raise NotFound(N_("No such author."), code="author_not_found")
    found = session.scalars(
        select(Proposal)
        .where(Proposal.author_id == author_id, Proposal.status.in_(QUEUE_STATUSES))
        .order_by(Proposal.created_at, Proposal.id)
        .limit(200)
    )
    result = []
    for proposal in found:
        lock = _try_lock(store, staff, proposal.id, now, ttl) or lock_of(store, proposal.id)
        if lock is None:  # lapsed in between
            lock = _try_lock(store, staff, proposal.id, now, ttl)
        result.append((proposal, lock))
    return result


# -------------------------------------------------------------------------------- decisions


def _snapshot(session: TenantSession, proposal: Proposal) -> dict:
    tag_ids = sorted(
        session.scalars(select(ProposalTag.tag_id).where(ProposalTag.proposal_id == proposal.id))
    )
    return {
        "status": proposal.status,
        "content": proposal.content,
        "original_content": proposal.original_content,
        "refusal_reason": proposal.refusal_reason,
        "refusal_note": proposal.refusal_note,
        "tag_ids": tag_ids,
    }


def _add_tags(session: TenantSession, proposal: Proposal, tag_ids: Sequence[int]) -> None:
    if not tag_ids:
        raise Invalid(
            N_("Choose at least one tag."),
            code="tags_required",
            errors={"tag_ids": [N_("Required.")]},
        )
    known = set(
        session.scalars(
            select(Tag.id).where(
                Tag.id.in_(tag_ids), Tag.consultation_id == proposal.consultation_id
            )
        )
    )
    if known != set(tag_ids):
        raise Invalid(
            N_("Unknown tag."), code="unknown_tag", errors={"tag_ids": [N_("Unknown tag.")]}
        )
    present = set(
        session.scalars(select(ProposalTag.tag_id).where(ProposalTag.proposal_id == proposal.id))
    )
    session.add_all(
        ProposalTag(tenant_id=proposal.tenant_id, proposal_id=proposal.id, tag_id=t)
        for t in sorted(known - present)
    )


def decide(
    session: TenantSession,
    staff: Principal,
    proposal_id: int,
    decision: str,
    *,
    store: Store,
    jobs: Jobs,
    now: datetime,
    reason: str | None = None,
    note: str | None = None,
    tag_ids: Sequence[int] | None = None,
    content: str | None = None,
    ttl: float = LOCK_TTL,
) -> ModerationDecision:
    """Accept (optionally correcting the text, the original kept; with tags), refuse (reason
    from the list + free note), postpone, or tag an accepted proposal — and audit it.

    Refused with a stable code, changing nothing: another tenant's or unassigned proposal (404
    ``proposal_not_found``), locked by someone else (409 ``proposal_locked``), already decided
    (409 ``already_decided``), unknown decision, reason or tag (422). The caller commits; after
    the commit the lock is released and the author hears of an acceptance or a refusal.
    """
    require_desk(staff)
    if decision not in ACTIONS:
        raise Invalid(
            N_("One of %(choices)s.", choices=", ".join(ACTIONS)),
            code="unknown_decision",
            errors={"decision": [N_("Unknown.")]},
        )
    proposal = _desk_proposal(session, proposal_id, for_update=True)
    held = lock_of(store, proposal.id)
    if held is not None and not held.held_by(staff):
        raise _locked(held)
    if proposal.status not in ACTION_FROM[decision]:
        raise Conflict(
            N_("This proposal is already %(status)s.", status=N_(proposal.status)),
            code="already_decided",
        )
    taken = held is None
    if taken:
        take_lock(store, staff, proposal.id, now, ttl)
    try:
        record = _apply(session, staff, proposal, decision, now, reason, note, tag_ids, content)
    except BaseException:
        if taken:
            store.compare_and_delete(_key(proposal.id), _value(staff))
        raise
    _after_commit(session, store, jobs, staff, proposal, record)
    return record


def _apply(session, staff, proposal, decision, now, reason, note, tag_ids, content):
    before = _snapshot(session, proposal)
    visible = session.visible_tenants
    session.bind_tenant(proposal.tenant_id)  # new rows (tags) belong to the proposal's tenant
    try:
        record = _change(session, staff, proposal, decision, now, reason, note, tag_ids, content)
    except BaseException:
        # The caller rolls back; its next transaction sees the desk's tenants again.
        session.info["tenant_ids"] = visible
        session.info["tenant_id"] = visible[0] if len(visible) == 1 else None
        raise
    record.before = before
    session.add(record)
    session.flush()
    session.bind_tenants(visible)
    return record


def _change(session, staff, proposal, decision, now, reason, note, tag_ids, content):
    if decision == "tag":
        _add_tags(session, proposal, list(tag_ids or ()))
    else:
        if decision == "accept" and content is not None and content.strip():
            consultation = session.get(Consultation, proposal.consultation_id)
            corrected = proposals.clean_text(content, consultation.proposal_prefix)
            if corrected != proposal.content:
                if proposal.original_content is None:
                    proposal.original_content = proposal.content
                proposal.content = corrected
        proposals.decide(
            session,
            proposal.id,
            decision,
            by=staff.email,
            now=now,
            reason=reason,
            note=note,
            tag_ids=list(tag_ids or ()) if decision == "accept" else None,
        )
    session.flush()
    after = _snapshot(session, proposal)
    record = ModerationDecision(
        tenant_id=proposal.tenant_id,
        proposal_id=proposal.id,
        consultation_id=proposal.consultation_id,
        staff_id=staff.id,
        staff_email=staff.email,
        action=decision,
        after=after,
        reason=proposal.refusal_reason if decision == "refuse" else None,
        note=proposal.refusal_note if decision == "refuse" else None,
        at=now,
    )
    return record


def _after_commit(session, store, jobs, staff, proposal, record) -> None:
    tenant_id, consultation_id, proposal_id = (
        proposal.tenant_id,
        proposal.consultation_id,
        proposal.id,
    )
    author_id, text, status = proposal.author_id, proposal.content, proposal.status
    reason, note = proposal.refusal_reason, proposal.refusal_note
    action = record.action

    def done() -> None:
        store.compare_and_delete(_key(proposal_id), _value(staff))
        INDEXES.update(
            tenant_id, consultation_id, proposal_id, None if status == "refused" else text
        )
        if action in ("accept", "refuse") and author_id is not None:
            try:
                jobs.enqueue(
                    DECISION_MAIL_JOB,
                    queue="mail",
                    tenant_id=tenant_id,
                    participant_id=author_id,
                    proposal_text=text,
                    decision=status,
                    reason=reason,
                    note=note,
                )
            except Exception:  # the decision stands; the mail is the queue's to retry
                log.exception("could not enqueue the decision mail of proposal %s", proposal_id)

    on_commit(session, done)


def audit_of(session: TenantSession, proposal_id: int) -> list[ModerationDecision]:
    """A proposal's decisions, oldest first (within the session's tenants)."""
    return list(
        session.scalars(
            select(ModerationDecision)
            .where(ModerationDecision.proposal_id == proposal_id)
            .order_by(ModerationDecision.at, ModerationDecision.id)
        )
    )


# ------------------------------------------------------------------------------ desk view


@dataclass(frozen=True)
class DeskItem:
    """Everything the desk shows about one proposal."""

    proposal: Proposal
    consultation: Consultation
    tenant: Tenant
    lock: Lock | None
    report: CheckReport
    similar: list[Similar]
    tags: list[Tag]
    required_tag_kinds: list[str]


def desk_item(
    session: TenantSession, store: Store, proposal: Proposal, lock: Lock | None = None
) -> DeskItem:
    """A proposal (from the desk session) with its consultation, tenant, lock and pre-checks."""
    consultation = session.get(Consultation, proposal.consultation_id)
    report, similar = prechecks(session, proposal)
    tags = list(
        session.scalars(
            select(Tag).where(Tag.consultation_id == consultation.id).order_by(Tag.kind, Tag.label)
        )
    )
    return DeskItem(
        proposal,
        consultation,
        session.get(Tenant, proposal.tenant_id),
        lock or lock_of(store, proposal.id),
        report,
        similar,
        tags,
        required_tag_kinds(consultation),
    )


def get_proposal(session: TenantSession, staff: Principal, proposal_id: int) -> Proposal:
    """A proposal of the desk session's tenants (404 otherwise)."""
    require_desk(staff)
    return _desk_proposal(session, proposal_id)
