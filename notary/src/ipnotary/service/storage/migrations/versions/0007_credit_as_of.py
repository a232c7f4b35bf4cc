"""Credit as of a time: the fields an entry keeps after erasure, repair evidence digests

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

An answer for an earlier time must still show an entry that was public then, after its details
were erased (repair, end of publicity): ``credit_entry`` keeps its severity and publicity start
(conduct, end and subject were already columns) and, from now on, the salt of the subject
commitment its schema 2 record carries. Entries still holding their details get severity and
publicity start from them; entries erased before this revision also lost their subject
identifier, so no answer can find them (their columns stay NULL).
"""

from __future__ import annotations

import json
from datetime import date

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("credit_entry", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("severity", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
        batch_op.add_column(sa.Column("publicity_start", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("subject_salt", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
    with op.batch_alter_table("credit_repair", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evidence_sha256", sa.Text(), nullable=True))

    entries = sa.table(
        "credit_entry",
        sa.column("id", sa.String),
        sa.column("details", sa.Text),
        sa.column("severity", sa.String),
        sa.column("publicity_start", sa.Date),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(entries.c.id, entries.c.details).where(entries.c.details.is_not(None))
    ).all()
    for entry_id, details in rows:
        doc = json.loads(details)
        conn.execute(
            entries.update()
            .where(entries.c.id == entry_id)
            .values(
                severity=doc.get("severity"),
                publicity_start=date.fromisoformat(doc["publicity_start"]),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("credit_repair", schema=None) as batch_op:
        batch_op.drop_column("evidence_sha256")
    with op.batch_alter_table("credit_entry", schema=None) as batch_op:
        batch_op.drop_column("subject_salt")
        batch_op.drop_column("publicity_start")
        batch_op.drop_column("severity")
