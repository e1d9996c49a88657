"""rls once per statement: the tenant policy reads its settings in scalar subqueries

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 06:30:00.000000

The same policy (``pnyx.kernel.db.TENANT_POLICY``) on every tenant-owned table, its settings
now evaluated once per statement instead of once per row. Nothing changes on SQLite.
"""

from alembic import op
from sqlalchemy import text

from pnyx.kernel.db import TENANT_POLICY, rls_statements

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PER_ROW_POLICY = (
    "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint "
    "OR tenant_id = ANY (string_to_array(NULLIF(current_setting('app.tenant_ids', true), ''), ',')"
    "::bigint[])"
)


def _tenant_tables() -> list[str]:
    rows = op.get_bind().execute(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r' "
            "AND a.attname = 'tenant_id' AND NOT a.attisdropped ORDER BY c.relname"
        )
    )
    return [name for (name,) in rows]


def _apply(policy: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _tenant_tables():
        for statement in rls_statements(table, policy):
            op.execute(statement)


def upgrade() -> None:
    _apply(TENANT_POLICY)


def downgrade() -> None:
    _apply(PER_ROW_POLICY)
