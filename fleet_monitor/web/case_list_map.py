"""The map of open cases on the case list: one point per case with a position,
coloured by priority, its label (case number, rule, operator) shown as text
by ``js/map-layers.js`` (the skeleton is folium's, without data)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fleet_monitor.web.folium_map import MapParts, map_skeleton

PRIORITY_COLOURS = {1: "#b2182b", 2: "#8a4b00", 3: "#12355b"}


def build_cases_map(
    *,
    center: Sequence[float],
    tile_url: str,
    attribution: str,
    static_url: Callable[[str], str],
    cases: list[dict[str, Any]],
    label: Callable[[dict[str, Any]], str],
    tile_options: dict[str, Any] | None = None,
) -> MapParts | None:
    """The map, or None when no case has a position. The view fits the cases."""
    points = [c for c in cases if c.get("lat") is not None and c.get("lon") is not None]
    if not points:
        return None
    head, body, script, map_var = map_skeleton(
        center=center,
        zoom=14,
        tile_url=tile_url,
        attribution=attribution,
        static_url=static_url,
        position="absolute",
        prefer_canvas=True,
        tile_options=tile_options,
    )
    data: dict[str, Any] = {
        "mapVar": map_var,
        "zones": [],
        "stays": [
            {
                "lat": float(c["lat"]),
                "lon": float(c["lon"]),
                "label": label(c),
                "colour": PRIORITY_COLOURS.get(int(c["priority"]), "#444444"),
            }
            for c in points
        ],
        "fit": {"padDeg": 0.001, "maxZoom": 17},
    }
    return MapParts(head, body, script, map_var, data)
