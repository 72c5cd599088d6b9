"""Parking density per H3 cell, aggregated with each statistics day.

Revision ID: 0023
Revises: 0005
Create Date: 2026-12-05 08:40:00

``stats_parked_cell_day``: at the daily idle sample, the vehicles deployed per
operator and H3 cell of resolution 9 (``fleet_monitor.stats.parked_cells``). The
negotiation pack's density map used to read every stay of its period back at
print time: a year at city scale is tens of millions of rows (see
``bench/bench_pack.py``). Days aggregated before this revision have no cell rows
until they are aggregated again: ``fleet-monitor stats aggregate --recompute
--from YYYY-MM-DD`` (the positions they need must still be in the history).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stats_parked_cell_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("operator_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("cell", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("vehicles", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "operator_id", "cell", name=op.f("pk_stats_parked_cell_day")
        ),
    )


def downgrade() -> None:
    op.drop_table("stats_parked_cell_day")
