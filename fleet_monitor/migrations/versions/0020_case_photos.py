"""Photos of on-site checks: re-encoded JPEG (no metadata), with their SHA-256.

Revision ID: 0020
Revises: 0011
Create Date: 2026-12-04 23:45:00

One row per photo of an on-site check, attached to the case (violation) and to
the on-site note it was taken with. ``data`` holds the server's re-encoding
(never the uploaded bytes: those may carry the tablet's position, owner and
serial number in their EXIF); ``sha256`` is the hash of ``data``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0002", "0004")

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "case_photo",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("violation_id", sa.BigInteger(), nullable=False),
        sa.Column("note_id", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", TS, nullable=False),
        sa.Column("uploaded_by", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["violation_id"],
            ["violation.id"],
            name=op.f("fk_case_photo_violation_id_violation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_photo")),
        sa.UniqueConstraint("violation_id", "sha256", name=op.f("uq_case_photo_violation_sha")),
    )
    op.create_index("ix_case_photo_violation", "case_photo", ["violation_id"])


def downgrade() -> None:
    op.drop_index("ix_case_photo_violation", table_name="case_photo")
    op.drop_table("case_photo")
