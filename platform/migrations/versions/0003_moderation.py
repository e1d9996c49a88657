"""moderation: assignments, the decision audit log, charters, the queue index

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

import pnyx.kernel.db
from pnyx.kernel.migrate import enable_rls

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TENANT_TABLES = ("moderator_assignments", "moderation_decisions", "tenant_charters")

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = pnyx.kernel.db.UTCDateTime(timezone=True)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "moderator_assignments",
        sa.Column("id", BigId, nullable=False),
        sa.Column("staff_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=True),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_users.id"],
            name="fk_moderator_assignments_staff_id_staff_users",
            ondelete="CASCADE",
        ),
        _tenant_fk("moderator_assignments"),
        sa.PrimaryKeyConstraint("id", name="pk_moderator_assignments"),
        sa.UniqueConstraint(
            "staff_id", "tenant_id", name="uq_moderator_assignments_staff_id_tenant_id"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_moderator_assignments_staff_id", "moderator_assignments", ["staff_id"])
    op.create_index("ix_moderator_assignments_tenant_id", "moderator_assignments", ["tenant_id"])

    op.create_table(
        "moderation_decisions",
        sa.Column("id", BigId, nullable=False),
        sa.Column("proposal_id", sa.BigInteger(), nullable=True),
        sa.Column("consultation_id", sa.BigInteger(), nullable=True),
        sa.Column("staff_id", sa.BigInteger(), nullable=True),
        sa.Column("staff_email", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("at", UTC, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name="fk_moderation_decisions_proposal_id_proposals",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name="fk_moderation_decisions_consultation_id_consultations",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_users.id"],
            name="fk_moderation_decisions_staff_id_staff_users",
            ondelete="SET NULL",
        ),
        _tenant_fk("moderation_decisions"),
        sa.PrimaryKeyConstraint("id", name="pk_moderation_decisions"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_moderation_decisions_tenant_id", "moderation_decisions", ["tenant_id"])
    op.create_index(
        "ix_moderation_decisions_tenant_at", "moderation_decisions", ["tenant_id", "at"]
    )
    op.create_index("ix_moderation_decisions_proposal", "moderation_decisions", ["proposal_id"])

    op.create_table(
        "tenant_charters",
        sa.Column("id", BigId, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=True),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        _tenant_fk("tenant_charters"),
        sa.PrimaryKeyConstraint("id", name="pk_tenant_charters"),
        sa.UniqueConstraint("tenant_id", name="uq_tenant_charters_tenant_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_tenant_charters_tenant_id", "tenant_charters", ["tenant_id"])

    # "Next proposal": the pending (then postponed) proposals oldest first, across tenants.
    op.create_index("ix_proposals_moderation_queue", "proposals", ["status", "created_at", "id"])

    for table in TENANT_TABLES:
        enable_rls(op, table)
    if op.get_bind().dialect.name == "postgresql":
        # A desk session names its staff member (app.staff_id) to read that member's own
        # assignments before it knows which tenants to open; read-only, nothing else.
        op.execute(
            "CREATE POLICY own_assignments ON moderator_assignments FOR SELECT "
            "USING (staff_id = NULLIF(current_setting('app.staff_id', true), '')::bigint)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP POLICY IF EXISTS own_assignments ON moderator_assignments")
    op.drop_index("ix_proposals_moderation_queue", table_name="proposals")
    op.drop_table("tenant_charters")
    op.drop_table("moderation_decisions")
    op.drop_table("moderator_assignments")
