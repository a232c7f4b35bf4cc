"""The roles' workflows: record sharing, notarial acts, arbitration cases, e-commerce complaints

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

Every act of these workflows is an anchored record; these tables index them (who may read which
record, an office's certificate numbers, a case's members and submissions, a complaint's listings
and their deadlines, and each case's and complaint's own log). New tables only: nothing existing
changes, so the downgrade drops them.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "arbitration_case",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("commission", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("case_number", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("opened_by", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["opened_by"],
            ["principal.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("commission", "case_number", name="uq_case_number"),
    )
    op.create_table(
        "complaint",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("platform_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("holder_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("published_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["holder_id"],
            ["principal.id"],
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["principal.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_complaint_holder_id"), "complaint", ["holder_id"], unique=False)
    op.create_index(op.f("ix_complaint_platform_id"), "complaint", ["platform_id"], unique=False)
    op.create_table(
        "complaint_rules",
        sa.Column("platform_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("decision_hours", sa.Integer(), nullable=False),
        sa.Column("forward_hours", sa.Integer(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("lift_hours", sa.Integer(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["principal.id"],
        ),
        sa.PrimaryKeyConstraint("platform_id"),
    )
    op.create_table(
        "notarial_key",
        sa.Column("key_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("principal_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("office", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("public_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("registered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principal.id"],
        ),
        sa.PrimaryKeyConstraint("key_id"),
    )
    op.create_index(
        op.f("ix_notarial_key_principal_id"), "notarial_key", ["principal_id"], unique=False
    )
    op.create_table(
        "attestation",
        sa.Column("record_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("notary_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("office", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column(
            "certificate_number", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False
        ),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column(
            "revocation_record_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True
        ),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["notary_id"],
            ["principal.id"],
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["record.id"],
        ),
        sa.PrimaryKeyConstraint("record_id"),
        sa.UniqueConstraint("office", "certificate_number", name="uq_attestation_number"),
    )
    op.create_index(op.f("ix_attestation_notary_id"), "attestation", ["notary_id"], unique=False)
    op.create_table(
        "attestation_subject",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attestation_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("record_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["attestation_id"],
            ["record.id"],
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["record.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("attestation_id", "record_id", name="uq_attestation_subject"),
    )
    op.create_index(
        op.f("ix_attestation_subject_attestation_id"),
        "attestation_subject",
        ["attestation_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_attestation_subject_record_id"), "attestation_subject", ["record_id"], unique=False
    )
    op.create_table(
        "case_log",
        sa.Column("case_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("record_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("leaf_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["arbitration_case.id"],
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["record.id"],
        ),
        sa.PrimaryKeyConstraint("case_id", "seq"),
        sa.UniqueConstraint("record_id"),
    )
    op.create_table(
        "case_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("principal_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("capacity", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("party_index", sa.Integer(), nullable=True),
        sa.Column("joined_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["arbitration_case.id"],
        ),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principal.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "principal_id", name="uq_case_member"),
    )
    op.create_index(op.f("ix_case_member_case_id"), "case_member", ["case_id"], unique=False)
    op.create_index(
        op.f("ix_case_member_principal_id"), "case_member", ["principal_id"], unique=False
    )
    op.create_table(
        "case_submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("event_record_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("submitter_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("exhibit_record_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("disclosure_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("content_cid", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("submitted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["arbitration_case.id"],
        ),
        sa.ForeignKeyConstraint(
            ["event_record_id"],
            ["record.id"],
        ),
        sa.ForeignKeyConstraint(
            ["submitter_id"],
            ["principal.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "number", name="uq_case_submission_number"),
    )
    op.create_index(
        op.f("ix_case_submission_case_id"), "case_submission", ["case_id"], unique=False
    )
    op.create_table(
        "complaint_listing",
        sa.Column("complaint_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("idx", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("seller_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("next_step", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("next_party", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("due_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("window_ends_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["principal.id"],
        ),
        sa.PrimaryKeyConstraint("complaint_id", "idx"),
    )
    op.create_index(
        op.f("ix_complaint_listing_due_at"), "complaint_listing", ["due_at"], unique=False
    )
    op.create_index(
        op.f("ix_complaint_listing_state"), "complaint_listing", ["state"], unique=False
    )
    op.create_table(
        "complaint_log",
        sa.Column("complaint_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("record_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("leaf_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["record.id"],
        ),
        sa.PrimaryKeyConstraint("complaint_id", "seq"),
        sa.UniqueConstraint("record_id"),
    )
    op.create_table(
        "record_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("principal_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("granted_by", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("granted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principal.id"],
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["record.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("record_id", "principal_id", "purpose", name="uq_record_access"),
    )
    op.create_index(
        op.f("ix_record_access_principal_id"), "record_access", ["principal_id"], unique=False
    )
    op.create_index(
        op.f("ix_record_access_record_id"), "record_access", ["record_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_record_access_record_id"), table_name="record_access")
    op.drop_index(op.f("ix_record_access_principal_id"), table_name="record_access")
    op.drop_table("record_access")
    op.drop_table("complaint_log")
    op.drop_index(op.f("ix_complaint_listing_state"), table_name="complaint_listing")
    op.drop_index(op.f("ix_complaint_listing_due_at"), table_name="complaint_listing")
    op.drop_table("complaint_listing")
    op.drop_index(op.f("ix_case_submission_case_id"), table_name="case_submission")
    op.drop_table("case_submission")
    op.drop_index(op.f("ix_case_member_principal_id"), table_name="case_member")
    op.drop_index(op.f("ix_case_member_case_id"), table_name="case_member")
    op.drop_table("case_member")
    op.drop_table("case_log")
    op.drop_index(op.f("ix_attestation_subject_record_id"), table_name="attestation_subject")
    op.drop_index(op.f("ix_attestation_subject_attestation_id"), table_name="attestation_subject")
    op.drop_table("attestation_subject")
    op.drop_index(op.f("ix_attestation_notary_id"), table_name="attestation")
    op.drop_table("attestation")
    op.drop_index(op.f("ix_notarial_key_principal_id"), table_name="notarial_key")
    op.drop_table("notarial_key")
    op.drop_table("complaint_rules")
    op.drop_index(op.f("ix_complaint_platform_id"), table_name="complaint")
    op.drop_index(op.f("ix_complaint_holder_id"), table_name="complaint")
    op.drop_table("complaint")
    op.drop_table("arbitration_case")
