"""A tenant's appearance: a built-in pack plus its own overrides, and a logo in storage."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pnyx.kernel.db import Base, BigId, TenantScoped, utcnow


class TenantTheme(TenantScoped, Base):
    __tablename__ = "tenant_themes"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    pack: Mapped[str] = mapped_column(String(40), default="default")
    overrides: Mapped[dict] = mapped_column(JSON, default=dict)
    logo_key: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
