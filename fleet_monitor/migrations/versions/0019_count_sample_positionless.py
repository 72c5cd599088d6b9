"""Count samples state how many vehicles were listed without a position.

Revision ID: 0019
Revises: 0011
Create Date: 2026-12-04 23:30:00

GBFS 2.x allows a vehicle docked at a station to be listed without lat/lon. Such
a vehicle counts in the fleet caps and in no zone count (docs/rules.md,
"Vehicles without a position"); ``count_sample.positionless`` says how many of
the sample's ``deployed`` vehicles were such, so that every stored count can
state it. Earlier samples get 0 (positionless vehicles were then not counted).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "count_sample",
        sa.Column("positionless", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_count_sample_positionless_within_deployed"),
        "count_sample",
        "positionless >= 0 AND positionless <= deployed",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_count_sample_positionless_within_deployed"), "count_sample")
    op.drop_column("count_sample", "positionless")
