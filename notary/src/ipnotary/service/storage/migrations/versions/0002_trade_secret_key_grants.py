"""trade secret key grants

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filing_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("recipient_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("recipient_key_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("wrapped_key", sa.Text(), nullable=False),
        sa.Column("disclosure_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["filing_id"],
            ["record.id"],
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["principal.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("filing_id", "recipient_id", name="uq_key_grant_recipient"),
    )
    with op.batch_alter_table("key_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_key_grant_filing_id"), ["filing_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_key_grant_recipient_id"), ["recipient_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("key_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_key_grant_recipient_id"))
        batch_op.drop_index(batch_op.f("ix_key_grant_filing_id"))

    op.drop_table("key_grant")
