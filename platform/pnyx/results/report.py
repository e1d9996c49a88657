"""A consultation's report: what its results page shows, gathered in one document to print or
save as PDF once the consultation ends: participation, the method, each zone's leading
proposals, how the leading proposals fare in each segment, the themes and the opinion groups.

Everything comes from the kept results (:func:`service.published_by_segment`, one copy per
segment, computed together from one reading of the votes) and the kept opinion groups, so that
a report costs little more than the results page once they are computed.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

from sqlalchemy import func, select

from pnyx.consultations import proposals
from pnyx.consultations import service as consultations
from pnyx.consultations.models import (
    SEGMENTS,
    Consultation,
    Proposal,
    ProposalCounter,
    ProposalTag,
    Tag,
)
from pnyx.kernel.db import TenantSession
from pnyx.kernel.store import Store

from . import groups as opinion_groups
from . import service
from .scores import NEEDS_MORE_VOTES as UNDECIDED
from .service import ZONES, Published

LEADING = 10  # proposals shown per zone
MIN_SEGMENT_VOTES = 10  # a segment's agreement is shown from this many (weighted) votes
COMPARED = tuple(s for s in SEGMENTS if s != "all" and not s.endswith(":unknown"))


class Theme(NamedTuple):
    label: str
    proposals: int  # published proposals with this tag
    results: dict[str, int]  # by result: consensus, …, needs_more_votes


class Report(NamedTuple):
    consultation: Consultation
    progress: consultations.Progress
    statuses: dict[str, int]  # submitted proposals by moderation status
    trusted_votes: int  # votes counted for scores (sequence votes with a valid card key)
    results: dict[str, int]  # published proposals by result (each zone, needs_more_votes)
    leading: dict[str, list[Published]]  # each zone's leading proposals
    segments: tuple[str, ...]  # the segments compared
    by_segment: dict[int, dict[str, Published]]  # the leading proposals in each segment
    themes: list[Theme]
    groups: opinion_groups.OpinionGroups | None  # None: being computed
    contents: dict[int, str]


def build(session: TenantSession, store: Store, jobs, consultation: Consultation) -> Report:
    every = service.published_by_segment(session, store, consultation.id)
    found = every["all"]
    zones, _undecided = service.by_zone(found)
    leading = {zone: items[:LEADING] for zone, items in zones.items()}
    shown = {item.proposal_id for items in leading.values() for item in items}
    by_segment: dict[int, dict[str, Published]] = {pid: {} for pid in shown}
    for segment in COMPARED:
        for item in every[segment]:
            if item.proposal_id in by_segment:
                by_segment[item.proposal_id][segment] = item
    groups = service.kept_opinion_groups(session, store, jobs, consultation.id)
    named = set(shown)
    if groups is not None:
        named |= {item.proposal_id for item in groups.consensus + groups.division}
    results = Counter(item.result for item in found)
    return Report(
        consultation=consultation,
        progress=consultations.progress(session, consultation, store),
        statuses=_statuses(session, consultation.id),
        trusted_votes=_trusted_votes(session, consultation.id),
        results={zone: results.get(zone, 0) for zone in (*ZONES, UNDECIDED)},
        leading=leading,
        segments=COMPARED,
        by_segment=by_segment,
        themes=_themes(session, consultation.id, found),
        groups=groups,
        contents=proposals.contents(session, sorted(named)),
    )


def _statuses(session: TenantSession, consultation_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Proposal.status, func.count())
        .where(Proposal.consultation_id == consultation_id)
        .group_by(Proposal.status)
    )
    return dict(sorted((status, int(n)) for status, n in rows))


def _trusted_votes(session: TenantSession, consultation_id: int) -> int:
    trusted = sum(
        getattr(ProposalCounter, f"trusted_{key}") for key in ("agree", "disagree", "neutral")
    )
    total = session.scalar(
        select(func.coalesce(func.sum(trusted), 0)).where(
            ProposalCounter.consultation_id == consultation_id, ProposalCounter.segment == "all"
        )
    )
    return int(total or 0)


def _themes(session: TenantSession, consultation_id: int, found: list[Published]) -> list[Theme]:
    result_of = {item.proposal_id: item.result for item in found}
    rows = session.execute(
        select(Tag.label, ProposalTag.proposal_id)
        .join(ProposalTag, ProposalTag.tag_id == Tag.id)
        .where(Tag.consultation_id == consultation_id)
        .order_by(Tag.label)
    )
    by_tag: dict[str, Counter] = {}
    for label, proposal_id in rows:
        counted = by_tag.setdefault(label, Counter())
        if proposal_id in result_of:
            counted[result_of[proposal_id]] += 1
    return [
        Theme(label, sum(counted.values()), {r: counted.get(r, 0) for r in (*ZONES, UNDECIDED)})
        for label, counted in by_tag.items()
    ]
