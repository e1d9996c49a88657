"""integrity: groups of voters flagged for voting in lockstep, and their members

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import pnyx.kernel.db
from pnyx.kernel.migrate import enable_rls

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TENANT_TABLES = ("integrity_groups", "integrity_group_members")


def upgrade() -> None:
    op.create_table(
        "integrity_groups",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("consultation_id", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("first_at", pnyx.kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_at", pnyx.kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("detected_at", pnyx.kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", pnyx.kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cleared_by", sa.String(length=254), nullable=True),
        sa.Column("cleared_at", pnyx.kernel.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "status IN ('flagged', 'cleared')", name=op.f("ck_integrity_groups_status")
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_integrity_groups_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_integrity_groups_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrity_groups")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("integrity_groups", schema=None) as batch_op:
        batch_op.create_index(
            "ix_integrity_groups_consultation_status",
            ["consultation_id", "status"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_integrity_groups_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "integrity_group_members",
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("participant_id", sa.BigInteger(), nullable=False),
        sa.Column("consultation_id", sa.BigInteger(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_integrity_group_members_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["integrity_groups.id"],
            name=op.f("fk_integrity_group_members_group_id_integrity_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_integrity_group_members_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_integrity_group_members_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "group_id", "participant_id", name=op.f("pk_integrity_group_members")
        ),
    )
    with op.batch_alter_table("integrity_group_members", schema=None) as batch_op:
        batch_op.create_index(
            "ix_integrity_group_members_consultation",
            ["consultation_id", "participant_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_integrity_group_members_tenant_id"), ["tenant_id"], unique=False
        )

    for table in TENANT_TABLES:
        enable_rls(op, table)


def downgrade() -> None:
    with op.batch_alter_table("integrity_group_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integrity_group_members_tenant_id"))
        batch_op.drop_index("ix_integrity_group_members_consultation")
    op.drop_table("integrity_group_members")
    with op.batch_alter_table("integrity_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integrity_groups_tenant_id"))
        batch_op.drop_index("ix_integrity_groups_consultation_status")
    op.drop_table("integrity_groups")
