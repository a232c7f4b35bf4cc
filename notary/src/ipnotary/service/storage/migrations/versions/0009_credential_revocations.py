"""Revoked credentials: the records whose entry in a Bitstring Status List is set

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

A revocable record's place in a status list follows from its sequence number, so nothing is
allocated ahead; only revocations are rows. Records revoked before this revision (credit entries
repaired earlier) get theirs from the entry's closing repair record, so their credentials read
as revoked from the first list the service serves.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# As services.status_lists declares them: a list of 131,072 entries, one per record sequence number.
_LIST_SIZE = 131_072


def upgrade() -> None:
    op.create_table(
        "credential_revocation",
        sa.Column("record_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("list_id", sa.BigInteger(), nullable=False),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("cause_record_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.ForeignKeyConstraint(["record_id"], ["record.id"]),
        sa.PrimaryKeyConstraint("record_id"),
        sa.UniqueConstraint("list_id", "status_index", name="uq_revocation_entry"),
    )
    op.create_index(
        "ix_credential_revocation_list_id", "credential_revocation", ["list_id"], unique=False
    )

    record = sa.table("record", sa.column("id", sa.String), sa.column("seq", sa.BigInteger))
    credit = sa.table(
        "credit_entry",
        sa.column("id", sa.String),
        sa.column("status", sa.String),
        sa.column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime()),
        sa.column("closing_record_id", sa.String),
    )
    revocations = sa.table(
        "credential_revocation",
        sa.column("record_id", sa.String),
        sa.column("list_id", sa.BigInteger),
        sa.column("status_index", sa.Integer),
        sa.column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime()),
        sa.column("cause_record_id", sa.String),
    )
    conn = op.get_bind()
    repaired = conn.execute(
        sa.select(record.c.id, record.c.seq, credit.c.closed_at, credit.c.closing_record_id)
        .join(credit, credit.c.id == record.c.id)
        .where(credit.c.status == "repaired", credit.c.closed_at.is_not(None))
    ).all()
    for record_id, seq, closed_at, closing in repaired:
        conn.execute(
            revocations.insert().values(
                record_id=record_id,
                list_id=seq // _LIST_SIZE,
                status_index=seq % _LIST_SIZE,
                revoked_at=closed_at,
                cause_record_id=closing,
            )
        )


def downgrade() -> None:
    op.drop_index("ix_credential_revocation_list_id", table_name="credential_revocation")
    op.drop_table("credential_revocation")
