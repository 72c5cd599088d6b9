"""The small map of a case file: where the vehicle stood, and the zone it breached.

Built with folium like the live map (:mod:`fleet_monitor.web.folium_map`):
Leaflet and every asset served by the app, no CDN, and the caller puts the
CSP nonce on the inline scripts and styles. Every text shown in the map is
HTML-escaped here (tooltips are inserted as HTML by Leaflet).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import folium
from markupsafe import Markup

from fleet_monitor.web.folium_map import MapParts, MetricScale, zone_style

STATE_COLOURS = {"available": "#0072B2", "reserved": "#56B4E9", "disabled": "#6b6b6b"}
VIOLATION_COLOUR = "#b2182b"


@dataclass(frozen=True, slots=True)
class MapPoint:
    lat: float
    lon: float
    label: str
    state: str = "available"


def build_case_map(
    *,
    tile_url: str,
    attribution: str,
    static_url: Callable[[str], str],
    violation: MapPoint | None,
    stays: Sequence[MapPoint],
    zone: dict[str, Any] | None = None,
    zone_kind: str | None = None,
    zone_label: str = "",
) -> MapParts | None:
    """The map, or None when nothing has a position."""
    points = [p for p in (violation, *stays) if p is not None]
    if not points:
        return None
    first = points[0]
    m = folium.Map(
        location=[first.lat, first.lon],
        zoom_start=17,
        tiles=None,
        prefer_canvas=True,
        control_scale=False,
        zoom_control=True,
        position="absolute",
    )
    m.add_child(MetricScale())
    m.default_js = [("leaflet", static_url("vendor/leaflet/leaflet.js"))]
    m.default_css = [("leaflet_css", static_url("vendor/leaflet/leaflet.css"))]
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=attribution, max_zoom=19, control=False).add_to(m)
    if zone is not None:
        style = zone_style(zone_kind or "")
        folium.GeoJson(
            {"type": "Feature", "geometry": zone, "properties": {}},
            style_function=lambda _f, style=style: style,
            tooltip=folium.Tooltip(html.escape(zone_label)) if zone_label else None,
            control=False,
        ).add_to(m)
    path = [[p.lat, p.lon] for p in reversed(stays)]
    if len(path) > 1:
        folium.PolyLine(path, color="#444444", weight=2, opacity=0.7, dash_array="4 4").add_to(m)
    for p in stays:
        colour = STATE_COLOURS.get(p.state, "#444444")
        folium.CircleMarker(
            [p.lat, p.lon],
            radius=7,
            color=colour,
            fill=True,
            fill_color=colour,
            fill_opacity=0.6,
            tooltip=folium.Tooltip(html.escape(p.label)),
        ).add_to(m)
    if violation is not None:
        folium.CircleMarker(
            [violation.lat, violation.lon],
            radius=11,
            color=VIOLATION_COLOUR,
            weight=3,
            fill=False,
            tooltip=folium.Tooltip(html.escape(violation.label)),
        ).add_to(m)
    lats = [p.lat for p in points]
    lons = [p.lon for p in points]
    pad = 0.0008
    m.fit_bounds(
        [[min(lats) - pad, min(lons) - pad], [max(lats) + pad, max(lons) + pad]], max_zoom=18
    )
    figure = m.get_root()
    figure.render()
    return MapParts(
        head=Markup(figure.header.render()),
        body=Markup(figure.html.render()),
        script=Markup(figure.script.render()),
        map_var=m.get_name(),
    )
