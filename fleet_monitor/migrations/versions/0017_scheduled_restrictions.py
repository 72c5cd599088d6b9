"""Zones of kind ``scheduled_restriction`` (markets, events: parking forbidden at times).

Revision ID: 0017
Revises: 0011
Create Date: 2026-12-04 23:30:00

Their schedule is kept with the zone's other properties (``zone.properties``,
key ``schedule``: weekly windows in local time, one-off events as UTC instants),
written by the zone import and read back by the rules engine.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0002"

BEFORE = (
    "'operating_area', 'no_parking', 'mandatory_parking', 'pedestrian', 'water', 'tram_tracks',"
    " 'district'"
)


def upgrade() -> None:
    op.drop_constraint(op.f("ck_zone_kind"), "zone", type_="check")
    op.create_check_constraint(
        op.f("ck_zone_kind"), "zone", f"kind IN ({BEFORE}, 'scheduled_restriction')"
    )


def downgrade() -> None:
    op.execute("DELETE FROM zone WHERE kind = 'scheduled_restriction'")
    op.drop_constraint(op.f("ck_zone_kind"), "zone", type_="check")
    op.create_check_constraint(op.f("ck_zone_kind"), "zone", f"kind IN ({BEFORE})")
