"""partners: a tenant's coalition in tiers (founding, associate), with their logos

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 04:47:10.000000
"""

import sqlalchemy as sa
from alembic import op

import pnyx.kernel.db
from pnyx.kernel.migrate import enable_rls

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("website_url", sa.String(length=300), nullable=True),
        sa.Column("logo_key", sa.String(length=300), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", pnyx.kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", pnyx.kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("tier IN ('founding', 'associate')", name=op.f("ck_partners_tier")),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_partners_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partners_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            "ix_partners_tenant_tier_position", ["tenant_id", "tier", "position"], unique=False
        )
    enable_rls(op, "partners")


def downgrade() -> None:
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.drop_index("ix_partners_tenant_tier_position")
        batch_op.drop_index(batch_op.f("ix_partners_tenant_id"))
    op.drop_table("partners")
