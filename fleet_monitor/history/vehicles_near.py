"""Vehicles published now near a point or over the city (``vehicle_current``):
the officers' "nearby" view (vehicles and open cases within a radius), the
vehicles matched to a resident's report, and the extent of the current positions
(the city's area when no operating area is loaded).

Each function runs on the caller's SQLAlchemy connection or psycopg cursor (its
transaction). Distances are in metres, on geography; a bounding box in degrees
(which surely holds the circle) comes first so that the index is used.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, text

_NEAR_SQL = text(
    """
SELECT o.slug, o.name, vc.gbfs_id, vc.vehicle_type_id, vc.state,
       round((vc.fuel_percent * 100)::numeric) AS battery, vc.lat, vc.lon,
       ST_Distance(geography(ST_MakePoint(vc.lon, vc.lat)), geography(ST_MakePoint(:lon, :lat)))
         AS distance_m
FROM vehicle_current vc JOIN operator o ON o.id = vc.operator_id
WHERE vc.missing_since IS NULL AND vc.lat IS NOT NULL AND vc.lon IS NOT NULL
  AND vc.lat BETWEEN :lat - :dlat AND :lat + :dlat AND vc.lon BETWEEN :lon - :dlon AND :lon + :dlon
  AND ST_DWithin(geography(ST_MakePoint(vc.lon, vc.lat)), geography(ST_MakePoint(:lon, :lat)), :r)
  AND (CAST(:scope AS int[]) IS NULL OR vc.operator_id = ANY(CAST(:scope AS int[])))
ORDER BY distance_m, vc.gbfs_id
LIMIT :limit
"""
)

_CASES_NEAR_SQL = text(
    """
SELECT v.id, v.rule_type, o.name, v.gbfs_id, ST_Y(v.geom) AS lat, ST_X(v.geom) AS lon,
       ST_Distance(geography(v.geom), geography(ST_MakePoint(:lon, :lat))) AS distance_m
FROM violation v JOIN operator o ON o.slug = v.operator
WHERE v.state <> 'closed' AND v.geom IS NOT NULL
  AND ST_DWithin(geography(v.geom), geography(ST_MakePoint(:lon, :lat)), :r)
  AND (CAST(:scope AS int[]) IS NULL OR o.id = ANY(CAST(:scope AS int[])))
ORDER BY distance_m, v.id
LIMIT :limit
"""
)

_MATCH_SQL = text(
    """
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g)
SELECT vc.vehicle_id, vc.gbfs_id, o.slug, vc.state, vc.vehicle_type_id,
       ST_Distance(vc.geom::geography, p.g::geography) AS d
FROM vehicle_current vc JOIN operator o ON o.id = vc.operator_id, p
WHERE vc.missing_since IS NULL AND vc.geom IS NOT NULL
  AND vc.geom && ST_Expand(p.g, :deg)
  AND ST_DWithin(vc.geom::geography, p.g::geography, :radius)
  AND (CAST(:op AS int) IS NULL OR vc.operator_id = :op)
ORDER BY d, vc.vehicle_id
LIMIT :limit
"""
)


def vehicles_near(conn: Connection, params: dict[str, Any]) -> list[Any]:
    """Vehicles listed now with a position within ``r`` metres of (``lat``, ``lon``),
    nearest first: (slug, name, gbfs_id, vehicle_type_id, state, battery %, lat, lon,
    distance_m). ``params``: lat, lon, r, dlat/dlon (the box in degrees), scope
    (operator ids, None: every operator), limit."""
    return list(conn.execute(_NEAR_SQL, params).all())


def open_cases_near(conn: Connection, params: dict[str, Any]) -> list[Any]:
    """Violations not closed within ``r`` metres, nearest first, with the operator's
    name: (id, rule_type, name, gbfs_id, lat, lon, distance_m); ``params`` as
    :func:`vehicles_near`."""
    return list(conn.execute(_CASES_NEAR_SQL, params).all())


def vehicles_matching(
    conn: Connection,
    lat: float,
    lon: float,
    deg: float,
    radius_m: float,
    operator_id: int | None,
    limit: int,
) -> list[Row[Any]]:
    """Vehicles listed now within ``radius_m`` of the point (optionally of one
    operator), nearest first: (vehicle_id, gbfs_id, slug, state, vehicle_type_id,
    distance_m); ``deg``: a box in degrees that holds the circle."""
    return list(
        conn.execute(
            _MATCH_SQL,
            {
                "lat": lat,
                "lon": lon,
                "deg": deg,
                "radius": radius_m,
                "op": operator_id,
                "limit": limit,
            },
        ).all()
    )


def current_positions_extent(cur: Any) -> tuple[Any, Any, Any, Any] | None:
    """The 1st and 99th percentiles of the current positions' longitudes and
    latitudes (lon0, lat0, lon1, lat1; None values when no vehicle), on a psycopg
    cursor: a box that leaves out stray positions."""
    cur.execute(
        "SELECT percentile_disc(0.01) WITHIN GROUP (ORDER BY lon),"
        " percentile_disc(0.01) WITHIN GROUP (ORDER BY lat),"
        " percentile_disc(0.99) WITHIN GROUP (ORDER BY lon),"
        " percentile_disc(0.99) WITHIN GROUP (ORDER BY lat)"
        " FROM vehicle_current WHERE lon BETWEEN -180 AND 180 AND lat BETWEEN -90 AND 90"
    )
    row = cur.fetchone()
    return None if row is None else (row[0], row[1], row[2], row[3])
