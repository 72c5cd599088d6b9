"""``GET /gbfs/2.3/geofencing_zones.json`` and ``/gbfs/3.0/geofencing_zones.json``:
the city's no-parking, slow and no-ride zones as GBFS geofences, built from the
zones in force (``rules.gbfs_geofencing``; ``docs/mds.md``).

Access follows ``[mds] access``, like the MDS API: ``public`` serves the
city-wide zones to anyone; with an operator's API token (in either mode) the
file also holds that operator's own zones; in ``token`` mode a caller without
a token or an account gets 401. Signed-in staff get the city-wide zones.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson
from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from fleet_monitor.violations.catalog import load_zones
from fleet_monitor.web.api_tokens import authenticate_bearer
from fleet_monitor.web.db import get_engine, get_settings
from fleet_monitor.web.mds_api import ALL, MdsHttpError, caller_scope
from fleet_monitor.web.permissions import bearer_token
from rules.gbfs_geofencing import geofencing_zones

bp = Blueprint("gbfs_geofencing", __name__, url_prefix="/gbfs")


@bp.errorhandler(MdsHttpError)
def _error(exc: MdsHttpError) -> Response:
    body = orjson.dumps({"error": exc.error, "error_description": exc.description})
    return Response(body, status=exc.status, mimetype="application/json")


def _serve(version: str) -> Response:
    settings = get_settings()
    now = datetime.now(UTC)
    token = bearer_token()
    with Session(get_engine()) as session:
        scope: Any
        if token is not None:  # an operator: its own zones too (401/429 on a bad token)
            scope = authenticate_bearer(token).operator_slug
        elif settings.mds.access == "public":
            scope = ALL
        else:
            scope = caller_scope(session)
        zones = load_zones(session)
    document = geofencing_zones(
        zones,
        version=version,
        now=now,
        operator=None if scope is ALL else scope,
        language=settings.city.locale,
        line_half_width_m=settings.rules.line_half_width_m,
    )
    body = orjson.dumps(document)
    response = Response(body, mimetype="application/json")
    # the ETag ignores last_updated (the time of the request): same zones, same tag
    data = orjson.dumps(document["data"], option=orjson.OPT_SORT_KEYS)
    response.set_etag(hashlib.sha256(data).hexdigest())
    response.headers["Cache-Control"] = "no-cache" if scope is ALL else "private, no-cache"
    conditional: Response = response.make_conditional(request)  # type: ignore[assignment]
    return conditional


@bp.get("/2.3/geofencing_zones.json")
def v23() -> Response:
    return _serve("2.3")


@bp.get("/3.0/geofencing_zones.json")
def v30() -> Response:
    return _serve("3.0")
