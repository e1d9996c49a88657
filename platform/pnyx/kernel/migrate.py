"""Schema migrations (Alembic) and the grants and RLS that go with them on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, text

from .config import Config
from .db import rls_statements

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(config: Config, revision: str = "head") -> None:
    """Migrate as the owner role, then grant the app role what it needs and nothing more."""
    command.upgrade(alembic_config(config.database_owner_url), revision)
    if config.is_postgres and config.database_app_role:
        grant_app_role(config.database_owner_url, config.database_app_role)


def grant_app_role(owner_url: str, role: str) -> None:
    engine = create_engine(owner_url)
    quoted = '"' + role.replace('"', '""') + '"'
    with engine.begin() as conn:
        conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {quoted}"))
        conn.execute(
            text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}")
        )
        conn.execute(text(f"REVOKE ALL ON alembic_version FROM {quoted}"))
        conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}"))
    engine.dispose()


def enable_rls(op, table: str) -> None:
    """For migrations: put a tenant-owned table under forced RLS (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in rls_statements(table):
        op.execute(statement)
