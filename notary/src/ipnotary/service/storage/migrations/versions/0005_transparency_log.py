"""transparency log: one append-only log in tiles, checkpoints, cosignatures, time-stamp tokens

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

Batches anchored before this revision keep their own trees (version 1 certificates). Batches
sealed but not yet anchored are undone, so that their records go into the log instead: a per-batch
root can no longer be anchored in the checkpoint registry.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_tile",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx"),
    )
    op.create_table(
        "cosignature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_seq", sa.Integer(), nullable=False),
        sa.Column("witness", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("signature_line", sa.Text(), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_seq"],
            ["batch.seq"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("batch_seq", "witness", name="uq_cosignature_witness"),
    )
    with op.batch_alter_table("cosignature", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cosignature_batch_seq"), ["batch_seq"], unique=False)

    op.create_table(
        "timestamp_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_seq", sa.Integer(), nullable=False),
        sa.Column("authority", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("token", sa.LargeBinary(), nullable=False),
        sa.Column("gen_time", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_seq"],
            ["batch.seq"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("batch_seq", "authority", name="uq_timestamp_authority"),
    )
    with op.batch_alter_table("timestamp_token", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_timestamp_token_batch_seq"), ["batch_seq"], unique=False
        )

    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("log_start", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("log_size", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("checkpoint", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("certified_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_batch_certified_at"), ["certified_at"], unique=False)
        batch_op.create_unique_constraint("uq_batch_log_size", ["log_size"])
        batch_op.create_unique_constraint("uq_batch_log_start", ["log_start"])

    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("log_index", sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint("uq_record_log_index", ["log_index"])

    op.execute(
        "UPDATE record SET batch_seq = NULL, leaf_index = NULL, audit_path = NULL "
        "WHERE batch_seq IN (SELECT seq FROM batch WHERE status = 'sealed')"
    )
    op.execute("DELETE FROM batch WHERE status = 'sealed'")


def downgrade() -> None:
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.drop_constraint("uq_record_log_index", type_="unique")
        batch_op.drop_column("log_index")

    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.drop_constraint("uq_batch_log_start", type_="unique")
        batch_op.drop_constraint("uq_batch_log_size", type_="unique")
        batch_op.drop_index(batch_op.f("ix_batch_certified_at"))
        batch_op.drop_column("certified_at")
        batch_op.drop_column("checkpoint")
        batch_op.drop_column("log_size")
        batch_op.drop_column("log_start")

    with op.batch_alter_table("timestamp_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_timestamp_token_batch_seq"))
    op.drop_table("timestamp_token")
    with op.batch_alter_table("cosignature", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cosignature_batch_seq"))
    op.drop_table("cosignature")
    op.drop_table("log_tile")
