"""API keys minted by keys: each key names the key that minted it

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

A principal's key may mint more keys for it; such a key now names its parent, never outlives it and
is revoked with it (``services/principals.py``). Keys made before this revision have no parent:
which key minted them was not recorded, so they keep working as they were issued.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("parent_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_api_key_parent_id"), ["parent_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_key_parent_id"))
        batch_op.drop_column("parent_id")
