"""The base map's routes: local tiles, the street layer, and the nearest address.

* ``GET /basemap/tiles/<z>/<x>/<y>``: a tile of ``[web] basemap_mbtiles`` (XYZ
  numbering, as Leaflet asks; flipped to the file's TMS rows). ``z``, ``x``,
  ``y`` are whole numbers checked against the zoom range of the file and the
  ``2^z`` tiles of a zoom: anything else is a 404, never an SQL error. Sent with
  ``Cache-Control: private, max-age=86400`` and an ETag from the file's
  modification time (a new file, a new ETag): tablets keep tiles a day, and
  revalidate with a 304. Private: tiles need sign-in like every page (an
  intranet's MBTiles may hold licensed data).
* ``GET /basemap/streets.json``: the street layer (``[web] basemap_streets``).
* ``GET /api/address?lat=..&lon=..``: the nearest address
  (:func:`fleet_monitor.addresses.nearest_address`) within ``[addresses]
  max_distance_m``, for map popups.

:func:`base_layer` is what a page's map needs: the tile URL template and its
attribution (remote or local), or the street layer's URL.
"""

from __future__ import annotations

import math
from typing import Any

import orjson
from flask import Blueprint, Flask, Response, abort, current_app, jsonify, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy.orm import Session

from fleet_monitor.addresses import nearest_address
from fleet_monitor.basemap_config import tile_attribution
from fleet_monitor.settings import Settings
from fleet_monitor.web.basemap_sources import BaseMap, load_basemap
from fleet_monitor.web.db import get_engine, get_settings
from fleet_monitor.web.encode import json_script
from fleet_monitor.web.params import BadParameter

bp = Blueprint("basemap", __name__)
BASEMAP_KEY = "fleet_monitor.basemap"
TILE_MAX_AGE_S = 86_400
STREETS_MAX_AGE_S = 3600
MAX_ZOOM = 22


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions[BASEMAP_KEY] = load_basemap(settings.web)
    app.jinja_env.globals["basemap_assets"] = basemap_assets
    app.register_blueprint(bp)


def get_basemap() -> BaseMap:
    basemap: BaseMap = current_app.extensions[BASEMAP_KEY]
    return basemap


def _cached(body: bytes, mimetype: str, etag: str, max_age: int) -> Response:
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = Response(body, mimetype=mimetype)
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"private, max-age={max_age}"
    return response


@bp.get("/basemap/tiles/<int:z>/<int:x>/<int:y>")
def tile(z: int, x: int, y: int) -> Response:
    mbtiles = get_basemap().mbtiles
    if mbtiles is None or z > MAX_ZOOM or x >= (1 << z) or y >= (1 << z):
        abort(404)
    data = mbtiles.tile(z, x, y)
    if data is None:
        abort(404)
    return _cached(data, mbtiles.mimetype, f"{mbtiles.version}-{z}-{x}-{y}", TILE_MAX_AGE_S)


@bp.get("/basemap/streets.json")
def streets() -> Response:
    basemap = get_basemap()
    if basemap.streets is None:
        abort(404)
    body = orjson.dumps(basemap.streets)
    return _cached(body, "application/json", basemap.streets_version, STREETS_MAX_AGE_S)


def _coordinate(name: str, limit: float) -> float:
    raw = (request.args.get(name) or "").strip()
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if len(raw) > 32 or not math.isfinite(value) or not -limit <= value <= limit:
        message = _(
            "%(name)s must be a number from -%(limit)s to %(limit)s.", name=name, limit=limit
        )
        raise BadParameter(name, message)
    return value


@bp.get("/api/address")
def address() -> Response:
    lat, lon = _coordinate("lat", 90), _coordinate("lon", 180)
    limit = get_settings().addresses.max_distance_m
    with Session(get_engine()) as s:
        found = nearest_address(s, lon, lat, limit)
    return jsonify({"address": None if found is None else found.as_dict(), "max_distance_m": limit})


def base_layer() -> dict[str, Any] | None:
    """The page's base layer: ``{"tiles": {...}}`` or ``{"streets": url}``, or None.

    A remote tile source (``tile_url``) comes first, then the local MBTiles,
    then the street layer.
    """
    web = get_settings().web
    basemap = get_basemap()
    if web.tile_url:
        return {
            "tiles": {
                "url": web.tile_url,
                "attribution": tile_attribution(web.tile_url, web.tile_attribution),
                "options": {"max_zoom": web.tile_max_zoom},
            }
        }
    if basemap.mbtiles is not None:
        m = basemap.mbtiles
        template = url_for("basemap.tile", z=0, x=0, y=0).removesuffix("/0/0/0")
        options: dict[str, Any] = {
            "max_zoom": max(19, m.max_zoom),
            "max_native_zoom": m.max_zoom,
            "min_native_zoom": m.min_zoom,
            # below the file's zooms, two levels of shrunk tiles at most (16 per view tile)
            "min_zoom": max(0, m.min_zoom - 2),
        }
        if m.bounds is not None:
            w, s, e, n = m.bounds
            options["bounds"] = [[s, w], [n, e]]
        return {
            "tiles": {
                "url": template + "/{z}/{x}/{y}",
                "attribution": web.tile_attribution or m.attribution,
                "options": options,
            }
        }
    if basemap.streets is not None:
        return {"streets": url_for("basemap.streets")}
    return None


def basemap_assets(map_var: str, layer: dict[str, Any] | None) -> Markup:
    """The JSON block and the script that draw the street layer and add addresses to popups."""
    data = {
        "mapVar": map_var,
        "streetsUrl": (layer or {}).get("streets"),
        "addressUrl": url_for("basemap.address"),
        "messages": {
            "address": _("Street address"),
            "distance": _("{metres} m away"),
            "no_address": _("no address within {metres} m"),
        },
    }
    script = url_for("static", filename="js/basemap.js")
    css = url_for("static", filename="css/basemap.css")
    return (
        Markup(f'<link rel="stylesheet" href="{css}">')
        + json_script("fm-basemap", data)
        + Markup(f'<script src="{script}"></script>')
    )
