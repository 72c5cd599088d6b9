""" "What is around me": the vehicles and open cases within 100 m of the tablet.

``GET /nearby`` is the page (its script asks the browser for the position);
``GET /api/nearby?lat=..&lon=..`` answers with the vehicles and the open cases
within ``RADIUS_M`` metres, each list sorted by distance (metres on the
geography type: never raw degrees), scoped to what the account may see.
Each item carries a ``geo:`` URI (RFC 5870) for the tablet's navigation app.
"""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request, url_for
from flask_babel import gettext as _

from fleet_monitor.history.vehicles_near import open_cases_near, vehicles_near
from fleet_monitor.web.clock import iso_z, service_now
from fleet_monitor.web.db import get_engine, get_settings
from fleet_monitor.web.i18n import JS_LOCALES, current_language
from fleet_monitor.web.labels import rule_label
from fleet_monitor.web.permissions import ALL_ROLES, require_role, scope_param
from fleet_monitor.web.security import add_nonce, csp_nonce

bp = Blueprint("nearby", __name__)

RADIUS_M = 100
LIMIT = 200


def geo_uri(lat: float, lon: float) -> str:
    return f"geo:{lat:.6f},{lon:.6f}"


def _coordinate(name: str, bound: float) -> float | None:
    try:
        value = float(request.args.get(name, ""))
    except ValueError:
        return None
    return value if math.isfinite(value) and -bound <= value <= bound else None


@bp.get("/api/nearby")
@require_role(*ALL_ROLES)
def api() -> Response:
    lat, lon = _coordinate("lat", 90), _coordinate("lon", 180)
    if lat is None or lon is None:
        response = jsonify(error="lat and lon must be numbers (degrees, WGS 84)")
        response.status_code = 400
        return response
    dlat = RADIUS_M / 111_000 * 1.5  # a bounding box first (cheap), then the exact distance
    dlon = dlat / max(0.01, math.cos(math.radians(lat)))
    params = {
        "lat": lat,
        "lon": lon,
        "r": RADIUS_M,
        "dlat": dlat,
        "dlon": dlon,
        "scope": scope_param(),
        "limit": LIMIT,
    }
    with get_engine().connect() as conn:
        vehicles = vehicles_near(conn, params)
        cases = open_cases_near(conn, params)
    return jsonify(
        now=iso_z(service_now()),
        radius_m=RADIUS_M,
        vehicles=[
            {
                "operator": name,
                "gbfs_id": gbfs_id,
                "vehicle_type": vtype,
                "state": state,
                "battery_pct": None if battery is None else int(battery),
                "distance_m": round(float(dist)),
                "geo": geo_uri(vlat, vlon),
            }
            for _slug, name, gbfs_id, vtype, state, battery, vlat, vlon, dist in vehicles
        ],
        cases=[
            {
                "id": vid,
                "rule": rule_label(rule),
                "operator": name,
                "gbfs_id": gbfs_id,
                "distance_m": round(float(dist)),
                "url": url_for("cases.detail", violation_id=vid),
                "geo": geo_uri(clat, clon),
            }
            for vid, rule, name, gbfs_id, clat, clon, dist in cases
        ],
    )


@bp.get("/nearby")
@require_role(*ALL_ROLES)
def page() -> Response:
    settings = get_settings()
    config: dict[str, Any] = {
        "url": url_for("nearby.api"),
        "locale": JS_LOCALES[current_language()],
        "radius": RADIUS_M,
        "messages": {
            "locating": _("Finding your position…"),
            "denied": _("Position unavailable: allow the location in the browser."),
            "none_vehicles": _("No vehicle within {radius} m."),
            "none_cases": _("No open case within {radius} m."),
            "navigate": _("Navigate here"),
            "open_case": _("Case file #{id}"),
            "battery": _("battery {pct}"),
            "load_error": _("Could not load what is around you"),
            "accuracy": _("Your position (± {metres} m), at {time}"),
            "state.available": _("available"),
            "state.reserved": _("reserved"),
            "state.disabled": _("disabled"),
        },
        "timezone": settings.city.timezone,
    }
    html = render_template("nearby.html", config=config, radius=RADIUS_M)
    return Response(add_nonce(html, csp_nonce()), mimetype="text/html")
