"""Vote integrity: groups of voters flagged for voting in lockstep, and their members."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from pnyx.kernel.db import Base, BigId, TenantScoped, utcnow


class GroupStatus(enum.StrEnum):
    flagged = "flagged"  # collapsed to one voice in scores
    cleared = "cleared"  # a false alarm, cleared by an admin: counts as ordinary voters


class LockstepGroupRecord(TenantScoped, Base):
    """A group found by :func:`pnyx.moderation.lockstep.find_lockstep_groups`, with its evidence.

    ``evidence``: {"shared": [{"proposal_id", "key", "members"}…], "first_at", "last_at",
    "span_seconds", "edges", "median_covotes", "min_covotes", "median_surprise", "min_surprise",
    "window_seconds"}. A later run that finds mostly the same members updates the row and keeps
    its status, so a cleared group stays cleared.
    """

    __tablename__ = "integrity_groups"
    __table_args__ = (
        Index("ix_integrity_groups_consultation_status", "consultation_id", "status"),
        CheckConstraint("status IN ('flagged', 'cleared')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("consultations.id", ondelete="CASCADE")
    )
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default=GroupStatus.flagged.value)
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    cleared_by: Mapped[str | None] = mapped_column(String(254))
    cleared_at: Mapped[datetime | None]


class LockstepMember(TenantScoped, Base):
    """One voter of a group; ``weight`` = 1 / group size while the group is flagged."""

    __tablename__ = "integrity_group_members"
    __table_args__ = (
        Index("ix_integrity_group_members_consultation", "consultation_id", "participant_id"),
    )

    group_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("integrity_groups.id", ondelete="CASCADE"), primary_key=True
    )
    participant_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True
    )
    consultation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("consultations.id", ondelete="CASCADE")
    )
    weight: Mapped[float] = mapped_column(Float)
