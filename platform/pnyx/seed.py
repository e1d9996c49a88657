"""Demo data and tenant provisioning shared by the CLI and the tests."""

from __future__ import annotations

import click
from sqlalchemy import select

from pnyx.identity.models import StaffUser
from pnyx.identity.service import create_account, create_staff
from pnyx.kernel.config import Config
from pnyx.kernel.db import Database
from tenants import service as tenants_service
from tenants.models import Tenant
from themes.service import set_theme

DEMO_PASSWORD = "demo-password-2026"
DEMO_TENANTS = (
    ("bretagne", "region", "Région Bretagne", "bretagne"),
    ("lyon", "city", "Ville de Lyon", "lyon"),
    ("acme", "company", "Acme Industries", "acme"),
    ("climat", "grand_cause", "Grande cause Climat", "climat"),
)


def provision_tenant(
    config: Config,
    *,
    slug: str,
    kind: str,
    name: str,
    locale: str = "fr",
    timezone: str = "Europe/Paris",
    theme_pack: str = "default",
    admin_email: str | None = None,
    admin_password: str | None = None,
    database: Database | None = None,
) -> str:
    """Create a tenant, its theme and first admin in one transaction; return its host."""
    database = database or Database(config.database_url)
    with database.scope() as session:
        tenant = tenants_service.create_tenant(
            session,
            slug=slug,
            kind=kind,
            name=name,
            locale=locale,
            timezone=timezone,
            platform_domain=config.platform_domain,
        )
        set_theme(session, pack=theme_pack)
        if admin_email:
            create_account(session, email=admin_email, password=admin_password, role="tenant_admin")
    return tenants_service.platform_host(tenant.slug, config.platform_domain)


def seed_demo(config: Config) -> list[str]:
    """Idempotent: creates what is missing of the demo, with a progress bar."""
    database = Database(config.database_url)
    lines = []
    with click.progressbar(DEMO_TENANTS, label="seeding demo tenants", show_pos=True) as bar:
        for slug, kind, name, pack in bar:
            with database.session() as session:
                exists = session.scalar(select(Tenant.id).where(Tenant.slug == slug))
            if not exists:
                provision_tenant(
                    config,
                    slug=slug,
                    kind=kind,
                    name=name,
                    theme_pack=pack,
                    admin_email=f"admin@{slug}.example",
                    admin_password=DEMO_PASSWORD,
                    database=database,
                )
            host = tenants_service.platform_host(slug, config.platform_domain)
            lines.append(
                f"{name:<24} http://{host}:8000/   admin: admin@{slug}.example / {DEMO_PASSWORD}"
            )
    with database.scope() as session:
        if not session.scalar(
            select(StaffUser.id).where(StaffUser.email == "operator@pnyx.example")
        ):
            create_staff(
                session, email="operator@pnyx.example", password=DEMO_PASSWORD, role="operator"
            )
    lines.append(
        f"{'Operator console':<24} http://{config.operator_host}:8000/   operator@pnyx.example / {DEMO_PASSWORD}"
    )
    database.dispose()
    return lines
