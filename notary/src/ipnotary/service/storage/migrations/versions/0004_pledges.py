"""pledges

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pledge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("contract", sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
        sa.Column("pledge_id", sa.BigInteger(), nullable=False),
        sa.Column("asset_key", sqlmodel.sql.sqltypes.AutoString(length=140), nullable=False),
        sa.Column("asset", sa.Text(), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("registrar_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("registered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["registrar_id"],
            ["principal.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chain_id", "contract", "pledge_id", name="uq_pledge_on_chain"),
    )
    with op.batch_alter_table("pledge", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pledge_asset_key"), ["asset_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_pledge_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pledge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pledge_status"))
        batch_op.drop_index(batch_op.f("ix_pledge_asset_key"))

    op.drop_table("pledge")
