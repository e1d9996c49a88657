"""Results of a consultation: weighted trusted counts per proposal and segment, and the scores
and zones of :mod:`pnyx.results.scores` on them.

Each trusted vote weighs its voter's weight (:func:`pnyx.moderation.lockstep.voter_weights`):
``history_weight`` of the votes the voter cast in the consultation (a fresh session weighs
``HISTORY_FLOOR``, a voter with ``HISTORY_FULL_AT`` votes weighs 1), times 1/size for the members
of a flagged lockstep group, so that a group counts as one voice. The sums run in the database
(one aggregate query), so that a results page never pulls a million votes into Python;
:func:`tally` is the same arithmetic on votes in memory (simulations, tests).
"""

from __future__ import annotations

import json
import time
from collections.abc import Hashable, Iterable, Mapping
from datetime import date, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Float, case, cast, func, select

from pnyx.consultations.models import (
    QUALIFICATION_BITS,
    SEGMENTS,
    Proposal,
    ProposalStatus,
    Vote,
)
from pnyx.kernel.db import TenantSession
from pnyx.kernel.errors import Invalid, NotFound
from pnyx.kernel.i18n import N_
from pnyx.kernel.store import Store
from pnyx.moderation.integrity_models import GroupStatus, LockstepGroupRecord, LockstepMember
from pnyx.moderation.lockstep import history_weight

from . import groups
from .scores import API_NAMES, VOTE_KEYS, VoteCounts, score

HISTORY_FULL_AT = 20
HISTORY_FLOOR = 0.25
# Field of VoteCounts → how a vote row contributes to it.
_COUNT_FIELDS: tuple[tuple[str, str], ...] = (
    *((key, key) for key in VOTE_KEYS),
    *((API_NAMES.get(name, name), name) for name in QUALIFICATION_BITS),
)
PUBLISHED = (ProposalStatus.accepted.value, ProposalStatus.archived.value)
_NO_VOTES = VoteCounts()


def check_segment(segment: str) -> str:
    if segment not in SEGMENTS:
        raise Invalid(
            N_("Unknown segment: one of %(choices)s.", choices=", ".join(SEGMENTS)),
            code="unknown_segment",
            errors={"segment": [N_("Choose one of the listed values.")]},
        )
    return segment


def _segment_filter(segment: str):
    kind, _, value = segment.partition(":")
    if kind == "territory":
        return Vote.territory == value
    if kind == "age":
        return Vote.age_band == value
    return None


def _weighted_query(
    consultation_id: int, by: tuple = (), *, full_at: int = HISTORY_FULL_AT, floor: float
):
    """Weighted trusted sums per proposal (and per each column of ``by``): each vote weighs
    by its voter's history, and by their lockstep group's share when it is flagged."""
    history = (
        select(Vote.participant_id, func.count().label("cast"))
        .where(Vote.consultation_id == consultation_id)
        .group_by(Vote.participant_id)
        .subquery("history")
    )
    collapsed = (
        select(LockstepMember.participant_id, func.min(LockstepMember.weight).label("weight"))
        .join(LockstepGroupRecord, LockstepGroupRecord.id == LockstepMember.group_id)
        .where(
            LockstepMember.consultation_id == consultation_id,
            LockstepGroupRecord.status == GroupStatus.flagged.value,
        )
        .group_by(LockstepMember.participant_id)
        .subquery("collapsed")
    )
    if full_at <= 0:
        by_history = 1.0
    else:
        by_history = case(
            (history.c.cast >= full_at, 1.0),
            else_=floor + cast(history.c.cast, Float) * ((1.0 - floor) / full_at),
        )
    weight = by_history * func.coalesce(collapsed.c.weight, 1.0)
    columns = []
    for _field, source in _COUNT_FIELDS:
        if source in QUALIFICATION_BITS:
            hit = Vote.qualifications.op("&")(QUALIFICATION_BITS[source]) != 0
        else:
            hit = Vote.key == source
        columns.append(func.sum(case((hit, weight), else_=0.0)))
    return (
        select(Vote.proposal_id, *by, *columns)
        .join(history, history.c.participant_id == Vote.participant_id)
        .outerjoin(collapsed, collapsed.c.participant_id == Vote.participant_id)
        .where(Vote.consultation_id == consultation_id, Vote.trusted.is_(True))
        .group_by(Vote.proposal_id, *by)
    )


def _counts(values) -> VoteCounts:
    """Weighted sums as counts, rounded to 1e-9: a sum's last bits depend on the order it was
    added up in (the database's plan, or one reading for every segment), and a rate sitting on
    a zone's threshold (neutral = .4) must not change zone with them."""
    return VoteCounts(
        **{
            field: round(float(value or 0.0), 9)
            for (field, _), value in zip(_COUNT_FIELDS, values, strict=True)
        }
    )


def weighted_counts(
    session: TenantSession,
    consultation_id: int,
    segment: str = "all",
    *,
    full_at: int = HISTORY_FULL_AT,
    floor: float = HISTORY_FLOOR,
) -> dict[int, VoteCounts]:
    """Weighted trusted counts of the consultation's voted proposals in one segment."""
    check_segment(segment)
    query = _weighted_query(consultation_id, full_at=full_at, floor=floor)
    condition = _segment_filter(segment)
    if condition is not None:
        query = query.where(condition)
    return {row[0]: _counts(row[1:]) for row in session.execute(query)}


def weighted_counts_by_segment(
    session: TenantSession,
    consultation_id: int,
    *,
    full_at: int = HISTORY_FULL_AT,
    floor: float = HISTORY_FLOOR,
) -> dict[str, dict[int, VoteCounts]]:
    """:func:`weighted_counts` of every segment from one reading of the votes (grouped by
    proposal, territory and age band, then added up here), instead of one per segment."""
    query = _weighted_query(
        consultation_id, (Vote.territory, Vote.age_band), full_at=full_at, floor=floor
    )
    rows = session.execute(query).all()
    if not rows:
        return {segment: {} for segment in SEGMENTS}
    columns = list(zip(*rows, strict=True))
    known, slot = np.unique(np.array(columns[0], dtype=np.int64), return_inverse=True)
    sums = np.array(columns[3:], dtype=float).T  # NULL sums (no such vote) are nan
    np.nan_to_num(sums, copy=False)
    width = len(_COUNT_FIELDS)
    of_kind = {
        "territory": np.array(columns[1], dtype=object),
        "age": np.array(columns[2], dtype=object),
    }
    found: dict[str, dict[int, VoteCounts]] = {}
    for segment in SEGMENTS:
        kind, _, value = segment.partition(":")
        keep = of_kind[kind] == value if kind in of_kind else slice(None)
        slots, values = slot[keep], sums[keep]
        totals = np.column_stack(
            [np.bincount(slots, weights=values[:, j], minlength=len(known)) for j in range(width)]
        ).tolist()
        voted = np.flatnonzero(np.bincount(slots, minlength=len(known))).tolist()
        ids = known.tolist()
        found[segment] = {ids[i]: _counts(totals[i]) for i in voted}
    return found


def tally(
    votes: Iterable[tuple[Hashable, Hashable, str] | tuple[Hashable, Hashable, str, int]],
    weights: Mapping[Hashable, float],
) -> dict[Hashable, VoteCounts]:
    """Weighted counts of (voter, proposal, key[, qualification bits]) votes; voters absent
    from ``weights`` weigh 1. The in-memory twin of :func:`weighted_counts`."""
    sums: dict[Hashable, dict[str, float]] = {}
    for vote in votes:
        voter, proposal, key = vote[0], vote[1], vote[2]
        bits = vote[3] if len(vote) > 3 else 0
        w = weights.get(voter, 1.0)
        counts = sums.setdefault(proposal, {})
        counts[key] = counts.get(key, 0.0) + w
        for name, bit in QUALIFICATION_BITS.items():
            if bits & bit:
                field = API_NAMES.get(name, name)
                counts[field] = counts.get(field, 0.0) + w
    return {proposal: VoteCounts(**counts) for proposal, counts in sums.items()}


def history_weights(
    votes_cast: Mapping[Hashable, int],
    *,
    full_at: int = HISTORY_FULL_AT,
    floor: float = HISTORY_FLOOR,
) -> dict[Hashable, float]:
    return {
        voter: history_weight(n, full_at=full_at, floor=floor) for voter, n in votes_cast.items()
    }


# ---------------------------------------------------------------------------------- results


class Published(NamedTuple):
    """One proposal's result in a segment, as pages and the API show it (plain values)."""

    proposal_id: int
    votes: float
    agree: float
    disagree: float
    neutral: float
    agree_interval: tuple[float, float]
    disagree_interval: tuple[float, float]
    neutral_interval: tuple[float, float]
    top_score: float
    controversy: float
    rejection: float
    zone: str
    result: str  # the certain zone, or needs_more_votes: what to publish
    zone_probability: float


def _published_ids(session: TenantSession, consultation_id: int) -> list[int]:
    return list(
        session.scalars(
            select(Proposal.id).where(
                Proposal.consultation_id == consultation_id, Proposal.status.in_(PUBLISHED)
            )
        )
    )


def _publish(counts: Mapping[int, VoteCounts], proposal_ids: Iterable[int]) -> list[Published]:
    """Each proposal's scores and zone on its counts, most voted first."""
    rows = []
    for proposal_id in proposal_ids:
        weighted = counts.get(proposal_id, _NO_VOTES)
        s = score(weighted)
        rows.append(
            Published(
                proposal_id,
                weighted.votes,
                s.rates.agree,
                s.rates.disagree,
                s.rates.neutral,
                (s.agree_interval.low, s.agree_interval.high),
                (s.disagree_interval.low, s.disagree_interval.high),
                (s.neutral_interval.low, s.neutral_interval.high),
                s.top_score,
                s.controversy,
                s.rejection,
                s.zone.value,
                s.result,
                s.zone_probability,
            )
        )
    rows.sort(key=lambda row: (-row.votes, row.proposal_id))
    return rows


def results(session: TenantSession, consultation_id: int, segment: str = "all") -> list[Published]:
    """Scores and zone of each published proposal in one segment, on weighted trusted counts,
    computed now, most voted first."""
    counts = weighted_counts(session, consultation_id, segment)
    return _publish(counts, _published_ids(session, consultation_id))


def results_by_segment(session: TenantSession, consultation_id: int) -> dict[str, list[Published]]:
    """:func:`results` of every segment, from one reading of the votes."""
    counts = weighted_counts_by_segment(session, consultation_id)
    ids = _published_ids(session, consultation_id)
    return {segment: _publish(counts[segment], ids) for segment in SEGMENTS}


ZONES = ("consensus", "controversy", "rejection", "limbo")
_ZONE_ORDER = {  # within a zone, the most telling first
    "consensus": lambda item: -item.top_score,
    "controversy": lambda item: -item.controversy,
    "rejection": lambda item: -item.rejection,
    "limbo": lambda item: -item.neutral,
}


def by_zone(found: Iterable[Published]) -> tuple[dict[str, list[Published]], list[Published]]:
    """Each zone's proposals, the most telling first (consensus: by top score, controversy:
    by controversy, …), and those that need more votes, in the order given."""
    zones: dict[str, list[Published]] = {zone: [] for zone in ZONES}
    undecided: list[Published] = []
    for item in found:
        zones.get(item.result, undecided).append(item)
    for zone, items in zones.items():
        items.sort(key=_ZONE_ORDER[zone])
    return zones, undecided


# ------------------------------------------------------------------------------ publication
# Published when the consultation ends: results shown while votes are still cast would sway
# them (voters follow a visible majority). When its steps announce the results for a later day,
# on that day: publishing before would contradict what the organisers announced. Its tenant's
# admins see them before, as provisional.

PARIS = ZoneInfo("Europe/Paris")


class Publication(NamedTuple):
    shown: bool
    provisional: bool  # shown before the publication (to the tenant's admins)
    on: datetime  # when they are (or were) published for everyone: see published_at


def published_at(consultation, zone: ZoneInfo = PARIS) -> datetime:
    """When the results are published: the end of the consultation, or the start of the day
    its "results" step announces (in the tenant's time zone ``zone``), whichever is later."""
    at = consultation.ends_at
    for step in consultation.steps or ():
        if step.get("kind") != "results" or not step.get("date"):
            continue
        try:
            day = date.fromisoformat(str(step["date"])[:10])
        except ValueError:
            continue
        at = max(at, datetime.combine(day, datetime.min.time(), zone))
    return at


def publication(consultation, principal, now: datetime, zone: ZoneInfo = PARIS) -> Publication:
    """Whether ``principal`` (None: a visitor) may see the consultation's results at ``now``."""
    on = published_at(consultation, zone)
    public = consultation.status_at(now) == "finished" and now >= on
    provisional = not public and principal is not None and principal.has_role("tenant_admin")
    return Publication(public or provisional, provisional, on)


def require_published(
    consultation, principal, now: datetime, zone: ZoneInfo = PARIS
) -> Publication:
    shown = publication(consultation, principal, now, zone)
    if not shown.shown:
        raise NotFound(N_("The results are not published yet."), code="results_not_published")
    return shown


# ------------------------------------------------------------- results kept in the store
# At 1,000,000 votes a consultation's results take over a second to compute (the weighted sums,
# then scoring 10,000 proposals), and everybody reads them at once when the consultation ends.
# So pages and the API read them from the shared store: fresh for ``FRESH_FOR`` seconds, then
# recomputed by one reader while the others are answered from the previous copy.
FRESH_FOR = 60.0
KEPT_FOR = 24 * 3600
RECOMPUTE_LOCK = 120  # seconds: a reader that died while recomputing frees the others then


def _from_json(row: list) -> Published:
    return Published(*row[:5], *(tuple(interval) for interval in row[5:8]), *row[8:])


def _key(session: TenantSession, consultation_id: int, segment: str) -> str:
    return f"results:{session.tenant_id}:{consultation_id}:{segment}"


def _keep(store: Store, key: str, rows: list[Published]) -> None:
    store.set(key, json.dumps({"at": time.time(), "rows": rows}), ttl=KEPT_FOR)


def _reuse(store: Store, key: str, fresh_for: float) -> list[Published] | None:
    """The kept copy when it is fresh, or when another reader is recomputing it already; None
    when this reader is to compute it (it then holds the recompute lock, or nothing was kept)."""
    kept = store.get(key)
    if kept is not None:
        copy = json.loads(kept)
        if time.time() - copy["at"] < fresh_for or not store.set(
            key + ":computing", "1", ttl=RECOMPUTE_LOCK, only_new=True
        ):
            return [_from_json(row) for row in copy["rows"]]
    return None


def _renew(store: Store, key: str, rows: list[Published]) -> list[Published]:
    _keep(store, key, rows)
    store.delete(key + ":computing")
    return rows


def published(
    session: TenantSession,
    store: Store,
    consultation_id: int,
    segment: str = "all",
    *,
    fresh_for: float = FRESH_FOR,
) -> list[Published]:
    """:func:`results`, kept in ``store`` (see above)."""
    check_segment(segment)
    key = _key(session, consultation_id, segment)
    rows = _reuse(store, key, fresh_for)
    if rows is None:
        rows = _renew(store, key, results(session, consultation_id, segment))
    return rows


def published_by_segment(
    session: TenantSession, store: Store, consultation_id: int, *, fresh_for: float = FRESH_FOR
) -> dict[str, list[Published]]:
    """:func:`published` of every segment (the CSV, the report); what this reader is to
    recompute is computed in one reading of the votes (:func:`results_by_segment`)."""
    keys = {segment: _key(session, consultation_id, segment) for segment in SEGMENTS}
    found = {segment: _reuse(store, key, fresh_for) for segment, key in keys.items()}
    if any(rows is None for rows in found.values()):
        computed = results_by_segment(session, consultation_id)
        for segment, rows in found.items():
            if rows is None:
                found[segment] = _renew(store, keys[segment], computed[segment])
    return found


# ------------------------------------------------------------------------- opinion groups


def _group_votes(session: TenantSession, consultation_id: int):
    """The consultation's trusted votes on its published proposals as arrays (voter, proposal,
    +1 agree / −1 disagree / 0 neutral), without the members of flagged lockstep groups (a
    coordinated group would show up as an opinion group of its own)."""
    flagged = (
        select(LockstepMember.participant_id)
        .join(LockstepGroupRecord, LockstepGroupRecord.id == LockstepMember.group_id)
        .where(
            LockstepMember.consultation_id == consultation_id,
            LockstepGroupRecord.status == GroupStatus.flagged.value,
        )
    )
    value = case((Vote.key == "agree", 1), (Vote.key == "disagree", -1), else_=0)
    rows = session.execute(
        select(Vote.participant_id, Vote.proposal_id, value)
        .join(Proposal, Proposal.id == Vote.proposal_id)
        .where(
            Vote.consultation_id == consultation_id,
            Vote.trusted.is_(True),
            Proposal.status.in_(PUBLISHED),
            Vote.participant_id.not_in(flagged),
        )
    ).all()
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    voters, proposals, values = (
        np.array(column, dtype=np.int64) for column in zip(*rows, strict=True)
    )
    return voters, proposals, values


def opinion_groups(session: TenantSession, consultation_id: int) -> groups.OpinionGroups:
    """The consultation's opinion groups (:mod:`pnyx.results.groups`), computed now."""
    return groups.find_groups(*_group_votes(session, consultation_id))


# Opinion groups take seconds at a million votes (reading the votes, then the components and
# the clustering) and move slowly: a job recomputes them, at most every GROUPS_FRESH_FOR seconds
# and one at a time, while readers get the previous copy.
GROUPS_FRESH_FOR = 600.0


def kept_opinion_groups(
    session: TenantSession,
    store: Store,
    jobs,
    consultation_id: int,
    *,
    fresh_for: float = GROUPS_FRESH_FOR,
) -> groups.OpinionGroups | None:
    """The consultation's opinion groups as last computed; None while they are computed for the
    first time. A copy older than ``fresh_for``, or none, asks ``jobs`` for a recomputation
    (one at a time); with inline jobs (the embedded default) it is done when this returns."""
    key = _key(session, consultation_id, "groups")
    kept = store.get(key)
    stale = kept is None or time.time() - json.loads(kept)["at"] >= fresh_for
    if stale and store.set(key + ":computing", "1", ttl=RECOMPUTE_LOCK, only_new=True):
        if jobs.mode == "inline":
            # The embedded default: at once, in the reader's session (SQLite has one writer at
            # a time, and the job's own session would wait for this one's).
            return refresh_opinion_groups(session, store, consultation_id)
        jobs.enqueue(
            "pnyx.results.jobs.refresh_opinion_groups",
            queue="reports",
            tenant_id=session.tenant_id,
            consultation_id=consultation_id,
        )
        kept = store.get(key)  # "sync" jobs (tests) have run
    return groups.from_json(json.loads(kept)["groups"]) if kept is not None else None


def refresh_opinion_groups(
    session: TenantSession, store: Store, consultation_id: int
) -> groups.OpinionGroups:
    """Compute the consultation's opinion groups and keep them for :func:`kept_opinion_groups`."""
    key = _key(session, consultation_id, "groups")
    try:
        value = opinion_groups(session, consultation_id)
        store.set(key, json.dumps({"at": time.time(), "groups": value}), ttl=KEPT_FOR)
    finally:
        store.delete(key + ":computing")
    return value
