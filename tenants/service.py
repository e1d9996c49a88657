"""Tenant provisioning and host → tenant resolution."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from pnyx.kernel.db import TenantSession, utcnow
from pnyx.kernel.errors import Conflict, Invalid, NotFound
from pnyx.kernel.i18n import N_

from .hosts import validate_custom_domain, validate_slug
from .models import HostKind, Tenant, TenantHost, TenantKind, TenantStatus

LOCALES = ("fr", "en")


@dataclass(frozen=True)
class ResolvedTenant:
    """What a request needs to know of its tenant; cached per process."""

    id: int
    slug: str
    name: str
    kind: str
    locale: str
    timezone: str
    status: str

    @property
    def is_active(self) -> bool:
        return self.status == TenantStatus.active

    @classmethod
    def of(cls, tenant: Tenant) -> ResolvedTenant:
        return cls(
            tenant.id,
            tenant.slug,
            tenant.name,
            tenant.kind,
            tenant.locale,
            tenant.timezone,
            tenant.status,
        )


def platform_host(slug: str, platform_domain: str) -> str:
    return f"{slug}.{platform_domain}"


def _validate_fields(kind: str, name: str, locale: str, timezone: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if kind not in TenantKind.__members__:
        errors["kind"] = [N_("One of %(choices)s.", choices=", ".join(TenantKind.__members__))]
    if not name or not name.strip() or len(name) > 200:
        errors["name"] = [N_("A name of 1 to 200 characters.")]
    if locale not in LOCALES:
        errors["locale"] = [N_("One of %(choices)s.", choices=", ".join(LOCALES))]
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = [N_("An IANA time zone such as Europe/Paris.")]
    return errors


def create_tenant(
    session: TenantSession,
    *,
    slug: str,
    kind: str,
    name: str,
    platform_domain: str,
    locale: str = "fr",
    timezone: str = "Europe/Paris",
) -> Tenant:
    """Create a tenant and its platform subdomain in the session's transaction.

    The session is left bound to the new tenant, so the caller can provision more of it (theme,
    first admin) in the same transaction: nothing is half-written.
    """
    slug = validate_slug(slug)
    errors = _validate_fields(kind, name, locale, timezone)
    if errors:
        raise Invalid(N_("Some fields are invalid."), errors=errors)
    if session.scalar(select(func.count()).select_from(Tenant).where(Tenant.slug == slug)):
        raise Conflict(
            N_("The slug '%(slug)s' is taken.", slug=slug),
            code="slug_taken",
            errors={"slug": [N_("Taken.")]},
        )
    tenant = Tenant(slug=slug, kind=kind, name=name.strip(), locale=locale, timezone=timezone)
    session.add(tenant)
    try:
        session.flush()
        session.bind_tenant(tenant.id)
        session.add(
            TenantHost(
                tenant_id=tenant.id,
                host=platform_host(slug, platform_domain),
                kind=HostKind.subdomain.value,
                verified=True,
            )
        )
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            N_("The slug '%(slug)s' or its host is taken.", slug=slug),
            code="slug_taken",
            errors={"slug": [N_("Taken.")]},
        ) from exc
    return tenant


def get_tenant(session: TenantSession, tenant_id: int) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(N_("No such tenant."), code="tenant_not_found")
    return tenant


def list_tenants(
    session: TenantSession, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[Tenant], int]:
    query = select(Tenant)
    if status:
        query = query.where(Tenant.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Tenant.id).limit(limit).offset(offset)).all()
    return list(rows), int(total or 0)


def set_status(session: TenantSession, tenant_id: int, status: TenantStatus) -> Tenant:
    tenant = get_tenant(session, tenant_id)
    tenant.status = status.value
    tenant.suspended_at = utcnow() if status == TenantStatus.suspended else None
    return tenant


def hosts_of(session: TenantSession, tenant_id: int) -> list[TenantHost]:
    session.bind_tenant(tenant_id)
    return list(session.scalars(select(TenantHost).order_by(TenantHost.id)))


def add_custom_domain(
    session: TenantSession, tenant_id: int, host: str, *, platform_domain: str
) -> TenantHost:
    """Attach a custom domain, unverified until the operator has checked its DNS."""
    get_tenant(session, tenant_id)
    host = validate_custom_domain(host, platform_domain)
    session.bind_tenant(tenant_id)
    row = TenantHost(tenant_id=tenant_id, host=host, kind=HostKind.custom.value, verified=False)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            N_("'%(host)s' is already in use.", host=host),
            code="host_taken",
            errors={"host": [N_("Taken.")]},
        ) from exc
    return row


def verify_host(session: TenantSession, tenant_id: int, host_id: int) -> TenantHost:
    get_tenant(session, tenant_id)
    session.bind_tenant(tenant_id)
    row = session.get(TenantHost, host_id)
    if row is None:
        raise NotFound(N_("No such host."), code="host_not_found")
    row.verified = True
    return row


class HostResolver:
    """Host → tenant, one indexed lookup, cached per process for a short time."""

    def __init__(self, ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._cache: dict[str, tuple[float, ResolvedTenant | None]] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def cached(self, host: str) -> tuple[bool, ResolvedTenant | None]:
        """(found, tenant) from the cache alone: no database work on a hit."""
        hit = self._cache.get(host)
        if hit and hit[0] > time.monotonic():
            return True, hit[1]
        return False, None

    def resolve(self, session: TenantSession, host: str) -> ResolvedTenant | None:
        now = time.monotonic()
        hit = self._cache.get(host)
        if hit and hit[0] > now:
            return hit[1]
        hosts = TenantHost.__table__
        # The one read that crosses tenants: a Core query on verified hosts only (its RLS
        # policy ``public_host_lookup`` allows exactly that on PostgreSQL).
        tenant_id = session.scalar(
            select(hosts.c.tenant_id).where(hosts.c.host == host, hosts.c.verified.is_(True))
        )
        resolved = None
        if tenant_id is not None:
            tenant = session.get(Tenant, tenant_id)
            resolved = ResolvedTenant.of(tenant) if tenant else None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[host] = (now + self.ttl, resolved)
        return resolved
