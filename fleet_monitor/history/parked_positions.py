"""Where given stays stood: the positions behind the daily parking density (the
statistics' day aggregation bins the vehicles deployed at the idle sample into H3
cells, ``stats.parked_cells``; the negotiation pack draws them).

Stays are found by primary key (the day aggregation already knows which stays
cover its idle sample), so a day costs one index lookup per deployed vehicle.
Stays without a position (GBFS 2.x docked vehicles) are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

POSITIONS_SQL = """
SELECT id, ST_X(geom), ST_Y(geom) FROM dwell
WHERE id = ANY(%s) AND geom IS NOT NULL
"""


def stay_positions(cur: Any, dwell_ids: Sequence[int]) -> dict[int, tuple[float, float]]:
    """``{dwell id: (lon, lat)}`` of the stays that have a position."""
    if not dwell_ids:
        return {}
    cur.execute(POSITIONS_SQL, (list(dwell_ids),))
    return {int(i): (float(x), float(y)) for i, x, y in cur.fetchall()}
