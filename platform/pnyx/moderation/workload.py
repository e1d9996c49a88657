"""What the desk watches: queue size and age per tenant, decisions per moderator, and the
accepted proposals still missing a tag kind their consultation requires."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select

from pnyx.consultations.models import Consultation, Proposal, ProposalStatus, ProposalTag, Tag
from pnyx.kernel.db import TenantSession
from pnyx.kernel.errors import Invalid, NotFound
from pnyx.kernel.i18n import N_
from tenants.models import Tenant

from .models import ModerationDecision

TARGET = timedelta(hours=48)  # a proposal waits at most this long for a decision
MAX_TAG_KINDS = 10


@dataclass(frozen=True)
class TenantLoad:
    tenant_id: int
    slug: str
    name: str
    pending: int
    postponed: int
    oldest_pending_at: datetime | None
    oldest_age_hours: float | None
    late: bool  # the oldest pending proposal is past the target
    target_hours: float = TARGET.total_seconds() / 3600


@dataclass(frozen=True)
class ModeratorLoad:
    staff_id: int | None
    staff_email: str
    accept: int
    refuse: int
    postpone: int
    tag: int
    last_at: datetime | None

    @property
    def total(self) -> int:
        return self.accept + self.refuse + self.postpone + self.tag


def tenant_loads(session: TenantSession, now: datetime) -> list[TenantLoad]:
    """Per visible tenant: pending and postponed counts, the oldest pending one's age."""
    visible = session.visible_tenants
    if not visible:
        return []
    counts: dict[tuple[int, str], tuple[int, datetime | None]] = {}
    rows = session.execute(
        select(Proposal.tenant_id, Proposal.status, func.count(), func.min(Proposal.created_at))
        .where(Proposal.status.in_((ProposalStatus.pending, ProposalStatus.postponed)))
        .group_by(Proposal.tenant_id, Proposal.status)
    )
    for tenant_id, status, count, oldest in rows:
        counts[(tenant_id, status)] = (count, oldest)
    tenants = session.scalars(select(Tenant).where(Tenant.id.in_(visible)).order_by(Tenant.slug))
    loads = []
    for tenant in tenants:
        pending, oldest = counts.get((tenant.id, "pending"), (0, None))
        age = (now - oldest).total_seconds() / 3600 if oldest else None
        loads.append(
            TenantLoad(
                tenant.id,
                tenant.slug,
                tenant.name,
                pending,
                counts.get((tenant.id, "postponed"), (0, None))[0],
                oldest,
                round(age, 1) if age is not None else None,
                age is not None and age > TARGET.total_seconds() / 3600,
            )
        )
    return loads


def moderator_loads(
    session: TenantSession, now: datetime, *, since: timedelta = timedelta(days=7)
) -> list[ModeratorLoad]:
    """Decisions per moderator over the visible tenants since ``now - since``, busiest first."""
    if not session.visible_tenants:
        return []
    rows = session.execute(
        select(
            ModerationDecision.staff_id,
            ModerationDecision.staff_email,
            ModerationDecision.action,
            func.count(),
            func.max(ModerationDecision.at),
        )
        .where(ModerationDecision.at >= now - since)
        .group_by(
            ModerationDecision.staff_id, ModerationDecision.staff_email, ModerationDecision.action
        )
    )
    found: dict[str, dict] = {}
    for staff_id, email, action, count, last in rows:
        entry = found.setdefault(
            email, {"staff_id": staff_id, "last_at": last, "accept": 0, "refuse": 0}
        )
        entry[action] = entry.get(action, 0) + count
        if last is not None and (entry["last_at"] is None or last > entry["last_at"]):
            entry["last_at"] = last
    loads = [
        ModeratorLoad(
            v["staff_id"],
            email,
            v.get("accept", 0),
            v.get("refuse", 0),
            v.get("postpone", 0),
            v.get("tag", 0),
            v["last_at"],
        )
        for email, v in found.items()
    ]
    return sorted(loads, key=lambda m: (-m.total, m.staff_email))


# ---------------------------------------------------------------------- required tag kinds


def required_tag_kinds(consultation: Consultation) -> list[str]:
    settings = (consultation.settings or {}).get("moderation") or {}
    kinds = settings.get("required_tag_kinds") or []
    return [k for k in kinds if isinstance(k, str)]


def set_required_tag_kinds(
    session: TenantSession, consultation_id: int, kinds: Sequence[str]
) -> Consultation:
    """Every accepted proposal of the consultation should carry a tag of each of these kinds."""
    consultation = session.get(Consultation, consultation_id)
    if consultation is None:
        raise NotFound(N_("No such consultation."), code="consultation_not_found")
    if (
        not isinstance(kinds, (list, tuple))
        or len(kinds) > MAX_TAG_KINDS
        or not all(isinstance(k, str) and 0 < len(k) <= 30 for k in kinds)
    ):
        raise Invalid(
            N_("A list of at most %(n)s tag kinds.", n=MAX_TAG_KINDS),
            code="invalid_tag_kinds",
            errors={"required_tag_kinds": [N_("Invalid.")]},
        )
    settings = dict(consultation.settings or {})
    settings["moderation"] = {
        **(settings.get("moderation") or {}),
        "required_tag_kinds": sorted(set(kinds)),
    }
    consultation.settings = settings
    session.flush()
    return consultation


@dataclass(frozen=True)
class Untagged:
    proposal: Proposal
    consultation: Consultation
    missing_kinds: tuple[str, ...]


def untagged(session: TenantSession, *, limit: int = 100) -> list[Untagged]:
    """Accepted proposals of the visible tenants missing a required tag kind, oldest first."""
    result: list[Untagged] = []
    consultations = session.scalars(select(Consultation).order_by(Consultation.id))
    for consultation in consultations:
        kinds = required_tag_kinds(consultation)
        if not kinds or len(result) >= limit:
            continue

        def has(kind: str):
            return exists().where(
                ProposalTag.proposal_id == Proposal.id,
                ProposalTag.tag_id == Tag.id,
                Tag.kind == kind,
            )

        found = list(
            session.scalars(
                select(Proposal)
                .where(
                    Proposal.consultation_id == consultation.id,
                    Proposal.status == ProposalStatus.accepted,
                    or_(*(~has(kind) for kind in kinds)),
                )
                .order_by(Proposal.created_at, Proposal.id)
                .limit(limit - len(result))
            )
        )
        present: dict[int, set[str]] = {}
        if found:
            rows = session.execute(
                select(ProposalTag.proposal_id, Tag.kind)
                .join(Tag, and_(Tag.id == ProposalTag.tag_id))
                .where(ProposalTag.proposal_id.in_([p.id for p in found]))
            )
            for proposal_id, kind in rows:
                present.setdefault(proposal_id, set()).add(kind)
        for proposal in found:
            missing = tuple(k for k in kinds if k not in present.get(proposal.id, set()))
            result.append(Untagged(proposal, consultation, missing))
    return result
