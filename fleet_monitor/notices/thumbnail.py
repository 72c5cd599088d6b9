"""A location map per vehicle, drawn from the city's own layers (no tiles, no internet).

``situation(session, lon, lat, at)`` reads the city's zones (latest version in
force at ``at``) around the vehicle, clipped to a square of ``RADIUS_M`` either
side, simplified to a metre, and returns them in metres east / north of the
vehicle: a small, plain structure stored in the notice's payload, so the PDF
(``notice_pdf.draw_situation``) can be rebuilt from the payload alone.
Distances use Web Mercator scaled by the cosine of the latitude: within a few
hundred metres the error is far below the line widths drawn.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

RADIUS_M = 120.0
MAX_POINTS = 1500  # per map: a huge or hostile zone cannot swell the payload
KINDS = ("water", "no_parking", "pedestrian", "tram_tracks", "mandatory_parking", "district")

SQL = """
WITH b AS (
  SELECT ST_Expand(ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 3857),
                   :r / cos(radians(:lat))) AS box
)
SELECT z.kind, z.name,
       ST_AsGeoJSON(ST_Intersection(
         ST_SimplifyPreserveTopology(ST_Transform(z.geom, 3857), 1.0), b.box), 1)
FROM b, (
  SELECT DISTINCT ON (zone_id) zone_id, kind, name, geom FROM zone
  WHERE kind = ANY(:kinds)
    AND (effective_from IS NULL OR effective_from <= :at)
    AND (effective_to IS NULL OR effective_to > :at)
  ORDER BY zone_id, version DESC
) z
WHERE ST_Intersects(z.geom, ST_Transform(b.box, 4326))
ORDER BY array_position(CAST(:kinds AS text[]), z.kind), z.zone_id
"""


def _rings(geom: dict[str, Any]) -> list[list[list[float]]]:
    kind, coords = geom.get("type"), geom.get("coordinates")
    if kind == "Polygon":
        return [coords[0]] if coords else []
    if kind == "MultiPolygon":
        return [p[0] for p in coords if p]
    if kind == "LineString":
        return [coords]
    if kind == "MultiLineString":
        return list(coords)
    if kind == "GeometryCollection":
        return [r for g in geom.get("geometries", []) for r in _rings(g)]
    return []


def situation(session: Session, lon: float, lat: float, at: datetime) -> dict[str, Any]:
    """The zones around a vehicle, in metres relative to it (see the module docstring)."""
    rows = session.execute(
        text(SQL), {"lon": lon, "lat": lat, "r": RADIUS_M, "kinds": list(KINDS), "at": at}
    ).all()
    scale = math.cos(math.radians(lat))
    r = 6378137.0
    px = math.radians(lon) * r
    py = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * r
    shapes, points = [], 0
    for kind, name, geojson in rows:
        if geojson is None:
            continue
        for ring in _rings(orjson.loads(geojson)):
            pts = [[round((x - px) * scale, 1), round((y - py) * scale, 1)] for x, y in ring]
            if len(pts) < 2 or points + len(pts) > MAX_POINTS:
                continue
            points += len(pts)
            shapes.append({"kind": kind, "name": name or "", "points": pts})
    return {"radius_m": RADIUS_M, "shapes": shapes}
