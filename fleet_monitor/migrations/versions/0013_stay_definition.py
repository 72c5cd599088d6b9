"""Stays under one written definition (issue 11): a version on each stay, the
counters that make its confidence, and the events recorded inside a stay.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-04 23:30:00

Existing ``dwell`` rows were computed under the first definition (a stay ended
on any state change, a move beyond ``ingest.gps_noise_m`` of the last position,
or a vanished id): they keep it and are marked ``definition_version = 1``. They
are not recomputed: the raw files behind them may already be past retention,
and a closed violation's evidence quotes them as they were (the migration does
not touch ``violation`` at all). Rows written from now on are version 2 (the
column default is switched after the existing rows are marked), see
docs/ingest.md "Stays". An open version-1 stay ends under the new rules at its
next event; its findings say which definition measured them.

On the ingest chain (0008) as well, hence ``depends_on``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0008"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column(
        "dwell",
        sa.Column("definition_version", sa.SmallInteger(), nullable=False, server_default="1"),
    )
    # existing rows are version 1; rows the ingest writes from now on are version 2
    op.alter_column("dwell", "definition_version", server_default="2")
    for name, kind in (("bridged_gaps", sa.Integer()), ("grace_absences", sa.Integer())):
        op.add_column("dwell", sa.Column(name, kind, nullable=False, server_default="0"))
    op.add_column("dwell", sa.Column("bridged_s", sa.Float(), nullable=False, server_default="0"))
    op.add_column(
        "vehicle_current",
        sa.Column("absent_polls", sa.SmallInteger(), nullable=False, server_default="0"),
    )
    # a single fix beyond the drift tolerance awaits the next poll's confirmation
    op.add_column("vehicle_current", sa.Column("far_since", TS))
    op.create_table(
        "dwell_event",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("dwell_id", sa.BigInteger(), nullable=False),
        sa.Column("vehicle_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "feed_id",
            sa.Integer(),
            sa.ForeignKey("feed.id", ondelete="CASCADE", name="fk_dwell_event_feed_id_feed"),
            nullable=False,
        ),
        sa.Column("at", TS, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),  # state | gap | absence | back
        sa.Column("state", sa.String(16)),
        sa.Column("seconds", sa.Float()),
        sa.Column("detail", sa.Text()),
        sa.Column("fetch_id", sa.BigInteger()),
    )
    op.create_index("ix_dwell_event_dwell_at", "dwell_event", ["dwell_id", "at"])
    op.create_index("ix_dwell_event_feed_at", "dwell_event", ["feed_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_dwell_event_feed_at", table_name="dwell_event")
    op.drop_index("ix_dwell_event_dwell_at", table_name="dwell_event")
    op.drop_table("dwell_event")
    op.drop_column("vehicle_current", "far_since")
    op.drop_column("vehicle_current", "absent_polls")
    for name in ("bridged_s", "grace_absences", "bridged_gaps", "definition_version"):
        op.drop_column("dwell", name)
