"""Vote integrity: rate limits on votes, proposals and sign-ups; voters who vote in lockstep
found, kept with their evidence, and cleared when an admin calls it a false alarm.

Rate limits are fixed windows counted in the shared store (Redis; process memory on the
embedded default): one counter per (limit, tenant, subject, window), incremented by every
attempt, expiring with its window. The faces call :func:`check` before acting; it raises
``TooManyRequests`` (429, code ``rate_limited``, ``retry_after`` in seconds and the ``limit``
that tripped). Requests from the machine itself (loopback: the demo, tests, benchmarks, a proxy
on the same host that does not pass on the client's address) are not limited per IP, since every
client would share that address; per session and per account limits still apply. The IP is the
connection's address: no X-Forwarded-For is trusted until the app is configured for a proxy.
``RATE_LIMITS`` in the environment overrides the defaults: ``vote_ip=1200/60,signup_ip=off``.

Lockstep: :func:`detect` (the job ``pnyx.moderation.jobs.detect_lockstep``) reads a
consultation's votes, runs :func:`~pnyx.moderation.lockstep.find_lockstep_groups`, keeps the
groups whose members also agree far beyond chance on what they voted together
(:mod:`pnyx.moderation.agreement`: voters a sequence showed the same cards co-vote, but do not
agree more than chance) and stores them with their evidence. A group found again (most of its members in an existing group) updates that
row and keeps its status, so a group an admin cleared stays cleared; a flagged group no longer
found is dropped (its evidence is gone: votes withdrawn or changed). The job runs every
``DETECT_EVERY`` votes a web process takes in for a consultation (through the ``vote_changed``
signal; at most once per ``DETECT_MIN_INTERVAL`` seconds across processes) and on an admin's
request. Scores use the groups through :mod:`pnyx.results.service`: each flagged group counts
as one voice.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import secrets
import threading
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from sqlalchemy import delete, select

from pnyx.consultations.models import Consultation, Proposal, Vote
from pnyx.consultations.signals import vote_changed
from pnyx.kernel.db import TenantSession
from pnyx.kernel.errors import Invalid, NotFound, TooManyRequests
from pnyx.kernel.i18n import N_
from pnyx.kernel.runtime import kernel
from pnyx.kernel.store import Store

from .agreement import MIN_KAPPA, Agreement, find_coordinated
from .integrity_models import GroupStatus, LockstepGroupRecord, LockstepMember
from .lockstep import LockstepGroup

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- rate limits

ACTIONS = ("vote", "proposal", "signup", "profile")
SCOPES = ("ip", "session", "account")


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``limit`` attempts of ``action`` per ``scope`` subject in ``window`` seconds."""

    name: str
    action: str
    scope: str
    limit: int
    window: float


DEFAULT_LIMITS: tuple[RateLimit, ...] = (
    # A sequence card every half second, sustained for a minute, is already no reader.
    RateLimit("vote_session", "vote", "session", 120, 60),
    RateLimit("vote_account", "vote", "account", 120, 60),
    # A household or an office behind one address: room for a few voters at full speed.
    RateLimit("vote_ip", "vote", "ip", 600, 60),
    RateLimit("proposal_account", "proposal", "account", 10, 3600),
    RateLimit("proposal_ip", "proposal", "ip", 30, 3600),
    RateLimit("signup_ip", "signup", "ip", 10, 3600),
    # Giving one's year of birth and postal code (anonymous voters too, each a new participant
    # row): an office behind one address, not a script.
    RateLimit("profile_ip", "profile", "ip", 300, 3600),
)


def parse_limits(spec: str | None, defaults: Iterable[RateLimit] = DEFAULT_LIMITS) -> tuple:
    """The defaults with the overrides of ``spec`` (``name=limit/window_seconds`` or
    ``name=off``, comma-separated; ``off`` alone turns every limit off)."""
    limits = {limit.name: limit for limit in defaults}
    spec = (spec or "").strip()
    if spec.lower() == "off":
        return ()
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, value = item.partition("=")
        name, value = name.strip(), value.strip().lower()
        if name not in limits:
            raise ValueError(f"RATE_LIMITS: unknown limit {name!r}; known: {sorted(limits)}")
        if value == "off":
            del limits[name]
            continue
        count, _, window = value.partition("/")
        try:
            limits[name] = RateLimit(
                name, limits[name].action, limits[name].scope, int(count), float(window)
            )
        except ValueError:
            raise ValueError(f"RATE_LIMITS: {item!r} is not name=limit/seconds") from None
    return tuple(limits.values())


@lru_cache(maxsize=1)
def configured_limits() -> tuple[RateLimit, ...]:
    """The process's limits: the defaults, overridden by ``RATE_LIMITS``."""
    return parse_limits(os.environ.get("RATE_LIMITS"))


def _is_loopback(ip: str | None) -> bool:
    try:
        return ip is not None and ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


def check(
    store: Store,
    action: str,
    *,
    tenant_id: int | None,
    ip: str | None = None,
    session_id: int | None = None,
    account_id: int | None = None,
    limits: Iterable[RateLimit] | None = None,
    now: float | None = None,
) -> None:
    """Count one attempt of ``action``; raise ``TooManyRequests`` when a limit is passed.

    Each subject given (the connection's IP, the anonymous session's participant id, the
    account id) is counted under the limits of its scope; a subject not given is not limited.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown rate-limited action {action!r}")
    subjects = {
        "ip": None if _is_loopback(ip) else ip,
        "session": session_id,
        "account": account_id,
    }
    moment = datetime.now(UTC).timestamp() if now is None else now
    counted: list[tuple[RateLimit, int]] = []
    counters: list[tuple[str, float]] = []
    for limit in configured_limits() if limits is None else limits:
        subject = subjects.get(limit.scope)
        if limit.action != action or subject is None:
            continue
        window = int(moment // limit.window)
        counted.append((limit, window))
        counters.append((f"rl:{limit.name}:{tenant_id or 0}:{subject}:{window}", limit.window))
    tripped: list[tuple[float, RateLimit]] = [
        ((window + 1) * limit.window - moment, limit)
        for (limit, window), count in zip(counted, store.incr_many(counters), strict=True)
        if count > limit.limit
    ]
    if tripped:
        wait, limit = max(tripped, key=lambda item: item[0])
        retry_after = max(1, math.ceil(wait))
        raise TooManyRequests(
            N_("Too many requests: try again in %(n)s seconds.", n=retry_after),
            code="rate_limited",
            retry_after=retry_after,
            limit=limit.name,
        )


# --------------------------------------------------------------------------- lockstep groups

DETECT_EVERY = 500  # votes of a consultation between two detection runs
DETECT_MIN_INTERVAL = 300.0  # seconds: bursts do not queue one run per DETECT_EVERY votes
DETECT_LOCK_TTL = 900.0
SHARED_SHOWN = 50  # shared votes kept in a group's evidence
SAME_GROUP = 0.5  # a group found again: at least this share of its members in the old one


@dataclass(frozen=True, slots=True)
class DetectionRun:
    consultation_id: int
    votes: int
    found: int
    flagged: int
    cleared: int
    dropped: int
    skipped: bool = False


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def consultation_votes(session: TenantSession, consultation_id: int) -> list[tuple]:
    """Every current vote of the consultation as (participant, proposal, key, seconds)."""
    rows = session.execute(
        select(Vote.participant_id, Vote.proposal_id, Vote.key, Vote.updated_at).where(
            Vote.consultation_id == consultation_id
        )
    )
    return [(voter, proposal, key, _epoch(at)) for voter, proposal, key, at in rows]


def _evidence(group: LockstepGroup, agreement: Agreement, window_seconds: float) -> dict:
    return {
        "shared": [
            {"proposal_id": proposal, "key": key, "members": members}
            for proposal, key, members in group.shared[:SHARED_SHOWN]
        ],
        "shared_total": len(group.shared),
        "first_at": _moment(group.first_at).isoformat(),
        "last_at": _moment(group.last_at).isoformat(),
        "span_seconds": round(group.span_seconds),
        "edges": group.edges,
        "median_covotes": group.median_covotes,
        "min_covotes": group.min_covotes,
        "median_surprise": group.median_surprise,
        "min_surprise": group.min_surprise,
        "window_seconds": window_seconds,
        "agreement": round(agreement.rate, 3),
        "chance_agreement": round(agreement.chance, 3),
        "kappa": round(agreement.kappa, 3),
        "pairs_checked": agreement.pairs,
    }


def _match(
    found: list[LockstepGroup], existing: Mapping[int, set[Hashable]]
) -> dict[int, int | None]:
    """Index of each found group → the id of the existing group it continues, if any.

    A found group continues an existing one when at least :data:`SAME_GROUP` of its members
    are in it; each existing group is continued at most once (largest overlaps first).
    """
    pairs = []
    for index, group in enumerate(found):
        members = set(group.members)
        for group_id, old in existing.items():
            overlap = len(members & old)
            if overlap >= SAME_GROUP * len(members):
                pairs.append((-overlap, index, group_id))
    result: dict[int, int | None] = dict.fromkeys(range(len(found)))
    taken: set[int] = set()
    for _, index, group_id in sorted(pairs):
        if result[index] is None and group_id not in taken:
            result[index] = group_id
            taken.add(group_id)
    return result


def store_groups(
    session: TenantSession,
    consultation: Consultation,
    found: list[tuple[LockstepGroup, Agreement]],
    *,
    now: datetime,
    window_seconds: float,
) -> tuple[int, int, int]:
    """Replace the consultation's groups with ``found``, keeping the status of groups found
    again; returns (flagged, cleared, dropped)."""
    records = {
        record.id: record
        for record in session.scalars(
            select(LockstepGroupRecord).where(
                LockstepGroupRecord.consultation_id == consultation.id
            )
        )
    }
    members: dict[int, set[Hashable]] = {group_id: set() for group_id in records}
    for group_id, participant_id in session.execute(
        select(LockstepMember.group_id, LockstepMember.participant_id).where(
            LockstepMember.consultation_id == consultation.id
        )
    ):
        members.setdefault(group_id, set()).add(participant_id)
    matches = _match([group for group, _ in found], members)
    kept: set[int] = set()
    for index, (group, agreement) in enumerate(found):
        record = records.get(matches[index]) if matches[index] is not None else None
        if record is None:
            record = LockstepGroupRecord(
                consultation_id=consultation.id,
                status=GroupStatus.flagged.value,
                detected_at=now,
            )
            session.add(record)
        record.size = group.size
        record.evidence = _evidence(group, agreement, window_seconds)
        record.first_at = _moment(group.first_at)
        record.last_at = _moment(group.last_at)
        record.updated_at = now
        session.flush()
        kept.add(record.id)
        session.execute(delete(LockstepMember).where(LockstepMember.group_id == record.id))
        session.add_all(
            LockstepMember(
                group_id=record.id,
                participant_id=int(member),
                consultation_id=consultation.id,
                weight=1.0 / group.size,
            )
            for member in group.members
        )
    dropped = [
        record.id
        for record in records.values()
        if record.id not in kept and record.status == GroupStatus.flagged
    ]
    if dropped:
        session.execute(delete(LockstepGroupRecord).where(LockstepGroupRecord.id.in_(dropped)))
    session.flush()
    statuses = [
        (records.get(matches[i]).status if matches[i] is not None else GroupStatus.flagged)
        for i in range(len(found))
    ]
    flagged = sum(status == GroupStatus.flagged for status in statuses)
    return flagged, len(found) - flagged, len(dropped)


def detect(
    session: TenantSession,
    consultation: Consultation,
    *,
    now: datetime,
    window_seconds: float = 3 * 3600,
    min_kappa: float = MIN_KAPPA,
    **options,
) -> DetectionRun:
    """Find the consultation's lockstep groups and store them (idempotent); ``options`` go to
    :func:`~pnyx.moderation.lockstep.find_lockstep_groups`."""
    votes = consultation_votes(session, consultation.id)
    found = find_coordinated(votes, window_seconds=window_seconds, min_kappa=min_kappa, **options)
    flagged, cleared, dropped = store_groups(
        session, consultation, found, now=now, window_seconds=window_seconds
    )
    return DetectionRun(consultation.id, len(votes), len(found), flagged, cleared, dropped)


def run_detection(tenant_id: int, consultation_id: int) -> DetectionRun:
    """The job's body: a tenant-bound session of its own, one run at a time per consultation."""
    k = kernel()
    lock = f"integrity:detect-lock:{tenant_id}:{consultation_id}"
    token = secrets.token_hex(8)
    if not k.store.set(lock, token, ttl=DETECT_LOCK_TTL, only_new=True):
        return DetectionRun(consultation_id, 0, 0, 0, 0, 0, skipped=True)
    try:
        with k.db.scope(tenant_id=tenant_id) as session:
            consultation = session.get(Consultation, consultation_id)
            if consultation is None:
                return DetectionRun(consultation_id, 0, 0, 0, 0, 0, skipped=True)
            result = detect(session, consultation, now=datetime.now(UTC))
        log.info("lockstep detection: %s", result)
        return result
    finally:
        k.store.compare_and_delete(lock, token)


def request_detection(tenant_id: int, consultation_id: int) -> None:
    """Enqueue a detection run (the admin's button; the signal below)."""
    kernel().jobs.enqueue(
        "pnyx.moderation.jobs.detect_lockstep",
        tenant_id=tenant_id,
        consultation_id=consultation_id,
    )


_votes_seen: Counter[tuple[int, int]] = Counter()  # this process's votes, per consultation
_votes_seen_lock = threading.Lock()


def _on_vote(consultation_id: int, *, tenant_id: int, **_kwargs) -> None:
    """Every DETECT_EVERY votes this process takes in for a consultation (and not more often
    than the interval, across processes), a detection run. Counted in the process, not in the
    store: a store round trip in every vote for a trigger that the interval bounds anyway (a
    few processes each counting to DETECT_EVERY only delay a run of a quiet consultation).
    Best effort: the vote is already committed, so nothing here may fail it."""
    key = (tenant_id, consultation_id)
    with _votes_seen_lock:
        _votes_seen[key] += 1
        due = _votes_seen[key] % DETECT_EVERY == 0
    if not due:
        return
    try:
        throttle = f"integrity:detect-recent:{tenant_id}:{consultation_id}"
        if kernel().store.set(throttle, "1", ttl=DETECT_MIN_INTERVAL, only_new=True):
            request_detection(tenant_id, consultation_id)
    except Exception:  # noqa: BLE001 — a vote never fails for its follow-up work
        log.exception("could not trigger lockstep detection for %s", consultation_id)


vote_changed.connect(_on_vote, weak=False)


# --------------------------------------------------------------------------- the admin's view


@dataclass(frozen=True)
class GroupView:
    record: LockstepGroupRecord
    members: list[int]
    shared: list[dict]  # evidence's shared votes, each with the proposal's text


def groups_of(
    session: TenantSession, consultation_id: int, *, status: str | None = None
) -> list[GroupView]:
    """The consultation's groups, largest first, with their members and the shared votes."""
    if status is not None and status not in GroupStatus.__members__:
        raise Invalid(
            N_("Status is flagged or cleared."),
            code="invalid_status",
            errors={"status": [N_("flagged or cleared.")]},
        )
    query = select(LockstepGroupRecord).where(
        LockstepGroupRecord.consultation_id == consultation_id
    )
    if status is not None:
        query = query.where(LockstepGroupRecord.status == status)
    records = list(
        session.scalars(query.order_by(LockstepGroupRecord.size.desc(), LockstepGroupRecord.id))
    )
    if not records:
        return []
    members: dict[int, list[int]] = {record.id: [] for record in records}
    for group_id, participant_id in session.execute(
        select(LockstepMember.group_id, LockstepMember.participant_id)
        .where(LockstepMember.group_id.in_(list(members)))
        .order_by(LockstepMember.participant_id)
    ):
        members[group_id].append(participant_id)
    proposal_ids = {
        item["proposal_id"] for record in records for item in record.evidence.get("shared", [])
    }
    texts = dict(
        session.execute(
            select(Proposal.id, Proposal.content).where(Proposal.id.in_(proposal_ids))
        ).all()
    )
    return [
        GroupView(
            record,
            members[record.id],
            [
                {**item, "content": texts.get(item["proposal_id"], "")}
                for item in record.evidence.get("shared", [])
            ],
        )
        for record in records
    ]


def get_group(session: TenantSession, consultation_id: int, group_id: int) -> LockstepGroupRecord:
    record = session.get(LockstepGroupRecord, group_id)
    if record is None or record.consultation_id != consultation_id:
        raise NotFound(N_("No such group."), code="group_not_found")
    return record


def clear_group(
    session: TenantSession, consultation_id: int, group_id: int, *, by: str, now: datetime
) -> LockstepGroupRecord:
    """Call a group a false alarm: its members count as ordinary voters again, and it stays
    cleared when later runs find it again (idempotent)."""
    record = get_group(session, consultation_id, group_id)
    if record.status != GroupStatus.cleared:
        record.status = GroupStatus.cleared.value
        record.cleared_by = by
        record.cleared_at = now
        session.flush()
    return record
