"""The officers' live map page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, url_for
from sqlalchemy import text

from fleet_monitor.web.db import get_engine, get_settings
from fleet_monitor.web.i18n import MESSAGES, current_language

bp = Blueprint("map", __name__)

# Annecy, old town; the map opens here.
CENTER = (45.8992, 6.1294)
ZOOM = 14
REFRESH_S = 30

# Distinct colours, readable on a light base map (Okabe-Ito first, then more).
PALETTE = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#7B3294",
    "#8C510A",
    "#1B7837",
    "#B2182B",
    "#4D4D4D",
    "#F0E442",
)

# Strings the map's JavaScript shows (popups, status line).
JS_KEYS = (
    "operator",
    "vehicle_id",
    "vehicle_type",
    "battery",
    "range",
    "parked_since",
    "confidence.observed",
    "confidence.first_seen",
    "confidence.after_gap",
    "state.available",
    "state.reserved",
    "state.disabled",
    "unknown",
    "vehicles",
    "updated",
    "load_error",
)


def operator_colours() -> list[dict[str, str]]:
    """Every known operator with its colour (stable: ordered by slug)."""
    with get_engine().connect() as conn:
        rows = conn.execute(text("SELECT slug, name FROM operator ORDER BY slug")).all()
    return [
        {"slug": slug, "name": name, "colour": PALETTE[i % len(PALETTE)]}
        for i, (slug, name) in enumerate(rows)
    ]


@bp.get("/")
def index() -> str:
    settings = get_settings()
    lang = current_language()
    operators = operator_colours()
    config: dict[str, Any] = {
        "center": CENTER,
        "zoom": ZOOM,
        "refreshSeconds": REFRESH_S,
        "vehiclesUrl": url_for("api.vehicles"),
        "tileUrl": settings.web.tile_url,
        "tileAttribution": tile_attribution(settings.web.tile_url),
        "timezone": settings.city.timezone,
        "locale": "fr-FR" if lang == "fr" else "en-GB",
        "colours": {op["slug"]: op["colour"] for op in operators},
        "names": {op["slug"]: op["name"] for op in operators},
        "fallbackColours": PALETTE,
        "messages": {key: MESSAGES[lang][key] for key in JS_KEYS},
    }
    return render_template(
        "map.html",
        config=config,
        operators=operators,
        other_lang="en" if lang == "fr" else "fr",
        states=("available", "reserved", "disabled"),
    )


def tile_attribution(tile_url: str) -> str:
    """Plain-text attribution for well-known tile sources (no external link in the page)."""
    if "openstreetmap" in tile_url:
        return "© OpenStreetMap contributors"
    return ""
