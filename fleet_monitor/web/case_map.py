"""The small map of a case file: where the vehicle stood, and the zone it breached.

folium makes the skeleton only (:func:`fleet_monitor.web.folium_map.map_skeleton`:
nothing from the database in its script); the positions, the zone and every
label (vehicle ids and zone names come from operators' files: hostile input)
are data for ``js/map-layers.js``, which draws them and shows the labels with
``textContent``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fleet_monitor.web.folium_map import MapParts, css_kind, map_skeleton, zone_style

STATE_COLOURS = {"available": "#0072B2", "reserved": "#56B4E9", "disabled": "#6b6b6b"}
OTHER_COLOUR = "#444444"
VIOLATION_COLOUR = "#b2182b"


@dataclass(frozen=True, slots=True)
class MapPoint:
    lat: float
    lon: float
    label: str
    state: str = "available"


def build_case_map(
    *,
    center: Sequence[float],
    tile_url: str,
    attribution: str,
    static_url: Callable[[str], str],
    violation: MapPoint | None,
    stays: Sequence[MapPoint],
    zone: dict[str, Any] | None = None,
    zone_kind: str | None = None,
    zone_label: str = "",
    tile_options: dict[str, Any] | None = None,
) -> MapParts | None:
    """The map, or None when nothing has a position. The view fits it to the points."""
    points = [p for p in (violation, *stays) if p is not None]
    if not points:
        return None
    head, body, script, map_var = map_skeleton(
        center=center,
        zoom=15,
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
                "lat": p.lat,
                "lon": p.lon,
                "label": p.label,
                "colour": STATE_COLOURS.get(p.state, OTHER_COLOUR),
            }
            for p in stays
        ],
        "path": [[p.lat, p.lon] for p in reversed(stays)],
        "violation": None
        if violation is None
        else {"lat": violation.lat, "lon": violation.lon, "label": violation.label},
        "violationColour": VIOLATION_COLOUR,
        "fit": {"padDeg": 0.0008, "maxZoom": 18},
    }
    if zone is not None:
        kind = zone_kind or ""
        data["zones"] = [
            {
                "kind": kind,
                "css": css_kind(kind),
                "label": zone_label,
                "count": 1,
                "shown": True,
                "style": zone_style(kind),
                "features": [
                    {"type": "Feature", "geometry": zone, "properties": {"label": zone_label}}
                ],
            }
        ]
    return MapParts(head, body, script, map_var, data)
