"""Votes and qualifications, and the counters that must always equal the votes table.

The hot path of the platform: a vote is one locked read of the voter's previous vote, one
insert-or-update of the vote, and one relative UPDATE of the proposal's counter rows (all, the
voter's territory, the voter's age band). Relative increments under the vote row's lock mean
concurrent votes never lose or double a count.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from pnyx.identity.models import Participant
from pnyx.identity.participants import age_band
from pnyx.kernel.db import TenantSession
from pnyx.kernel.errors import Conflict, Invalid, NotFound

from .models import (
    QUALIFICATION_BITS,
    QUALIFICATIONS,
    Consultation,
    Proposal,
    ProposalCounter,
    ProposalStatus,
    Vote,
    VoteKey,
    column_name,
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
            "A vote is agree, disagree or neutral.",
            code="unknown_vote_key",
            errors={"key": ["agree, disagree or neutral."]},
        )
    if qualifications is None:
        qualifications = []
    if not isinstance(qualifications, list | tuple) or len(qualifications) > 3:
        raise Invalid(
            "A list of qualifications.",
            code="invalid_qualification",
            errors={"qualifications": ["A list."]},
        )
    allowed = QUALIFICATIONS[key]
    wrong = [q for q in qualifications if q not in allowed]
    if wrong:
        raise Invalid(
            f"Qualifications of '{key}' are {', '.join(allowed)}.",
            code="invalid_qualification",
            errors={
                "qualifications": [f"Not a qualification of '{key}': {', '.join(map(str, wrong))}."]
            },
        )
    bits = 0
    for q in qualifications:
        bits |= QUALIFICATION_BITS[q]
    return str(key), bits


def _votable(
    session: TenantSession, consultation: Consultation, proposal_id: int, now: datetime
) -> None:
    status = session.scalar(
        select(Proposal.status).where(
            Proposal.id == proposal_id, Proposal.consultation_id == consultation.id
        )
    )
    if status is None:
        raise NotFound("No such proposal.", code="proposal_not_found")
    if status != ProposalStatus.accepted:
        raise Conflict(
            f"This proposal is {status}: it cannot be voted on.", code="proposal_not_votable"
        )
    if consultation.status_at(now) != "open":
        raise Conflict("This consultation is not open for votes.", code="consultation_closed")


def _contributions(
    key: str, bits: int, trusted: bool, territory: str, band: str
) -> dict[str, Counter]:
    """Counter columns +1 per segment for one vote."""
    columns = [key, *qualification_names(bits)]
    delta = Counter({column_name(c, False): 1 for c in columns})
    if trusted:
        delta.update({column_name(c, True): 1 for c in columns})
    return {segment: Counter(delta) for segment in ("all", f"territory:{territory}", f"age:{band}")}


def _apply(
    session: TenantSession, proposal_id: int, old: dict[str, Counter], new: dict[str, Counter]
) -> None:
    by_delta: dict[tuple, list[str]] = {}
    for segment in old.keys() | new.keys():
        delta = Counter(new.get(segment, {}))
        delta.subtract(old.get(segment, {}))
        items = tuple(sorted((c, n) for c, n in delta.items() if n))
        if items:
            by_delta.setdefault(items, []).append(segment)
    for items, segments in by_delta.items():
        session.execute(
            update(ProposalCounter)
            .where(
                ProposalCounter.proposal_id == proposal_id, ProposalCounter.segment.in_(segments)
            )
            .values({c: getattr(ProposalCounter, c) + n for c, n in items})
            .execution_options(synchronize_session=False)
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


def cast(
    session: TenantSession,
    consultation: Consultation,
    proposal_id: int,
    voter: Participant,
    key: object,
    qualifications: object,
    *,
    trusted: bool,
    now: datetime,
) -> VoteState:
    """Vote or change one's vote (idempotent: the same vote twice changes nothing)."""
    key, bits = _check_input(key, qualifications)
    _votable(session, consultation, proposal_id, now)
    territory, band = voter.territory or "unknown", age_band(voter.birth_year, now)
    new = _contributions(key, bits, trusted, territory, band)
    vote = _locked_vote(session, proposal_id, voter.id)
    if vote is None:
        inserted = _insert_vote(
            session,
            {
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
            },
        )
        if inserted:
            _apply(session, proposal_id, {}, new)
            return VoteState(proposal_id, key, qualification_names(bits), trusted, True)
        vote = _locked_vote(session, proposal_id, voter.id)
    if (vote.key, vote.qualifications, vote.trusted) == (key, bits, trusted):
        return VoteState(proposal_id, key, qualification_names(bits), trusted, False)
    old = _contributions(vote.key, vote.qualifications, vote.trusted, vote.territory, vote.age_band)
    vote.key, vote.qualifications, vote.trusted = key, bits, trusted
    vote.territory, vote.age_band, vote.updated_at = territory, band, now
    session.flush()
    _apply(session, proposal_id, old, new)
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
    return VoteState(proposal_id, None, (), False, True)


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
