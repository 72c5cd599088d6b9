"""The officers' live map page (folium/Leaflet), for every signed-in account.

Operator accounts see their own operator only (legend, zones for them, and
``/api/vehicles`` is scoped on the server). Staff may narrow the map to one
operator with ``?operator=slug``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf

from fleet_monitor.basemap_config import tile_attribution as attribution_of
from fleet_monitor.history.operators import operator_list
from fleet_monitor.palette import PALETTE
from fleet_monitor.web.basemap import base_layer
from fleet_monitor.web.clock import iso_z, service_now
from fleet_monitor.web.db import get_engine, get_settings
from fleet_monitor.web.folium_map import build_map
from fleet_monitor.web.i18n import JS_LOCALES, current_language
from fleet_monitor.web.labels import zone_label
from fleet_monitor.web.map_marks import marks_config
from fleet_monitor.web.params import arg_operator
from fleet_monitor.web.permissions import current_user, scope_param, visible_operator_ids
from fleet_monitor.web.security import add_nonce, csp_nonce
from fleet_monitor.web.zones import by_kind, load_zones
from rules import registry

bp = Blueprint("map", __name__)

# Annecy, old town; the map opens here.
CENTER = (45.8992, 6.1294)
ZOOM = 14
REFRESH_S = 30
STATES = ("available", "reserved", "disabled")


def js_messages() -> dict[str, str]:
    """Strings the map's JavaScript shows (popups, status line, buttons)."""
    return {
        "operator": _("Operator"),
        "vehicle_id": _("ID"),
        "vehicle_type": _("Type"),
        "battery": _("Battery"),
        "range": _("Range"),
        "parked_since": _("Parked since"),
        "parked_for": _("Parked for"),
        "confidence.observed": _("arrival observed"),
        "confidence.first_seen": _("at least, already there at the first poll"),
        "confidence.after_gap": _("at least, seen again after a feed outage"),
        "state.available": _("available"),
        "state.reserved": _("reserved"),
        "state.disabled": _("disabled"),
        "unknown": _("unknown"),
        "status": _("{shown} of {total} vehicles · updated at {time}"),
        "load_error": _("Could not load the vehicles"),
        "positionless": _("{n} more listed without a position (at a station), not on the map"),
        "locate": _("Show my position"),
        "locate_error": _("Position unavailable"),
        "you_are_here": _("You are here (± {metres} m)"),
        "violation": _("Violation"),
        "violations": _("Open violations"),
        "violations_help": _(
            "Shape and outline: the vehicle's most urgent open violation; dashed: uncertain."
        ),
        "last_known": _("Feed outage: last known position at {time}"),
        "outage": _(
            "{operator}: feed outage since {since}. Its vehicles are shown in grey"
            " at their last known position ({time})."
        ),
        "data_age": _("data {age} old"),
        "display": _("Display"),
        "view": _("View"),
        "view.auto": _("Automatic"),
        "view.vehicles": _("Each vehicle"),
        "view.density": _("Density"),
        "colour_by": _("Colour by"),
        "colour.operator": _("Operator"),
        "colour.parked": _("Parked time"),
        "parked.0": _("less than 1 day"),
        "parked.1": _("1 to 3 days"),
        "parked.3": _("3 to 7 days"),
        "parked.7": _("7 days or more"),
        "cell": _("{count} vehicles, {violations} with a violation: zoom in"),
        "list_open": _("List of the vehicles on screen"),
        "list_title": _("Vehicles on screen"),
        "list_empty": _("No vehicle on screen."),
        "list_more": _("{count} more: zoom in to list them."),
        "list_close": _("Close the list"),
        "show_on_map": _("Show on the map"),
        "time": _("Time"),
        "time_help": _("Hours back (7 days)"),
        "live": _("now (live)"),
        "back_to_live": _("Back to now"),
        "as_of": _("Map as of {time}, from the stored history (not live)."),
        "uncertain": _("uncertain"),
        "rule": _("Rule"),
        "all_vehicles": _("All vehicles"),
        "any_violation": _("Any violation"),
    }


def operator_colours() -> list[dict[str, str]]:
    """Operators the account may see, each with its colour.

    Colours are assigned over all operators ordered by slug, so that an operator
    has the same colour whoever looks; only visible operators are returned.
    """
    with get_engine().connect() as conn:
        rows = operator_list(conn)
    visible = visible_operator_ids(current_user())
    return [
        {"slug": slug, "name": name, "colour": PALETTE[i % len(PALETTE)]}
        for i, (op_id, slug, name) in enumerate(rows)
        if visible is None or op_id in visible
    ]


def tile_attribution(tile_url: str) -> str:
    """Plain-text attribution of the remote tile source (``[web] tile_attribution`` first)."""
    return attribution_of(tile_url, get_settings().web.tile_attribution)


@bp.get("/")
def index() -> Response:
    settings = get_settings()
    lang = current_language()
    operators = operator_colours()
    only = arg_operator()
    with get_engine().connect() as conn:
        zones = by_kind(load_zones(conn, scope_param(), lang))
    layer = base_layer()
    tiles = (layer or {}).get("tiles") or {}
    parts = build_map(
        center=CENTER,
        zoom=ZOOM,
        tile_url=tiles.get("url", ""),
        attribution=tiles.get("attribution", ""),
        zones=zones,
        zone_label=zone_label,
        static_url=lambda path: url_for("static", filename=path),
        tile_options=tiles.get("options"),
    )
    config: dict[str, Any] = {
        "mapVar": parts.map_var,
        "refreshSeconds": REFRESH_S,
        "now": iso_z(service_now()),
        "marks": marks_config(),
        "vehiclesUrl": url_for("api.vehicles"),
        "casesUrl": url_for("cases.index"),
        "operator": only,
        "timezone": settings.city.timezone,
        "locale": JS_LOCALES[lang],
        "colours": {op["slug"]: op["colour"] for op in operators},
        "names": {op["slug"]: op["name"] for op in operators},
        "fallbackColours": PALETTE,
        "messages": js_messages(),
        # the vehicle rules, most urgent first, with their names, colours and symbols
        "rules": registry.map_rules(lang),
        "csrfToken": generate_csrf(),
    }
    page = render_template(
        "map.html",
        map_parts=parts,
        config=config,
        has_tiles=layer is not None,
        base_layer=layer,
        operators=[op for op in operators if only is None or op["slug"] == only],
        states=STATES,
        zone_kinds=sorted(zones),
    )
    return Response(add_nonce(page, csp_nonce()), mimetype="text/html")
