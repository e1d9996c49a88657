"""Votes and qualifications, and the counters that must always equal the votes table.

The hot path of the platform. A first vote (the common case) is one statement: INSERT … ON
CONFLICT DO NOTHING of the vote and, only if it inserted, one relative UPDATE of the proposal's
counter rows (all, the voter's territory, the voter's age band) — on PostgreSQL both in one
round trip (a data-modifying CTE). When the voter already voted, a locked read of the previous
vote, its update and the counters' relative UPDATE follow. Relative increments under the vote
row's lock (or its fresh insert) mean concurrent votes never lose or double a count.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol

from sqlalchemy import (
    BigInteger,
    Boolean,
    Integer,
    String,
    TextClause,
    column,
    delete,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Update

from pnyx.identity.models import Participant
from pnyx.identity.participants import VoterHead, age_band, update_profile
from pnyx.kernel.db import TenantSession, UTCDateTime, on_commit
from pnyx.kernel.errors import Conflict, Invalid, NotFound
from pnyx.kernel.i18n import N_

from .models import (
    COUNTED_KEYS,
    QUALIFICATION_BITS,
    QUALIFICATIONS,
    Consultation,
    ConsultationHead,
    Proposal,
    ProposalCounter,
    ProposalStatus,
    Vote,
    VoteKey,
    column_name,
)
from .signals import vote_changed


class ConsultationLike(Protocol):
    id: int
    tenant_id: int

    def status_at(self, now: datetime) -> str: ...


class VoterLike(Protocol):
    id: int
    territory: str | None
    birth_year: int | None


class ProposalLike(Protocol):
    id: int
    consultation_id: int
    status: str


class BallotProposal(NamedTuple):
    id: int
    consultation_id: int
    status: str
    author_id: int | None


class Ballot(NamedTuple):
    """A vote's context, read in one round trip: the proposal, its consultation, the voter (None
    when not found) and the trust of the voter's vote on it (None: no vote yet)."""

    proposal: BallotProposal
    consultation: ConsultationHead
    voter: VoterHead | None
    previous_trusted: bool | None


# Plain SQL, as the other statements of the vote path: the ORM's statement handling costs
# several times this query. The tenant is explicit (and row-level security checks it again).
_BALLOT_SQL = """
SELECT p.id, p.consultation_id, p.status, p.author_id,
       c.tenant_id, c.visibility, c.starts_at, c.ends_at,
       pa.id, pa.account_id, pa.territory, pa.birth_year,
       v.id, v.trusted
FROM proposals p
JOIN consultations c ON c.id = p.consultation_id AND c.tenant_id = p.tenant_id
LEFT JOIN participants pa ON pa.{voter_column} = :voter AND pa.tenant_id = p.tenant_id
LEFT JOIN votes v
  ON v.proposal_id = p.id AND v.participant_id = pa.id AND v.tenant_id = p.tenant_id
WHERE p.id = :proposal_id AND p.tenant_id = :tenant_id
"""
# The result's types, column by column: UTC datetimes and booleans on every backend.
_BALLOT_TYPES = (
    *(BigInteger(), BigInteger(), String(), BigInteger()),
    *(BigInteger(), String(), UTCDateTime(), UTCDateTime()),
    *(BigInteger(), BigInteger(), String(), Integer()),
    *(BigInteger(), Boolean()),
)


def _ballot_statement(voter_column: str) -> TextClause:
    # Matched by position (the SQL's names repeat, and are not ours to rely on).
    return text(_BALLOT_SQL.format(voter_column=voter_column)).columns(
        *(column(f"c{i}", type_) for i, type_ in enumerate(_BALLOT_TYPES))
    )


_BALLOT_BY_PARTICIPANT = _ballot_statement("id")
_BALLOT_BY_ACCOUNT = _ballot_statement("account_id")


def read_ballot(
    session: TenantSession,
    proposal_id: int,
    *,
    participant_id: int | None = None,
    account_id: int | None = None,
) -> Ballot | None:
    """The proposal (None: not in this session's tenant), its consultation, the voter — the
    anonymous participant ``participant_id`` or the participant of ``account_id`` — and their
    previous vote on it, in one round trip."""
    tenant_id = session.tenant_id
    if tenant_id is None:
        return None
    if account_id is not None:
        statement, voter = _BALLOT_BY_ACCOUNT, account_id
    else:
        statement, voter = _BALLOT_BY_PARTICIPANT, participant_id
    row = (
        session.connection()
        .execute(statement, {"proposal_id": proposal_id, "tenant_id": tenant_id, "voter": voter})
        .first()
    )
    if row is None:
        return None
    (pid, cid, status, author, tenant, visibility, starts, ends) = row[:8]
    (voter_id, account, territory, birth, vote_id, trusted) = row[8:]
    return Ballot(
        BallotProposal(pid, cid, status, author),
        ConsultationHead(cid, tenant, visibility, starts, ends),
        VoterHead(voter_id, account, territory, birth) if voter_id is not None else None,
        None if vote_id is None else bool(trusted),
    )


@dataclass(frozen=True)
class VoteState:
    proposal_id: int
    key: str | None
    qualifications: tuple[str, ...]
    trusted: bool
    changed: bool


def qualification_names(bits: int) -> tuple[str, ...]:
    return tuple(q for q, bit in QUALIFICATION_BITS.items() if bits & bit)


def _check_input(key: object, qualifications: object) -> tuple[str, int]:
    if key not in VoteKey.__members__:
        raise Invalid(
            N_("A vote is agree, disagree or neutral."),
            code="unknown_vote_key",
            errors={"key": [N_("A vote is agree, disagree or neutral.")]},
        )
    if qualifications is None:
        qualifications = []
    if not isinstance(qualifications, list | tuple) or len(qualifications) > 3:
        raise Invalid(
            N_("A list of qualifications."),
            code="invalid_qualification",
            errors={"qualifications": [N_("A list.")]},
        )
    allowed = QUALIFICATIONS[key]
    wrong = [q for q in qualifications if q not in allowed]
    if wrong:
        raise Invalid(
            N_("Qualifications of '%(key)s' are %(choices)s.", key=key, choices=", ".join(allowed)),
            code="invalid_qualification",
            errors={
                "qualifications": [
                    N_(
                        "Not a qualification of '%(key)s': %(wrong)s.",
                        key=key,
                        wrong=", ".join(map(str, wrong)),
                    )
                ]
            },
        )
    bits = 0
    for q in qualifications:
        bits |= QUALIFICATION_BITS[q]
    return str(key), bits


def _votable(
    session: TenantSession,
    consultation: ConsultationLike,
    proposal_id: int,
    now: datetime,
    proposal: ProposalLike | None = None,
) -> None:
    if proposal is not None and proposal.id == proposal_id:
        # Already read in this transaction by the caller: no second read of its status.
        status = proposal.status if proposal.consultation_id == consultation.id else None
    else:
        status = session.scalar(
            select(Proposal.status).where(
                Proposal.id == proposal_id, Proposal.consultation_id == consultation.id
            )
        )
    if status is None:
        raise NotFound(N_("No such proposal."), code="proposal_not_found")
    if status != ProposalStatus.accepted:
        raise Conflict(
            N_("This proposal is %(status)s: it cannot be voted on.", status=N_(status)),
            code="proposal_not_votable",
        )
    if consultation.status_at(now) != "open":
        raise Conflict(N_("This consultation is not open for votes."), code="consultation_closed")


def _contributions(
    key: str, bits: int, trusted: bool, territory: str, band: str
) -> dict[str, Counter]:
    """Counter columns +1 per segment for one vote."""
    columns = [key, *qualification_names(bits)]
    delta = Counter({column_name(c, False): 1 for c in columns})
    if trusted:
        delta.update({column_name(c, True): 1 for c in columns})
    return {segment: Counter(delta) for segment in ("all", f"territory:{territory}", f"age:{band}")}


def _counter_updates(
    proposal_id: int, old: dict[str, Counter], new: dict[str, Counter]
) -> list[Update]:
    """One relative UPDATE per distinct delta (a new vote: one UPDATE of its three rows)."""
    by_delta: dict[tuple, list[str]] = {}
    for segment in old.keys() | new.keys():
        delta = Counter(new.get(segment, {}))
        delta.subtract(old.get(segment, {}))
        items = tuple(sorted((c, n) for c, n in delta.items() if n))
        if items:
            by_delta.setdefault(items, []).append(segment)
    return [
        update(ProposalCounter)
        .where(ProposalCounter.proposal_id == proposal_id, ProposalCounter.segment.in_(segments))
        .values({c: getattr(ProposalCounter, c) + n for c, n in items})
        .execution_options(synchronize_session=False)
        for items, segments in sorted(by_delta.items(), key=lambda item: sorted(item[1]))
    ]


def _apply(
    session: TenantSession, proposal_id: int, old: dict[str, Counter], new: dict[str, Counter]
) -> None:
    statements = _counter_updates(proposal_id, old, new)
    if statements:
        _lock_counters(session, proposal_id)
    for statement in statements:
        session.execute(statement)


# Every writer of a proposal's counter rows first takes this transaction-level advisory lock
# (the first vote's statement too, see ``_COUNTED_INSERT``): without it, two votes on the same
# proposal updating its rows in different orders (each UPDATE's scan order, which may be
# physical) deadlock, and PostgreSQL kills one. Cheaper than locking the rows in order (no
# tuple is written), and it serialises nothing more: every vote updates the proposal's "all"
# row anyway. A transaction writing the counters of several proposals takes them by increasing
# proposal id (``place_earlier_votes``). The key's high bits name the lock's kind.
_COUNTER_LOCK = 0x7079_0001 << 32


def _lock_counters(session: TenantSession, proposal_id: int) -> None:
    if session.get_bind().dialect.name == "postgresql":  # SQLite: one writer at a time
        session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _COUNTER_LOCK + proposal_id}
        )


def _announce(session: TenantSession, consultation: ConsultationLike, proposal_id: int) -> None:
    on_commit(
        session,
        lambda: vote_changed.send(
            consultation.id, tenant_id=consultation.tenant_id, proposal_id=proposal_id
        ),
    )


def _locked_vote(session: TenantSession, proposal_id: int, participant_id: int) -> Vote | None:
    return session.scalar(
        select(Vote)
        .where(Vote.proposal_id == proposal_id, Vote.participant_id == participant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _insert_vote(session: TenantSession, values: dict) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; False when a concurrent request inserted it first."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(Vote)
        .values(values)
        .on_conflict_do_nothing(index_elements=["proposal_id", "participant_id"])
        .returning(Vote.id)
    )
    return session.execute(statement).first() is not None


def _insert_counted_vote(session: TenantSession, values: dict, new: dict[str, Counter]) -> bool:
    """Insert a first vote and count it; False (nothing written) when the voter already voted.

    On PostgreSQL one round trip (see :data:`_COUNTED_INSERT`); elsewhere the same two
    statements one after the other.
    """
    proposal_id = values["proposal_id"]
    if session.get_bind().dialect.name != "postgresql":
        if not _insert_vote(session, values):
            return False
        _apply(session, proposal_id, {}, new)
        return True
    if values["created_at"].tzinfo is None or values["updated_at"].tzinfo is None:
        raise ValueError("naive datetime: Pnyx stores aware UTC times only")
    delta = next(iter(new.values()))
    if any(other != delta for other in new.values()):
        raise ValueError("a first vote adds the same to each of its segments")
    params = dict(values, segments=sorted(new))
    params.update({f"d_{name}": delta.get(name, 0) for name in _COUNTER_COLUMNS})
    return session.connection().execute(_COUNTED_INSERT, params).first() is not None


_VOTE_COLUMNS = (
    "tenant_id",
    "consultation_id",
    "proposal_id",
    "participant_id",
    "key",
    "qualifications",
    "trusted",
    "territory",
    "age_band",
    "created_at",
    "updated_at",
)
_COUNTER_COLUMNS = tuple(column_name(k, t) for t in (False, True) for k in COUNTED_KEYS)

# ``WITH new_vote AS (INSERT … ON CONFLICT DO NOTHING RETURNING id), counted AS (UPDATE
# proposal_counters … WHERE … AND EXISTS (SELECT FROM new_vote) AND pg_advisory_xact_lock(…)
# IS NOT NULL) SELECT id FROM new_vote``: a first vote and its counts in one round trip, the
# counter rows updated under the proposal's advisory lock (``_lock_counters``: an uncorrelated
# condition, evaluated once before the scan). One text for every vote (each counter column
# gets its increment, 0 or 1, as a parameter), so that each connection prepares it once; the
# UPDATE rewrites the whole row anyway. The tenant is explicit (row-level security checks it
# again).
_COUNTED_INSERT = text(
    f"WITH new_vote AS (INSERT INTO votes ({', '.join(_VOTE_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in _VOTE_COLUMNS)}) "
    "ON CONFLICT (proposal_id, participant_id) DO NOTHING RETURNING id), "
    "counted AS (UPDATE proposal_counters SET "
    + ", ".join(f"{name} = {name} + :d_{name}" for name in _COUNTER_COLUMNS)
    + " WHERE proposal_id = :proposal_id AND tenant_id = :tenant_id "
    "AND segment = ANY(:segments) AND EXISTS (SELECT 1 FROM new_vote) "
    f"AND (SELECT pg_advisory_xact_lock({_COUNTER_LOCK} + :proposal_id)) IS NOT NULL) "
    "SELECT id FROM new_vote"
)


def cast(
    session: TenantSession,
    consultation: ConsultationLike,
    proposal_id: int,
    voter: VoterLike,
    key: object,
    qualifications: object,
    *,
    trusted: bool,
    now: datetime,
    proposal: ProposalLike | None = None,
) -> VoteState:
    """Vote or change one's vote (idempotent: the same vote twice changes nothing).

    ``consultation``, ``voter``: the models, or what :func:`read_ballot` read of them.
    ``proposal``: the proposal as the caller already read it in this transaction, if it did
    (saves reading its status again).
    """
    key, bits = _check_input(key, qualifications)
    _votable(session, consultation, proposal_id, now, proposal)
    territory, band = voter.territory or "unknown", age_band(voter.birth_year, now)
    new = _contributions(key, bits, trusted, territory, band)
    values = {
        "tenant_id": consultation.tenant_id,
        "consultation_id": consultation.id,
        "proposal_id": proposal_id,
        "participant_id": voter.id,
        "key": key,
        "qualifications": bits,
        "trusted": trusted,
        "territory": territory,
        "age_band": band,
        "created_at": now,
        "updated_at": now,
    }
    vote = None
    for _attempt in range(3):
        # Insert first: a first vote is then one statement, and an existing vote is left as is
        # (ON CONFLICT DO NOTHING waits for a concurrent insert of the same vote to finish).
        if _insert_counted_vote(session, values, new):
            _announce(session, consultation, proposal_id)
            return VoteState(proposal_id, key, qualification_names(bits), trusted, True)
        vote = _locked_vote(session, proposal_id, voter.id)
        if vote is not None:
            break
        # Withdrawn by a concurrent request between the two statements: insert again.
    if vote is None:
        raise Conflict(N_("Your vote changed meanwhile: try again."), code="vote_conflict")
    if (vote.key, vote.qualifications, vote.trusted) == (key, bits, trusted):
        return VoteState(proposal_id, key, qualification_names(bits), trusted, False)
    old = _contributions(vote.key, vote.qualifications, vote.trusted, vote.territory, vote.age_band)
    vote.key, vote.qualifications, vote.trusted = key, bits, trusted
    vote.territory, vote.age_band, vote.updated_at = territory, band, now
    session.flush()
    _apply(session, proposal_id, old, new)
    _announce(session, consultation, proposal_id)
    return VoteState(proposal_id, key, qualification_names(bits), trusted, True)


def remove(
    session: TenantSession,
    consultation: Consultation,
    proposal_id: int,
    voter: Participant,
    *,
    now: datetime,
) -> VoteState:
    """Withdraw one's vote (idempotent)."""
    _votable(session, consultation, proposal_id, now)
    vote = _locked_vote(session, proposal_id, voter.id)
    if vote is None:
        return VoteState(proposal_id, None, (), False, False)
    old = _contributions(vote.key, vote.qualifications, vote.trusted, vote.territory, vote.age_band)
    session.execute(
        delete(Vote).where(Vote.id == vote.id).execution_options(synchronize_session=False)
    )
    session.expunge(vote)
    _apply(session, proposal_id, old, {})
    _announce(session, consultation, proposal_id)
    return VoteState(proposal_id, None, (), False, True)


def give_segment(
    session: TenantSession,
    voter: Participant,
    now: datetime,
    *,
    birth_year: object = None,
    postal_code: object = None,
) -> Participant:
    """The voter's year of birth and/or postal code (checked, as ``update_profile`` does), and
    their earlier votes placed in the segment these make known (:func:`place_earlier_votes`)."""
    update_profile(session, voter, now, birth_year=birth_year, postal_code=postal_code)
    place_earlier_votes(session, voter)
    return voter


def place_earlier_votes(session: TenantSession, voter: Participant) -> int:
    """Once a participant has told their postal code or year of birth, the votes they cast while
    it was unknown move from the "unknown" segment to theirs; returns how many moved.

    Only what was unknown is filled in: a vote keeps the territory and age band it was cast
    with (someone who moves house does not move their past votes). The age band is the one of
    the vote's own date. Counters move with the votes, under the votes' row locks, as a changed
    vote's do (:func:`cast`).
    """
    territory = voter.territory or "unknown"
    if territory == "unknown" and voter.birth_year is None:
        return 0
    unknown = []
    if territory != "unknown":
        unknown.append(Vote.territory == "unknown")
    if voter.birth_year is not None:
        unknown.append(Vote.age_band == "unknown")
    earlier = session.scalars(
        select(Vote)
        .where(Vote.participant_id == voter.id, or_(*unknown))
        .order_by(Vote.proposal_id)  # counters locked by increasing proposal id (_lock_counters)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    moved: set[tuple[_ConsultationRef, int]] = set()
    for vote in earlier:
        old = _contributions(
            vote.key, vote.qualifications, vote.trusted, vote.territory, vote.age_band
        )
        if vote.territory == "unknown":
            vote.territory = territory
        if vote.age_band == "unknown":
            vote.age_band = age_band(voter.birth_year, vote.created_at)
        new = _contributions(
            vote.key, vote.qualifications, vote.trusted, vote.territory, vote.age_band
        )
        session.flush()
        _apply(session, vote.proposal_id, old, new)
        moved.add((_ConsultationRef(vote.consultation_id, vote.tenant_id), vote.proposal_id))
    for consultation, proposal_id in sorted(moved):
        _announce(session, consultation, proposal_id)
    return len(earlier)


class _ConsultationRef(NamedTuple):
    """What :func:`_announce` needs of a consultation."""

    id: int
    tenant_id: int


def votes_of(
    session: TenantSession, voter: Participant, proposal_ids: list[int]
) -> dict[int, VoteState]:
    if not proposal_ids:
        return {}
    rows = session.execute(
        select(Vote.proposal_id, Vote.key, Vote.qualifications, Vote.trusted).where(
            Vote.participant_id == voter.id, Vote.proposal_id.in_(proposal_ids)
        )
    )
    return {p: VoteState(p, k, qualification_names(b), t, False) for p, k, b, t in rows}


def counters(
    session: TenantSession, proposal_ids: list[int], segment: str = "all"
) -> dict[int, ProposalCounter]:
    if not proposal_ids:
        return {}
    rows = session.scalars(
        select(ProposalCounter).where(
            ProposalCounter.proposal_id.in_(proposal_ids), ProposalCounter.segment == segment
        )
    )
    return {row.proposal_id: row for row in rows}
