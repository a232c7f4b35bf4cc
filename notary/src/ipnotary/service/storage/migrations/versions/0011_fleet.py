"""The fleet's processes, the halt of a log behind the chain, trust facts of any length

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

``service_process`` holds one row per running process (where it serves, its version and config
fingerprint, whether it leads, the leader's view of its witnesses and TSAs); ``anchoring_halt``
the reason sealing and accepting stopped. ``deployment_fact.value`` becomes TEXT: the trust facts
recorded beside the deployment's identity (the witness set, the TSAs and their roots) are longer
than the identity's hashes and addresses. The downgrade drops the new tables and keeps the wider
column (a value longer than 200 characters could not be narrowed back).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_process",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("host", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column(
            "config_fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False
        ),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("leader", sa.Boolean(), nullable=False),
        sa.Column("leader_since", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("attestation", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_service_process_heartbeat_at", "service_process", ["heartbeat_at"], unique=False
    )
    op.create_table(
        "anchoring_halt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("chain_size", sa.BigInteger(), nullable=False),
        sa.Column("log_size", sa.BigInteger(), nullable=False),
        sa.Column("since", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deployment_fact") as batch:
        batch.alter_column(
            "value",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=200),
            type_=sa.Text(),
            existing_nullable=False,
        )


def downgrade() -> None:
    op.drop_table("anchoring_halt")
    op.drop_index("ix_service_process_heartbeat_at", table_name="service_process")
    op.drop_table("service_process")
