"""The moderation desk's tables: who moderates which tenant, every decision, each tenant's charter.

All three are tenant-owned (``tenant_id``, under RLS). A moderator's assignments are read before
the desk knows which tenants to open: the migration adds a second, read-only policy on
``moderator_assignments`` letting a session read the rows of the staff member it names
(``app.staff_id``, set per transaction by ``TenantSession.bind_staff``), and nothing else.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pnyx.consultations.models import Proposal
from pnyx.kernel.db import Base, BigId, TenantScoped, utcnow


class ModeratorAssignment(TenantScoped, Base):
    """A staff member (moderator or operator) works the queue of this tenant."""

    __tablename__ = "moderator_assignments"
    __table_args__ = (UniqueConstraint("staff_id", "tenant_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    staff_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(254))


class ModerationDecision(TenantScoped, Base):
    """The audit log: one row per decision of the desk, with the proposal before and after.

    Kept when the proposal or the staff member goes (the ids become NULL, the e-mail stays).
    """

    __tablename__ = "moderation_decisions"
    __table_args__ = (
        Index("ix_moderation_decisions_tenant_at", "tenant_id", "at"),
        Index("ix_moderation_decisions_proposal", "proposal_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    proposal_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("proposals.id", ondelete="SET NULL")
    )
    consultation_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("consultations.id", ondelete="SET NULL")
    )
    staff_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    staff_email: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(20))  # accept | refuse | postpone | tag
    before: Mapped[dict] = mapped_column(JSON, default=dict)
    after: Mapped[dict] = mapped_column(JSON, default=dict)
    reason: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class TenantCharter(TenantScoped, Base):
    """The moderation charter a tenant publishes (``/charte``): what its moderators refuse."""

    __tablename__ = "tenant_charters"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    text: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(254))


# The desk's queue, oldest first per status ("next proposal" reads it in order, across the
# moderator's tenants); declared here, on the proposals table, because moderation reads it.
Index(
    "ix_proposals_moderation_queue",
    Proposal.__table__.c.status,
    Proposal.__table__.c.created_at,
    Proposal.__table__.c.id,
)
