"""API key expiry and rotation, the audit log, and pledge authority (registrar account, idempotency)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

Pledges registered before this revision live in a version 1 PledgeRegistry, which the service no
longer writes to (version 2 records each pledge's registrar and the pledgee's consent); their new
columns stay NULL.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("target_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("target_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_target_id"), ["target_id"], unique=False)

    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("replaced_by", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
        )

    with op.batch_alter_table("pledge", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "registrar_account", sqlmodel.sql.sqltypes.AutoString(length=42), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("request_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "registration_record_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True
            )
        )
        batch_op.create_unique_constraint(
            "uq_pledge_idempotency_key", ["registrar_id", "idempotency_key"]
        )


def downgrade() -> None:
    with op.batch_alter_table("pledge", schema=None) as batch_op:
        batch_op.drop_constraint("uq_pledge_idempotency_key", type_="unique")
        batch_op.drop_column("registration_record_id")
        batch_op.drop_column("request_sha256")
        batch_op.drop_column("idempotency_key")
        batch_op.drop_column("registrar_account")

    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_column("replaced_by")
        batch_op.drop_column("expires_at")

    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_target_id"))
        batch_op.drop_index(batch_op.f("ix_audit_event_action"))
        batch_op.drop_index(batch_op.f("ix_audit_event_actor_id"))
        batch_op.drop_index(batch_op.f("ix_audit_event_at"))
    op.drop_table("audit_event")
