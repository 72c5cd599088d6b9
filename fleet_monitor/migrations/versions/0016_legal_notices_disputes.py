"""Notices as legal acts: their kind on the escalation ladder, when the operator
read them; per-vehicle disputes with attachments and the city's decision.

Revision ID: 0016
Revises: 0011
Create Date: 2026-12-04 23:30:00

On the accounts chain (0011, which depends on the notices chain 0004). Existing
notices become notices of breach (``kind = 'breach'``), the act they were.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column(
        "notice",
        sa.Column("kind", sa.String(length=24), server_default=sa.text("'breach'"), nullable=False),
    )
    op.add_column(
        "notice",
        sa.Column(
            "escalation",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column("notice", sa.Column("read_at", TS, nullable=True))
    op.add_column("notice", sa.Column("read_by", sa.Text(), nullable=True))
    op.create_check_constraint(
        op.f("ck_notice_kind"), "notice", "kind IN ('breach', 'formal', 'penalty_statement')"
    )
    op.create_table(
        "notice_dispute",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("notice_id", sa.BigInteger(), nullable=False),
        sa.Column("notice_item_id", sa.BigInteger(), nullable=False),
        sa.Column("violation_id", sa.BigInteger(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("submitted_at", TS, nullable=False),
        sa.Column("submitted_by", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'upheld', 'rejected')", name=op.f("ck_notice_dispute_status")
        ),
        sa.CheckConstraint(
            "(status = 'open') = (decided_at IS NULL)", name=op.f("ck_notice_dispute_decided")
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notice.id"],
            name=op.f("fk_notice_dispute_notice_id_notice"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notice_item_id"],
            ["notice_item.id"],
            name=op.f("fk_notice_dispute_notice_item_id_notice_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operator.id"],
            name=op.f("fk_notice_dispute_operator_id_operator"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_dispute")),
        sa.UniqueConstraint("notice_item_id", name=op.f("uq_notice_dispute_notice_item_id")),
    )
    op.create_index("ix_notice_dispute_notice_id", "notice_dispute", ["notice_id"])
    op.create_index(
        "ix_notice_dispute_operator_submitted", "notice_dispute", ["operator_id", "submitted_at"]
    )
    op.create_table(
        "dispute_attachment",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("dispute_id", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", TS, nullable=False),
        sa.CheckConstraint("size_bytes > 0", name=op.f("ck_dispute_attachment_size")),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["notice_dispute.id"],
            name=op.f("fk_dispute_attachment_dispute_id_notice_dispute"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_attachment")),
        sa.UniqueConstraint("dispute_id", "sha256", name=op.f("uq_dispute_attachment_dispute_id")),
    )


def downgrade() -> None:
    op.drop_table("dispute_attachment")
    op.drop_index("ix_notice_dispute_operator_submitted", table_name="notice_dispute")
    op.drop_index("ix_notice_dispute_notice_id", table_name="notice_dispute")
    op.drop_table("notice_dispute")
    op.drop_constraint(op.f("ck_notice_kind"), "notice", type_="check")
    for column in ("read_by", "read_at", "escalation", "kind"):
        op.drop_column("notice", column)
