"""The parking density map of the statistics page: a choropleth of the zones
(districts by default), on a folium skeleton with the app's own Leaflet, like the
live map.

Colours are computed here (five classes of vehicles per km², quantiles of the
zones shown) rather than by folium's ``Choropleth``, whose legend pulls d3 from
a CDN. The areas and their tooltips (zone names: data) are JSON for
``js/map-layers.js``, which shows the tooltips with ``textContent``; folium's
script holds nothing from the database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from fleet_monitor.web.folium_map import MapParts, map_skeleton

# light to dark (ColorBrewer YlOrRd, 5 classes)
SCALE = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
NO_DATA = "#d9d9d9"


def classes(values: Sequence[float | None]) -> list[tuple[str, float]]:
    """(colour, upper bound) of up to five classes (quantiles of the values)."""
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return []
    bounds = sorted(
        {vals[min(len(vals) - 1, round(q * (len(vals) - 1)))] for q in (0.2, 0.4, 0.6, 0.8, 1.0)}
    )
    k = len(bounds)
    steps = [round(i * (len(SCALE) - 1) / (k - 1)) for i in range(k)] if k > 1 else [2]
    return [(SCALE[i], b) for i, b in zip(steps, bounds, strict=True)]


def colour(value: float | None, legend: Sequence[tuple[str, float]]) -> str:
    if value is None or not legend:
        return NO_DATA
    for c, bound in legend:
        if value <= bound:
            return c
    return legend[-1][0]


def build_density_map(
    *,
    center: Sequence[float],
    zoom: int,
    tile_url: str,
    attribution: str,
    zones: Sequence[Mapping[str, Any]],
    geometries: Mapping[str, str],
    tooltip: Callable[[Mapping[str, Any]], str],
    static_url: Callable[[str], str],
    tile_options: Mapping[str, Any] | None = None,
) -> tuple[MapParts, list[tuple[str, float]]]:
    """The map, and its legend: (colour, upper bound) per class."""
    head, body, script, map_var = map_skeleton(
        center=center,
        zoom=zoom,
        tile_url=tile_url,
        attribution=attribution,
        static_url=static_url,
        position="relative",
        tile_options=tile_options,
    )
    legend = classes([z.get("density_per_km2") for z in zones])
    features = []
    for z in zones:
        geometry = geometries.get(z["zone_id"])
        if not geometry:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": orjson.loads(geometry),
                "properties": {
                    "fill": colour(z.get("density_per_km2"), legend),
                    "label": tooltip(z),
                },
            }
        )
    data: dict[str, Any] = {
        "mapVar": map_var,
        "areas": {"type": "FeatureCollection", "features": features},
        "areaStyle": {"color": "#444444", "weight": 1, "fillOpacity": 0.7},
        "fit": {"padDeg": 0, "maxZoom": 16} if features else None,
    }
    return MapParts(head, body, script, map_var, data), legend
