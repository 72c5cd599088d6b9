"""The city's zones for the map: the ``zone`` table (``fleet_monitor.models.rules.CityZone``).

The schema is known (its migration is part of the app): each zone's latest
version in force now, for every operator or for the account's own (a zone with
an ``operator`` slug is an operator's zone, hidden from other operators'
accounts), its geometry simplified to about a metre.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, text

from fleet_monitor.history.operators import operator_list
from rules.schedule import ScheduleError, parse_schedule

MAX_ZONES = 5000
SIMPLIFY_DEG = 0.00001  # about 1 m: lighter pages, no visible change

ZONES_SQL = f"""
SELECT kind, name, zone_id, schedule,
       ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, :tol), 6) AS geojson
FROM (
  SELECT DISTINCT ON (z.zone_id) z.zone_id, z.kind, z.name, z.geom,
         z.properties->'schedule' AS schedule
  FROM zone z
  WHERE (z.effective_from IS NULL OR z.effective_from <= now())
    AND (z.effective_to IS NULL OR z.effective_to > now())
    AND (z.operator IS NULL OR CAST(:scope AS text[]) IS NULL
         OR z.operator = ANY(CAST(:scope AS text[])))
  ORDER BY z.zone_id, z.version DESC
) latest
ORDER BY kind, zone_id
LIMIT {MAX_ZONES}
"""


@dataclass(frozen=True, slots=True)
class ZoneFeature:
    kind: str
    name: str
    zone_id: str | None
    geometry: dict[str, Any]


def load_zones(conn: Connection, scope: list[int] | None, lang: str = "fr") -> list[ZoneFeature]:
    """Zones in force now that the account may see (``scope``: its operator ids, None: all).

    A zone that applies only at times is named with its schedule (in ``lang``)."""
    # the account's operators by slug (a zone names its operator by slug)
    slugs = None if scope is None else [slug for i, slug, _ in operator_list(conn) if i in scope]
    rows = conn.execute(text(ZONES_SQL), {"scope": slugs, "tol": SIMPLIFY_DEG}).all()
    return [
        ZoneFeature(
            kind=row.kind,
            name=_with_schedule(row.name or "", row.schedule, lang),
            zone_id=row.zone_id,
            geometry=orjson.loads(row.geojson),
        )
        for row in rows
        if row.geojson
    ]


def _with_schedule(name: str, raw: Any, lang: str) -> str:
    if raw is None:
        return name
    try:
        when = parse_schedule(raw).describe(lang)
    except ScheduleError:
        return name
    return f"{name} ({when})" if name else when


def by_kind(zones: list[ZoneFeature]) -> dict[str, list[ZoneFeature]]:
    grouped: dict[str, list[ZoneFeature]] = {}
    for zone in zones:
        grouped.setdefault(zone.kind, []).append(zone)
    return grouped
