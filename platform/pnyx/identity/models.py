"""Accounts (per tenant) and platform staff (operators, moderators)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from pnyx.kernel.db import Base, BigId, TenantScoped, utcnow


class Role(enum.StrEnum):
    operator = "operator"  # platform staff: creates tenants, watches health
    moderator = "moderator"  # platform staff: the shared moderation desk
    tenant_admin = "tenant_admin"
    partner_admin = "partner_admin"
    participant = "participant"


TERRITORIES = ("rural", "medium", "urban", "unknown")
AGE_BANDS = ("under_25", "25_34", "35_49", "50_64", "65_plus", "unknown")

TENANT_ROLES = (Role.tenant_admin, Role.partner_admin, Role.participant)
STAFF_ROLES = (Role.operator, Role.moderator)


class Account(TenantScoped, Base):
    """A person's account on one tenant; the same e-mail on two tenants is two accounts."""

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email"),
        CheckConstraint(f"role IN {tuple(r.value for r in TENANT_ROLES)}", name="role"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default=Role.participant.value)
    first_name: Mapped[str | None] = mapped_column(String(100))
    # Bumped on logout-everywhere and password change: older tokens stop verifying.
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class StaffUser(Base):
    """Platform staff: not owned by any tenant; they reach tenants through assignments."""

    __tablename__ = "staff_users"
    __table_args__ = (
        CheckConstraint(f"role IN {tuple(r.value for r in STAFF_ROLES)}", name="role"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(100))
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Participant(TenantScoped, Base):
    """Someone who votes: an anonymous session, or an account's participant once signed up.

    Keeps what segments need: year of birth (→ age band) and postal code (→ territory type).
    """

    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("account_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="SET NULL")
    )
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    postal_code: Mapped[str | None] = mapped_column(String(5))
    territory: Mapped[str] = mapped_column(String(10), default="unknown")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
