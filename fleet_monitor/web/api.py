"""JSON API: current vehicles as GeoJSON, and a health check."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from fleet_monitor.web.db import get_engine

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api")

SLUG_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# The whole FeatureCollection is built by PostgreSQL in one query and sent as is:
# no Python object per vehicle. The per-feature envelope is concatenated text
# (only integers and rounded numbers go in raw; every string goes through
# json_build_object, which escapes it): measured about 1.5x faster than nesting
# json_build_object/json_agg, and more compact. Vehicles that vanished (awaiting
# an ID-rotation link) or without coordinates (docked at a station) are not drawn.
VEHICLES_SQL = text(
    """
SELECT '{"type":"FeatureCollection","features":['
       || coalesce(string_agg(
            '{"type":"Feature","id":' || vc.vehicle_id
            || ',"geometry":{"type":"Point","coordinates":['
            || round(vc.lon::numeric, 6) || ',' || round(vc.lat::numeric, 6) || ']}'
            || ',"properties":' || json_build_object(
                 'operator', o.slug,
                 'gbfs_id', vc.gbfs_id,
                 'state', vc.state,
                 'vehicle_type', vc.vehicle_type_id,
                 'battery_pct', round((vc.fuel_percent * 100)::numeric),
                 'range_m', round(vc.range_m::numeric),
                 'parked_since',
                   to_char(d.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                 'parked_since_confidence', d.start_confidence
               )::text
            || '}',
            ','), '')
       || ']}'
FROM vehicle_current vc
JOIN operator o ON o.id = vc.operator_id
LEFT JOIN dwell d ON d.id = vc.dwell_id
WHERE vc.missing_since IS NULL
  AND vc.lat IS NOT NULL AND vc.lon IS NOT NULL
  AND (CAST(:operator AS text) IS NULL OR o.slug = :operator)
"""
)


@bp.get("/vehicles")
def vehicles() -> Response:
    """Current vehicles as a GeoJSON FeatureCollection; ``?operator=slug`` filters."""
    operator = request.args.get("operator") or None
    if operator is not None and not SLUG_RE.match(operator):
        return _error(400, "operator must be an operator slug")
    with get_engine().connect() as conn:
        body = conn.execute(VEHICLES_SQL, {"operator": operator}).scalar_one()
    response = Response(body, mimetype="application/geo+json")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/health")
def health() -> tuple[Response, int]:
    """Liveness and database reachability, for load balancers and monitoring."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("health check: database unreachable: %s", type(exc).__name__)
        return jsonify(status="error", database="unreachable", time=now), 503
    return jsonify(status="ok", database="ok", time=now), 200


def _error(status: int, message: str) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    return response
