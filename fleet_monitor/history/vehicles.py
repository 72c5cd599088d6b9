"""Vehicles as of now, for the officers' map (``/api/vehicles``) and its counters.

The map's markers, and so its per-operator counters (``map.js`` counts them), are
the rows of this one query: vehicles currently listed (not vanished) with a
position; a vehicle's open violations are those in state ``open`` or ``held``
(``history.definitions``: a feed outage does not end a violation). Vehicles
listed without a position (GBFS 2.x: docked at a station) cannot be drawn: their
number under the same filters goes with the collection as the GeoJSON foreign
member ``positionless`` (issue 13), so the map states what its count leaves out.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, text

from fleet_monitor.history.vehicle_features import (
    OPERATOR_JSON,
    VIOLATION_ITEMS,
    FeatureColumns,
    feature_collection_sql,
)

CURRENT = FeatureColumns(
    vehicle_id="vc.vehicle_id",
    lon="vc.lon",
    lat="vc.lat",
    gbfs_id="vc.gbfs_id",
    state="vc.state",
    vehicle_type="vc.vehicle_type_id",
    fuel_percent="vc.fuel_percent",
    range_m="vc.range_m",
    started_at="d.started_at",
    start_confidence="d.start_confidence",
)

# One pass over the listed vehicles under the filters: those with a position are
# the features (``history.vehicle_features``: the feature, its violations), the
# others are counted as ``positionless``. Vehicles that vanished (awaiting an
# ID-rotation link) are neither. A vehicle's open violations are those in state
# ``open`` or ``held``, of the vehicle's operator (so scoping stays the vehicle's).
VEHICLES_SQL = text(
    "SELECT "
    + feature_collection_sql(
        CURRENT,
        drawn="vc.lat IS NOT NULL AND vc.lon IS NOT NULL",
        members=(
            """ || ',"positionless":'"""
            " || count(*) FILTER (WHERE vc.lat IS NULL OR vc.lon IS NULL)"
        ),
    )
    + f"""
FROM vehicle_current vc
JOIN {OPERATOR_JSON} o ON o.id = vc.operator_id
LEFT JOIN dwell d ON d.id = vc.dwell_id
LEFT JOIN (
    SELECT v.vehicle_id, v.operator, {VIOLATION_ITEMS} AS items
    FROM violation v
    WHERE v.state IN ('open', 'held') AND v.vehicle_id IS NOT NULL
    GROUP BY v.vehicle_id, v.operator
) ov ON ov.vehicle_id = vc.vehicle_id AND ov.operator = o.slug
WHERE vc.missing_since IS NULL
  AND (CAST(:operator AS text) IS NULL OR o.slug = :operator)
  AND (CAST(:scope AS int[]) IS NULL OR vc.operator_id = ANY(CAST(:scope AS int[])))
  AND (CAST(:states AS text[]) IS NULL OR vc.state = ANY(CAST(:states AS text[])))
  AND (CAST(:parked_before AS timestamptz) IS NULL OR d.started_at <= :parked_before)
"""
)


def current_vehicles_geojson(
    conn: Connection,
    *,
    operator: str | None,
    scope: list[int] | None,
    states: list[str] | None,
    parked_before: datetime | None,
    head: str = "",
) -> str:
    """The current vehicles as a GeoJSON FeatureCollection (text, built by PostgreSQL).

    ``operator``: one slug; ``scope``: the operator ids the account may see (None: all);
    ``states``: vehicle states; ``parked_before``: parked since at most then;
    ``head``: foreign members (JSON text ending with a comma, already encoded) put
    before ``features``. The collection ends with the foreign member ``positionless``.
    """
    params = {
        "head": head,
        "operator": operator,
        "scope": scope,
        "states": states,
        "parked_before": parked_before,
    }
    return str(conn.execute(VEHICLES_SQL, params).scalar_one())
