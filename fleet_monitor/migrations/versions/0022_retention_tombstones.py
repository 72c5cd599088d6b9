"""Retention of personal data: erased photos leave a tombstone (hash, when, why).

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-05 00:55:00

``case_photo.data`` becomes nullable: the retention job (``fleet_monitor.retention``)
erases the image of a closed case's on-site check once ``retention.case_photo_days``
have passed, and keeps the row (SHA-256, size, who took it and when) with
``erased_at`` and ``erased_reason``, so the evidence trail still says which photo
existed. ``resident_report`` gets the same tombstone for its contact and photo:
``photo_sha256`` (computed just before the photo is erased) and
``private_erased_at`` / ``private_erased_reason``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0021",)

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.alter_column("case_photo", "data", existing_type=sa.LargeBinary(), nullable=True)
    op.add_column("case_photo", sa.Column("erased_at", TS, nullable=True))
    op.add_column("case_photo", sa.Column("erased_reason", sa.Text(), nullable=True))
    op.create_check_constraint(
        op.f("ck_case_photo_erased"), "case_photo", "(data IS NULL) = (erased_at IS NOT NULL)"
    )
    op.add_column("resident_report", sa.Column("photo_sha256", sa.String(64), nullable=True))
    op.add_column("resident_report", sa.Column("private_erased_at", TS, nullable=True))
    op.add_column("resident_report", sa.Column("private_erased_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("resident_report", "private_erased_reason")
    op.drop_column("resident_report", "private_erased_at")
    op.drop_column("resident_report", "photo_sha256")
    op.drop_constraint(op.f("ck_case_photo_erased"), "case_photo", type_="check")
    op.drop_column("case_photo", "erased_reason")
    op.drop_column("case_photo", "erased_at")
    # erased photos cannot get their image back: their rows go with the downgrade
    op.execute("DELETE FROM case_photo WHERE data IS NULL")
    op.alter_column("case_photo", "data", existing_type=sa.LargeBinary(), nullable=False)
