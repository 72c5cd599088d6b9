"""The map as of a past time: ``/api/vehicles?at=...`` from the stored history.

Where each vehicle stood at ``at`` is its stay (``dwell``) that had started
and not yet ended then; its violations are those that had started (``since``,
else their detection) and were not yet closed. The answer has the shape of
the live one (a FeatureCollection with ``now`` set to ``at``, so that the
map's parked durations are measured at that time). Battery and range are not
in the history: they are left out. ``MAX_DAYS`` back at most (the time
control's range; older history may have been purged by the retention policy).
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

MAX_DAYS = 7

# The stay's row stands for the vehicle; battery and range are not kept.
STAYED = FeatureColumns(
    vehicle_id="d.vehicle_id",
    lon="d.lon",
    lat="d.lat",
    gbfs_id="d.gbfs_id",
    state="d.state",
    vehicle_type="d.vehicle_type_id",
    fuel_percent="NULL::float8",
    range_m="NULL::float8",
    started_at="d.started_at",
    start_confidence="d.start_confidence",
)

HISTORY_SQL = text(
    "SELECT "
    + feature_collection_sql(STAYED, drawn="TRUE")
    + f"""
FROM dwell d
JOIN {OPERATOR_JSON} o ON o.id = d.operator_id
LEFT JOIN (
    SELECT v.vehicle_id, v.operator, {VIOLATION_ITEMS} AS items
    FROM violation v
    WHERE v.vehicle_id IS NOT NULL
      AND coalesce(v.since, v.opened_at) <= :at
      AND (v.closed_at IS NULL OR v.closed_at > :at)
    GROUP BY v.vehicle_id, v.operator
) ov ON ov.vehicle_id = d.vehicle_id AND ov.operator = o.slug
WHERE d.started_at <= :at AND (d.ended_at IS NULL OR d.ended_at > :at)
  AND d.lat IS NOT NULL AND d.lon IS NOT NULL
  AND (CAST(:operator AS text) IS NULL OR o.slug = :operator)
  AND (CAST(:scope AS int[]) IS NULL OR d.operator_id = ANY(CAST(:scope AS int[])))
  AND (CAST(:states AS text[]) IS NULL OR d.state = ANY(CAST(:states AS text[])))
  AND (CAST(:parked_before AS timestamptz) IS NULL OR d.started_at <= :parked_before)
"""
)


def past_vehicles_geojson(
    conn: Connection,
    *,
    at: datetime,
    head: str = "",
    operator: str | None,
    scope: list[int] | None,
    states: list[str] | None,
    parked_before: datetime | None,
) -> str:
    """The vehicles as they stood at ``at`` (same shape as the live answer)."""
    params = {
        "at": at,
        "head": head,
        "operator": operator,
        "scope": scope,
        "states": states,
        "parked_before": parked_before,
    }
    return str(conn.execute(HISTORY_SQL, params).scalar_one())
