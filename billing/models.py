"""A tenant's coalition: its partners, in tiers, with their logos in storage."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pnyx.kernel.db import Base, BigId, TenantScoped, utcnow

# The tiers of a coalition, highest first. Founding partners commit for several years (about
# 100,000 EUR a year for three years at Make.org's grandes causes); associate partners give
# less, once.
TIERS = ("founding", "associate")


class Partner(TenantScoped, Base):
    """An organisation that supports the tenant's consultations, shown on their homes."""

    __tablename__ = "partners"
    __table_args__ = (
        CheckConstraint("tier IN ('founding', 'associate')", name="tier"),
        Index("ix_partners_tenant_tier_position", "tenant_id", "tier", "position"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    tier: Mapped[str] = mapped_column(String(20))
    website_url: Mapped[str | None] = mapped_column(String(300))
    # The logo as stored (a PNG made from the upload), under public/<tenant_id>/partners/.
    logo_key: Mapped[str | None] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer, default=0)  # order within the tier
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
