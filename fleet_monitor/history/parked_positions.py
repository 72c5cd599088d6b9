"""Where deployed vehicles stood at given instants: the positions behind a spatial
density (the negotiation pack's hexagon grid).

A vehicle is deployed at T when one of its stays in a deployed state
(``definitions.DEPLOYED_STATES``) covers T (``started_at <= T < ended_at``), the
statistics' definition. The stays are read once (those overlapping the instants'
span) and matched to the instants with a sorted search, so a year of daily
instants costs one pass over the stays, not one per instant. Stays without a
position (GBFS 2.x docked vehicles) are left out. Positions older than
``stats.position_history_days`` may have been coarsened to the retention grid
(``docs/statistics.md``, data protection).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from fleet_monitor.history.definitions import DEPLOYED_STATES

STAYS_SQL = """
SELECT operator_id, extract(epoch FROM started_at)::float8,
  coalesce(extract(epoch FROM ended_at)::float8, 'Infinity'::float8), ST_X(geom), ST_Y(geom)
FROM dwell
WHERE operator_id = ANY(%(ops)s) AND state = ANY(%(states)s) AND geom IS NOT NULL
  AND started_at <= %(last)s AND (ended_at IS NULL OR ended_at > %(first)s)
"""


@dataclass(slots=True)
class Positions:
    """Parallel arrays, one item per stay: where it was and at how many of the
    instants asked for (of its operator) it was there."""

    operator: np.ndarray  # int64
    lon: np.ndarray  # float64
    lat: np.ndarray  # float64
    instants: np.ndarray  # int64: instants covered

    @property
    def total(self) -> int:
        """Vehicle positions over all the instants (a vehicle counts once per instant)."""
        return int(self.instants.sum())


def deployed_positions(cur: Any, instants: Sequence[tuple[int, datetime]]) -> Positions:
    """The stays deployed at one or more of the ``(operator id, instant)``, with how
    many of their operator's instants each one covers (stays covering none left out)."""
    if not instants:
        e = np.empty(0)
        return Positions(e.astype(np.int64), e, e, e.astype(np.int64))
    times = [at for _op, at in instants]
    cur.execute(
        STAYS_SQL,
        {
            "ops": sorted({op for op, _at in instants}),
            "states": list(DEPLOYED_STATES),
            "first": min(times),
            "last": max(times),
        },
    )
    rows = cur.fetchall()
    cols = list(zip(*rows, strict=True)) if rows else [(), (), (), (), ()]
    operator = np.asarray(cols[0], dtype=np.int64)
    start = np.asarray(cols[1], dtype=np.float64)
    end = np.asarray(cols[2], dtype=np.float64)
    covered = np.zeros(len(operator), dtype=np.int64)
    for op in np.unique(operator):
        grid = np.sort([at.timestamp() for o, at in instants if o == op])
        mine = operator == op
        # instants t with start <= t < end
        covered[mine] = np.searchsorted(grid, end[mine], side="left") - np.searchsorted(
            grid, start[mine], side="left"
        )
    keep = covered > 0
    return Positions(
        operator=operator[keep],
        lon=np.asarray(cols[3], dtype=np.float64)[keep],
        lat=np.asarray(cols[4], dtype=np.float64)[keep],
        instants=covered[keep],
    )
