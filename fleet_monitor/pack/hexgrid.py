"""The hexagon grid (H3) of the pack: parking density and violations per hexagon, and
the city's own layers to draw them on (no tiles, no network).

* **Parking density**: at each day's idle sample (``stats.idle_sample_time``, 03:30
  local, the CROW indicator; only the samples the statistics count as observed,
  ``stats_coverage_day.idle_observed``), the vehicles deployed (the statistics'
  definition: a stay in a deployed state covers the instant) counted in their H3
  cell by the day aggregation (``stats.parked_cells``, ``stats_parked_cell_day``).
  Per operator, the mean over its observed samples; the cells of several
  operators add up.
* **Violations**: findings of the rules engine opened in the period at a position,
  uncertain ones (within the GPS tolerance of a border) left out, as in the
  scorecard.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import h3
import numpy as np
import shapely

from fleet_monitor.stats.parked_cells import RESOLUTION
from fleet_monitor.stats.periods import Period

# the cells are summed over the observed samples of each operator, in the database:
# a year is ~365 x cells x operators rows, read as one row per (operator, cell)
CELLS_SQL = """
SELECT p.operator_id, p.cell, sum(p.vehicles)::bigint FROM stats_parked_cell_day p
JOIN stats_coverage_day c ON c.day = p.day AND c.operator_id = p.operator_id
WHERE p.day >= %s AND p.day < %s AND p.operator_id = ANY(%s) AND c.idle_observed
GROUP BY p.operator_id, p.cell
"""

SAMPLES_SQL = """
SELECT operator_id, idle_sampled_at FROM stats_coverage_day
WHERE day >= %s AND day < %s AND operator_id = ANY(%s) AND idle_observed
ORDER BY operator_id, day
"""

VIOLATIONS_SQL = """
SELECT ST_X(geom), ST_Y(geom) FROM violation
WHERE opened_at >= %s AND opened_at < %s AND operator = ANY(%s)
  AND status <> 'uncertain' AND geom IS NOT NULL AND GeometryType(geom) = 'POINT'
"""

LAYERS_SQL = """
SELECT DISTINCT ON (zone_id) zone_id, kind, name, ST_AsBinary(geom) FROM zone
WHERE kind = ANY(%s) AND operator IS NULL
  AND (effective_from IS NULL OR effective_from < %s)
  AND (effective_to IS NULL OR effective_to > %s)
ORDER BY zone_id, version DESC
"""


@dataclass(slots=True)
class CityLayers:
    districts: list[tuple[str, Any]] = field(default_factory=list)  # (name, geometry)
    water: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def boundary(self) -> Any:
        if not self.districts:
            return None
        return shapely.union_all([g for _n, g in self.districts])


@dataclass(slots=True)
class HexGrid:
    resolution: int
    density: dict[str, float]  # cell -> mean vehicles parked
    violations: dict[str, int]  # cell -> findings
    samples: int  # observed daily samples used (all operators)
    sample_days: int  # days with at least one observed sample
    positions: int  # vehicle positions read
    violation_points: int
    layers: CityLayers

    @property
    def cell_area_km2(self) -> float:
        return float(h3.average_hexagon_area(self.resolution, unit="km^2"))

    @property
    def cell_edge_m(self) -> float:
        return float(h3.average_hexagon_edge_length(self.resolution, unit="m"))


def cells_of(lat: np.ndarray, lon: np.ndarray, resolution: int = RESOLUTION) -> list[str]:
    return [
        h3.latlng_to_cell(float(a), float(b), resolution) for a, b in zip(lat, lon, strict=True)
    ]


def load_layers(cur: Any, period: Period) -> CityLayers:
    cur.execute(LAYERS_SQL, (["district", "water"], period.stop, period.start))
    layers = CityLayers()
    for zone_id, kind, name, wkb in cur.fetchall():
        geom = shapely.from_wkb(bytes(wkb))
        (layers.districts if kind == "district" else layers.water).append((name or zone_id, geom))
    return layers


def build_hexgrid(
    cur: Any, period: Period, operators: Sequence[tuple[int, str]], resolution: int = RESOLUTION
) -> HexGrid:
    """``operators``: (id, slug) of the operators the pack covers; ``resolution`` at
    most the aggregates' (coarser grids add up the cells' children)."""
    if not 0 <= resolution <= RESOLUTION:
        raise ValueError(f"H3 resolution {resolution}: the aggregates hold {RESOLUTION} at most")
    ids = [i for i, _s in operators]
    cur.execute(SAMPLES_SQL, (period.first, period.end, ids))
    instants = [(int(op), at) for op, at in cur.fetchall()]
    per_operator = Counter(op for op, _at in instants)
    cur.execute(CELLS_SQL, (period.first, period.end, ids))
    density: dict[str, float] = {}
    positions = 0
    for op, cell, n in cur.fetchall():
        key = h3.int_to_str(int(cell))
        if resolution < RESOLUTION:
            key = h3.cell_to_parent(key, resolution)
        density[key] = density.get(key, 0.0) + int(n) / per_operator[int(op)]
        positions += int(n)
    cur.execute(VIOLATIONS_SQL, (period.start, period.stop, [s for _i, s in operators]))
    points = cur.fetchall()
    lon = np.asarray([p[0] for p in points], dtype=np.float64)
    lat = np.asarray([p[1] for p in points], dtype=np.float64)
    violations = dict(Counter(cells_of(lat, lon, resolution)))
    return HexGrid(
        resolution=resolution,
        density=density,
        violations=violations,
        samples=len(instants),
        sample_days=len({at.astimezone(period.tz).date() for _op, at in instants}),
        positions=positions,
        violation_points=len(points),
        layers=load_layers(cur, period),
    )


def cell_polygon(cell: str) -> list[tuple[float, float]]:
    """The cell's outline as (lon, lat) pairs."""
    return [(lng, lat) for lat, lng in h3.cell_to_boundary(cell)]
