"""JSON API: current vehicles as GeoJSON, and a health check.

``/api/vehicles`` needs a signed-in account and is scoped on the server: an
operator account only ever gets its own operator's vehicles, whatever the
query parameters. ``/api/health`` is public (load balancers, monitoring).
State-changing API calls (none yet) need the ``X-CSRFToken`` header.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from fleet_monitor.history.data_age import operators_health
from fleet_monitor.history.vehicles import current_vehicles_geojson
from fleet_monitor.history.vehicles_past import MAX_DAYS, past_vehicles_geojson
from fleet_monitor.web.clock import iso_z, service_now
from fleet_monitor.web.db import get_engine
from fleet_monitor.web.encode import json_for_html
from fleet_monitor.web.errors import RETRY_AFTER_S, outage_log
from fleet_monitor.web.permissions import scope_param

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api")

SLUG_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
STATES = frozenset({"available", "reserved", "disabled"})
MAX_PARKED_DAYS = 3650


@bp.get("/vehicles")
def vehicles() -> Response:
    """Current vehicles visible to the account, as a GeoJSON FeatureCollection.

    Filters: ``?operator=slug``, ``?state=available,disabled`` (or repeated),
    ``?min_parked_days=N`` (parked at least N days, from the dwell's start),
    ``?at=ISO time`` (the map as it was then, from the history: last 7 days).
    A feature's ``violations`` lists the vehicle's open or held violations (absent: none).
    Foreign members: ``now`` (the service's clock: durations are computed against it,
    never the browser's) and ``operators`` (:func:`operators_health`, per slug).
    ``positionless``: how many vehicles matching the filters are listed without a
    position (docked at a station) and so are not among the features.
    """
    operator = request.args.get("operator") or None
    if operator is not None and not SLUG_RE.match(operator):
        return _error(400, "operator must be an operator slug")
    states = sorted({s for v in request.args.getlist("state") for s in v.split(",") if s})
    if not STATES.issuperset(states):
        return _error(400, f"state must be among {', '.join(sorted(STATES))}")
    now = service_now()
    at = None
    raw_at = request.args.get("at") or None
    if raw_at is not None:
        try:
            at = datetime.fromisoformat(raw_at.replace("Z", "+00:00"))
        except ValueError:
            at = None
        if at is None or at.tzinfo is None or not now - timedelta(days=MAX_DAYS) <= at <= now:
            return _error(
                400, f"at must be an ISO time with its offset, in the last {MAX_DAYS} days"
            )
        now = at  # the map as it was: durations measured at that time
    parked_before = None
    raw_days = request.args.get("min_parked_days") or None
    if raw_days is not None:
        try:
            days = float(raw_days)
        except ValueError:
            days = -1.0
        if not 0 <= days <= MAX_PARKED_DAYS:
            return _error(400, f"min_parked_days must be a number from 0 to {MAX_PARKED_DAYS}")
        parked_before = now - timedelta(days=days)
    with get_engine().connect() as conn:
        # data health is today's; the past view (?at=) shows none
        feeds = operators_health(conn, scope_param(), now) if at is None else {}
        if operator is not None:
            feeds = {k: v for k, v in feeds.items() if k == operator}
        # foreign members of the FeatureCollection (RFC 7946 6.1): the service's clock,
        # the time shown (None: live) and each operator's data health; JSON-encoded
        # here, never interpolated
        members = {
            "now": iso_z(now),
            "as_of": None if at is None else iso_z(at),
            "operators": feeds,
        }
        head = json_for_html(members)[1:-1] + ","
        args = params(operator, states, parked_before)
        if at is None:
            body_text = current_vehicles_geojson(conn, head=head, **args)
        else:
            body_text = past_vehicles_geojson(conn, at=at, head=head, **args)
    response = Response(body_text, mimetype="application/geo+json")
    response.headers["Cache-Control"] = "no-store"
    return response


def params(
    operator: str | None, states: list[str], parked_before: datetime | None
) -> dict[str, Any]:
    return {
        "operator": operator,
        "scope": scope_param(),
        "states": states or None,
        "parked_before": parked_before,
    }


@bp.get("/health")
def health() -> tuple[Response, int]:
    """Liveness and database reachability, for load balancers and monitoring."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        outage_log(current_app).failure(exc)  # logged once per interval, not per check
        response = jsonify(status="error", database="unreachable", time=now)
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response, 503
    return jsonify(status="ok", database="ok", time=now), 200


def _error(status: int, message: str) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    return response
