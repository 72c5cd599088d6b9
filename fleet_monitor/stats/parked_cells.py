"""Parking density per H3 cell at the daily idle sample, aggregated with the day.

At each day's idle sample (``stats.idle_sample_time``, 03:30 local, the CROW
indicator) the vehicles deployed then (the statistics' definition: a stay in a
deployed state covers the instant, ``dayfleet.idle_dwells``) are counted per
operator in their H3 cell of resolution 9 (~0.1 km², ~174 m edge). The day job
writes those counts (``stats_parked_cell_day``); the negotiation pack's density
map reads them for the days whose sample was observed.

Why aggregated with the day and not read back from the stays at print time: a
year's pack for 20,000 vehicles would read ~30 million stays (the benchmark,
``bench/bench_pack.py``, measured 13 s and 1.4 GB for 2,000 vehicles), and
positions older than ``stats.position_history_days`` are coarsened or deleted by
the data-protection job, while cell counts are aggregate figures that may stay.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import h3
import numpy as np

from fleet_monitor.history.stays import Dwells

RESOLUTION = 9


def cell_of(lat: float, lon: float, resolution: int = RESOLUTION) -> int:
    """The H3 cell (as its 64-bit integer) containing a point."""
    return int(h3.str_to_int(h3.latlng_to_cell(lat, lon, resolution)))


def cell_rows(
    day: date, dwells: Dwells, idx: np.ndarray, positions: dict[int, tuple[float, float]]
) -> list[tuple[date, int, int, int]]:
    """``(day, operator id, cell, vehicles)`` for the stays ``idx`` (those covering the
    idle sample) that have a position."""
    counts: Counter[tuple[int, int]] = Counter()
    for i in idx.tolist():
        where = positions.get(int(dwells.ids[i]))
        if where is not None:
            lon, lat = where
            counts[(int(dwells.operator[i]), cell_of(lat, lon))] += 1
    return [(day, op, cell, n) for (op, cell), n in sorted(counts.items())]
