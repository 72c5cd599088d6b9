"""Where deployed vehicles stood at given instants: the positions behind a spatial
density (the negotiation pack's hexagon grid).

A vehicle is deployed at T when one of its stays in a deployed state
(``definitions.DEPLOYED_STATES``) covers T (``started_at <= T < ended_at``), the
statistics' definition. Stays without a position (GBFS 2.x docked vehicles) are
left out. Positions older than ``stats.position_history_days`` may have been
coarsened to the retention grid (``docs/statistics.md``, data protection).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from fleet_monitor.history.definitions import DEPLOYED_STATES

POSITIONS_SQL = """
SELECT t.i, d.operator_id, ST_X(d.geom), ST_Y(d.geom)
FROM unnest(%(ts)s::timestamptz[], %(ops)s::int[]) WITH ORDINALITY AS t(at, op, i)
JOIN dwell d ON d.operator_id = t.op AND d.started_at <= t.at
  AND (d.ended_at IS NULL OR d.ended_at > t.at)
WHERE d.state = ANY(%(states)s) AND d.geom IS NOT NULL
"""


@dataclass(slots=True)
class Positions:
    """Parallel arrays, one item per vehicle deployed at one of the instants."""

    instant: np.ndarray  # int64: index in the instants asked for
    operator: np.ndarray  # int64
    lon: np.ndarray  # float64
    lat: np.ndarray  # float64

    def __len__(self) -> int:
        return len(self.instant)


def deployed_positions(cur: Any, instants: Sequence[tuple[int, datetime]]) -> Positions:
    """Positions of the vehicles deployed at each ``(operator id, instant)``."""
    cur.execute(
        POSITIONS_SQL,
        {
            "ts": [at for _op, at in instants],
            "ops": [op for op, _at in instants],
            "states": list(DEPLOYED_STATES),
        },
    )
    rows = cur.fetchall()
    cols = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
    return Positions(
        instant=np.asarray(cols[0], dtype=np.int64) - 1,
        operator=np.asarray(cols[1], dtype=np.int64),
        lon=np.asarray(cols[2], dtype=np.float64),
        lat=np.asarray(cols[3], dtype=np.float64),
    )
