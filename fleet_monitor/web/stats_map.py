"""The parking density map of the statistics page: a folium choropleth of the zones
(districts by default), served with the app's own Leaflet, like the live map.

Colours are computed here (five classes of vehicles per km², quantiles of the
zones shown) rather than by folium's ``Choropleth``, whose legend pulls d3 from
a CDN. Tooltips set text, never HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import folium
import orjson
from folium.utilities import JsCode
from markupsafe import Markup

from fleet_monitor.web.folium_map import MapParts, local_map

# light to dark (ColorBrewer YlOrRd, 5 classes)
SCALE = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
NO_DATA = "#d9d9d9"

TOOLTIP = JsCode(
    """function (feature, layer) {
    var text = feature.properties && feature.properties.tooltip;
    if (!text) { return; }
    layer.bindTooltip(function () {
        var el = document.createElement("span");
        el.textContent = text;
        return el;
    }, {sticky: true});
}"""
)


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
) -> tuple[MapParts, list[tuple[str, float]]]:
    """The map, and its legend: (colour, upper bound) per class."""
    m = local_map(center, zoom, static_url, position="relative")
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=attribution, max_zoom=19, control=False).add_to(m)
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
                    "tooltip": tooltip(z),
                },
            }
        )
    if features:
        layer = folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            style_function=lambda f: {
                "fillColor": f["properties"]["fill"],
                "color": "#444444",
                "weight": 1,
                "fillOpacity": 0.7,
            },
            on_each_feature=TOOLTIP,
            control=False,
        )
        layer.add_to(m)
        m.fit_bounds(layer.get_bounds())
    figure = m.get_root()
    figure.render()
    parts = MapParts(
        head=Markup(figure.header.render()),
        body=Markup(figure.html.render()),
        script=Markup(figure.script.render()),
        map_var=m.get_name(),
    )
    return parts, legend
