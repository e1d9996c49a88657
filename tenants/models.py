"""Tenants and their hosts.

``tenants`` is the platform's registry (no ``tenant_id``: it *is* the tenant). ``tenant_hosts``
is tenant-owned and under RLS like every other tenant table; its extra policy lets anyone read
*verified* hosts, which are public DNS names anyway, so that a request can be routed before its
tenant is known.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from pnyx.kernel.db import Base, BigId, TenantScoped, utcnow


class TenantKind(enum.StrEnum):
    region = "region"
    city = "city"
    company = "company"
    grand_cause = "grand_cause"


class TenantStatus(enum.StrEnum):
    active = "active"
    suspended = "suspended"


class HostKind(enum.StrEnum):
    subdomain = "subdomain"
    custom = "custom"


class Tenant(Base):
    __tablename__ = "tenants"
    __table_args__ = (
        CheckConstraint(f"kind IN {tuple(k.value for k in TenantKind)}", name="kind"),
        CheckConstraint(f"status IN {tuple(s.value for s in TenantStatus)}", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(10), default="fr")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    status: Mapped[str] = mapped_column(String(20), default=TenantStatus.active.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    suspended_at: Mapped[datetime | None]

    @property
    def is_active(self) -> bool:
        return self.status == TenantStatus.active


class TenantHost(TenantScoped, Base):
    __tablename__ = "tenant_hosts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    host: Mapped[str] = mapped_column(String(253), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default=HostKind.subdomain.value)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
