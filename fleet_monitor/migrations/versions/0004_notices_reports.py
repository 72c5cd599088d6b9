"""Notices, case files, deliveries, penalties, operator contacts and tokens, daily reports.

Revision ID: 0004
Revises: 0002
Depends on: 0003 (notes and case statuses name the account that wrote them)
Create Date: 2026-11-25 21:25:56
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0003"


def upgrade() -> None:
    op.create_table(
        "notice_counter",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_notice_counter")),
    )
    op.create_table(
        "daily_report",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("csv", sa.LargeBinary(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operator.id"],
            name=op.f("fk_daily_report_operator_id_operator"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_report")),
        sa.UniqueConstraint("day", "subject", "version", name=op.f("uq_daily_report_day")),
    )
    op.create_index(
        "ix_daily_report_operator_day", "daily_report", ["operator_id", "day"], unique=False
    )
    op.create_table(
        "notice",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=True),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("operator_slug", sa.String(length=64), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("batch_key", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("permit_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_by", sa.Text(), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.Text(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("response", sa.String(length=16), nullable=True),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("responded_by", sa.Text(), nullable=True),
        sa.Column("response_note", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('remedied', 'overdue', 'partial', 'undetermined')",
            name=op.f("ck_notice_outcome"),
        ),
        sa.CheckConstraint(
            "response IS NULL OR response IN ('acknowledged', 'disputed')",
            name=op.f("ck_notice_response"),
        ),
        sa.CheckConstraint(
            "status = 'draft' OR issued_at IS NOT NULL", name=op.f("ck_notice_issued")
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'issued', 'cancelled', 'closed')", name=op.f("ck_notice_status")
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operator.id"],
            name=op.f("fk_notice_operator_id_operator"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice")),
        sa.UniqueConstraint("operator_id", "batch_key", name=op.f("uq_notice_operator_id")),
        sa.UniqueConstraint("reference", name=op.f("uq_notice_reference")),
    )
    op.create_index(
        "ix_notice_deadline_open",
        "notice",
        ["deadline_at"],
        unique=False,
        postgresql_where=sa.text("status = 'issued'"),
    )
    op.create_index(
        "ix_notice_operator_created", "notice", ["operator_id", "created_at"], unique=False
    )
    op.create_table(
        "operator_api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operator.id"],
            name=op.f("fk_operator_api_token_operator_id_operator"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_operator_api_token_token_hash")),
    )
    op.create_index(
        op.f("ix_operator_api_token_operator_id"),
        "operator_api_token",
        ["operator_id"],
        unique=False,
    )
    op.create_table(
        "operator_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), server_default="", nullable=False),
        sa.Column("notices", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("reports", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "channel IN ('email', 'webhook')", name=op.f("ck_operator_contact_channel")
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operator.id"],
            name=op.f("fk_operator_contact_operator_id_operator"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_contact")),
        sa.UniqueConstraint(
            "operator_id", "channel", "address", name=op.f("uq_operator_contact_operator_id")
        ),
    )
    op.create_table(
        "case_file",
        sa.Column("violation_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_by", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'confirmed', 'resolved', 'dismissed')",
            name=op.f("ck_case_file_status"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["user_account.id"],
            name=op.f("fk_case_file_updated_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["violation_id"],
            ["violation.id"],
            name=op.f("fk_case_file_violation_id_violation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("violation_id", name=op.f("pk_case_file")),
    )
    op.create_table(
        "case_note",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("violation_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), server_default="", nullable=False),
        sa.Column("present", sa.Boolean(), nullable=True),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('comment', 'on_site', 'status')", name=op.f("ck_case_note_kind")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["user_account.id"],
            name=op.f("fk_case_note_author_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["violation_id"],
            ["violation.id"],
            name=op.f("fk_case_note_violation_id_violation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_note")),
    )
    op.create_index("ix_case_note_violation_at", "case_note", ["violation_id", "at"], unique=False)
    op.create_table(
        "delivery",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("notice_id", sa.BigInteger(), nullable=True),
        sa.Column("report_id", sa.BigInteger(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.Text(), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("response_code", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("channel IN ('email', 'webhook')", name=op.f("ck_delivery_channel")),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'cancelled')",
            name=op.f("ck_delivery_status"),
        ),
        sa.CheckConstraint(
            "(notice_id IS NULL) <> (report_id IS NULL)", name=op.f("ck_delivery_one_subject")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["operator_contact.id"],
            name=op.f("fk_delivery_contact_id_operator_contact"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notice.id"],
            name=op.f("fk_delivery_notice_id_notice"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["daily_report.id"],
            name=op.f("fk_delivery_report_id_daily_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_delivery_idempotency_key")),
    )
    op.create_index(
        "ix_delivery_due",
        "delivery",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_delivery_notice_id", "delivery", ["notice_id"], unique=False)
    op.create_index("ix_delivery_report_id", "delivery", ["report_id"], unique=False)
    op.create_table(
        "notice_item",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("notice_id", sa.BigInteger(), nullable=False),
        sa.Column("violation_id", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("rule_type", sa.String(length=40), nullable=False),
        sa.Column("clause", sa.Text(), nullable=False),
        sa.Column("vehicle_id", sa.BigInteger(), nullable=True),
        sa.Column("gbfs_id", sa.Text(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("evidence_sha256", sa.String(length=64), nullable=True),
        sa.Column("penalty_eur", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("outcome_reason", sa.String(length=24), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("checked_fetch_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('remedied', 'overdue', 'undetermined')",
            name=op.f("ck_notice_item_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notice.id"],
            name=op.f("fk_notice_item_notice_id_notice"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["violation_id"],
            ["violation.id"],
            name=op.f("fk_notice_item_violation_id_violation"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_item")),
    )
    op.create_index("ix_notice_item_notice_id", "notice_item", ["notice_id"], unique=False)
    op.create_index(
        "uq_notice_item_violation_active",
        "notice_item",
        ["violation_id"],
        unique=True,
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "penalty",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("notice_id", sa.BigInteger(), nullable=False),
        sa.Column("notice_item_id", sa.BigInteger(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("violation_id", sa.BigInteger(), nullable=False),
        sa.Column("rule_type", sa.String(length=40), nullable=False),
        sa.Column("clause", sa.Text(), nullable=False),
        sa.Column("amount_eur", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('due', 'void')", name=op.f("ck_penalty_status")),
        sa.CheckConstraint("amount_eur >= 0", name=op.f("ck_penalty_amount")),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notice.id"],
            name=op.f("fk_penalty_notice_id_notice"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notice_item_id"],
            ["notice_item.id"],
            name=op.f("fk_penalty_notice_item_id_notice_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operator.id"],
            name=op.f("fk_penalty_operator_id_operator"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_penalty")),
        sa.UniqueConstraint("notice_item_id", name=op.f("uq_penalty_notice_item_id")),
    )
    op.create_index(
        "ix_penalty_operator_created", "penalty", ["operator_id", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_penalty_operator_created", table_name="penalty")
    op.drop_table("penalty")
    op.drop_index(
        "uq_notice_item_violation_active",
        table_name="notice_item",
        postgresql_where=sa.text("active"),
    )
    op.drop_index("ix_notice_item_notice_id", table_name="notice_item")
    op.drop_table("notice_item")
    op.drop_index("ix_delivery_report_id", table_name="delivery")
    op.drop_index("ix_delivery_notice_id", table_name="delivery")
    op.drop_index(
        "ix_delivery_due", table_name="delivery", postgresql_where=sa.text("status = 'pending'")
    )
    op.drop_table("delivery")
    op.drop_index("ix_case_note_violation_at", table_name="case_note")
    op.drop_table("case_note")
    op.drop_table("case_file")
    op.drop_table("operator_contact")
    op.drop_index(op.f("ix_operator_api_token_operator_id"), table_name="operator_api_token")
    op.drop_table("operator_api_token")
    op.drop_index("ix_notice_operator_created", table_name="notice")
    op.drop_index(
        "ix_notice_deadline_open",
        table_name="notice",
        postgresql_where=sa.text("status = 'issued'"),
    )
    op.drop_table("notice")
    op.drop_index("ix_daily_report_operator_day", table_name="daily_report")
    op.drop_table("daily_report")
    op.drop_table("notice_counter")
