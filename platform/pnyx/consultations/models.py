"""Consultations: the question, its proposals, the participants, their votes and the counters."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from pnyx.identity.models import AGE_BANDS, TERRITORIES
from pnyx.kernel.db import Base, BigId, TenantScoped, utcnow


class Visibility(enum.StrEnum):
    public = "public"
    restricted = "restricted"  # the tenant's signed-in members only


class ProposalStatus(enum.StrEnum):
    pending = "pending"
    accepted = "accepted"
    refused = "refused"
    postponed = "postponed"
    archived = "archived"


class VoteKey(enum.StrEnum):
    agree = "agree"
    disagree = "disagree"
    neutral = "neutral"


# Qualifications of each key, in display order, with their bit in ``Vote.qualifications``.
QUALIFICATIONS: dict[str, tuple[str, ...]] = {
    "agree": ("likeIt", "doable", "platitudeAgree"),
    "disagree": ("noWay", "impossible", "platitudeDisagree"),
    "neutral": ("doNotUnderstand", "noOpinion", "doNotCare"),
}
QUALIFICATION_BITS: dict[str, int] = {
    q: 1 << i for i, q in enumerate(q for key in QUALIFICATIONS.values() for q in key)
}
COUNTED_KEYS: tuple[str, ...] = ("agree", "disagree", "neutral", *QUALIFICATION_BITS)

SEGMENTS: tuple[str, ...] = (
    "all",
    *(f"territory:{t}" for t in TERRITORIES),
    *(f"age:{a}" for a in AGE_BANDS),
)


def column_name(key: str, trusted: bool) -> str:
    """The counter column of a vote key or qualification: ``trusted_likeit``, ``raw_agree``…"""
    return f"{'trusted' if trusted else 'raw'}_{key.lower()}"


class Consultation(TenantScoped, Base):
    __tablename__ = "consultations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "slug"),
        CheckConstraint("visibility IN ('public', 'restricted')", name="visibility"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80))
    question: Mapped[str] = mapped_column(String(300))
    proposal_prefix: Mapped[str] = mapped_column(String(40), default="Il faut")
    context: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(5), default="fr")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    visibility: Mapped[str] = mapped_column(String(20), default=Visibility.public.value)
    goal_participants: Mapped[int] = mapped_column(Integer, default=0)
    goal_proposals: Mapped[int] = mapped_column(Integer, default=0)
    goal_votes: Mapped[int] = mapped_column(Integer, default=0)
    # [{"kind": "consultation"|"results"|"workshops"|"action_plan", "title": str, "date": "YYYY-MM-DD"}]
    steps: Mapped[list] = mapped_column(JSON, default=list)
    # Per-consultation settings of the other rooms (sequence size, rotation strategy, …).
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def status_at(self, now: datetime) -> str:
        return consultation_status(self.starts_at, self.ends_at, now)


class ConsultationHead(NamedTuple):
    """What the hot paths (a vote, a sequence) read of a consultation, as plain values: read in
    the same round trip as the rest of their context instead of loading the model."""

    id: int
    tenant_id: int
    visibility: str
    starts_at: datetime
    ends_at: datetime
    settings: dict | None = None

    def status_at(self, now: datetime) -> str:
        return consultation_status(self.starts_at, self.ends_at, now)


def consultation_status(starts_at: datetime, ends_at: datetime, now: datetime) -> str:
    """upcoming before its start, open until its end, then finished."""
    if now < starts_at:
        return "upcoming"
    if now >= ends_at:
        return "finished"
    return "open"


class Tag(TenantScoped, Base):
    """A theme of a consultation, given to proposals by moderators."""

    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("consultation_id", "slug"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    slug: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30), default="theme")


class Proposal(TenantScoped, Base):
    __tablename__ = "proposals"
    __table_args__ = (
        Index("ix_proposals_consultation_status", "consultation_id", "status", "id"),
        CheckConstraint(
            "status IN ('pending', 'accepted', 'refused', 'postponed', 'archived')", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("consultations.id", ondelete="CASCADE")
    )
    author_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("participants.id", ondelete="SET NULL"), index=True
    )
    content: Mapped[str] = mapped_column(String(140))
    original_content: Mapped[str | None] = mapped_column(String(140))
    language: Mapped[str] = mapped_column(String(5), default="fr")
    status: Mapped[str] = mapped_column(String(20), default=ProposalStatus.pending.value)
    refusal_reason: Mapped[str | None] = mapped_column(String(40))
    refusal_note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(254))


class ProposalTag(TenantScoped, Base):
    __tablename__ = "proposal_tags"

    proposal_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Vote(TenantScoped, Base):
    """One voter's vote on one proposal, with the segment the voter was in when voting."""

    __tablename__ = "votes"
    __table_args__ = (
        UniqueConstraint("proposal_id", "participant_id"),
        CheckConstraint("key IN ('agree', 'disagree', 'neutral')", name="key"),
        Index("ix_votes_participant", "participant_id", "consultation_id"),
        Index("ix_votes_consultation_participant", "consultation_id", "participant_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("consultations.id", ondelete="CASCADE")
    )
    proposal_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("proposals.id", ondelete="CASCADE")
    )
    participant_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("participants.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(10))
    qualifications: Mapped[int] = mapped_column(Integer, default=0)  # QUALIFICATION_BITS
    trusted: Mapped[bool] = mapped_column(Boolean, default=False)
    territory: Mapped[str] = mapped_column(String(10), default="unknown")
    age_band: Mapped[str] = mapped_column(String(10), default="unknown")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# ``raw_agree`` … ``trusted_donotcare``: one integer column per counted key, raw and trusted.
CounterColumns = type(
    "CounterColumns",
    (),
    {
        column_name(key, trusted): mapped_column(Integer, default=0, nullable=False)
        for trusted in (False, True)
        for key in COUNTED_KEYS
    },
)


class ProposalCounter(CounterColumns, TenantScoped, Base):
    """Vote counters of one proposal in one segment, raw and trusted, per key and qualification.

    One row per (proposal, segment), created with the proposal; a vote changes three rows (all,
    its territory, its age band) in one UPDATE with relative increments, so concurrent votes never
    lose a count.
    """

    __tablename__ = "proposal_counters"
    __table_args__ = (
        UniqueConstraint("proposal_id", "segment"),
        Index("ix_proposal_counters_consultation_segment", "consultation_id", "segment"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("consultations.id", ondelete="CASCADE")
    )
    proposal_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("proposals.id", ondelete="CASCADE")
    )
    segment: Mapped[str] = mapped_column(String(24))

    def counts(self, trusted: bool = True) -> dict[str, int]:
        return {key: getattr(self, column_name(key, trusted)) for key in COUNTED_KEYS}
