"""credit entries and repairs, principal identifiers

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credit_entry",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("authority_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("commitment", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("conduct", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("subject_key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("salt", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("publicity_end", sa.Date(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("closing_record_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["principal.id"],
        ),
        sa.ForeignKeyConstraint(
            ["id"],
            ["record.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("credit_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_entry_authority_id"), ["authority_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_credit_entry_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_credit_entry_subject_key"), ["subject_key"], unique=False
        )

    op.create_table(
        "credit_repair",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("applicant_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("statement", sa.Text(), nullable=True),
        sa.Column("submitted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["applicant_id"],
            ["principal.id"],
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["credit_entry.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("credit_repair", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_repair_entry_id"), ["entry_id"], unique=False)

    with op.batch_alter_table("principal", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("identifier", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_principal_identifier"), ["identifier"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("principal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_principal_identifier"))
        batch_op.drop_column("identifier")

    with op.batch_alter_table("credit_repair", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_repair_entry_id"))

    op.drop_table("credit_repair")
    with op.batch_alter_table("credit_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_entry_subject_key"))
        batch_op.drop_index(batch_op.f("ix_credit_entry_status"))
        batch_op.drop_index(batch_op.f("ix_credit_entry_authority_id"))

    op.drop_table("credit_entry")
