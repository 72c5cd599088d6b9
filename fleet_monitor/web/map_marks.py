"""How the live map marks violations and parked time, and the contrast rule they obey.

Violation marks carry their meaning twice: a **shape** per rule (the vehicle is
drawn as that shape instead of a dot) and a **colour** per rule for the shape's
outline. So that a mark stays visible whatever lies around it (the grey or
tiled background, zone fills, another operator's dot), the outline is drawn
over a white halo and the shape's inside is white with the operator's colour as
a dot in its middle: the outline colour therefore meets only white, and is
also chosen dark enough to stand on every map background by itself. Both are
checked by ``tests/web/test_map_marks.py`` against WCAG 2.1's 3:1 minimum for
graphical objects (SC 1.4.11), with the contrast formula below.

Decision: colours and names are the rule registry's (one definition per rule);
the shapes are defined here and reach ``map.js`` through the page's JSON config.
"""

from __future__ import annotations

# Each vehicle rule's shape; its colour is the rule registry's (rules/registry.py),
# which the contrast test checks. A rule missing here gets OTHER_RULE_MARK's shape.
SHAPES: dict[str, str] = {
    "in_water": "diamond",
    "on_tram_tracks": "square",
    "scheduled_restriction": "octagon",
    "in_no_parking_area": "triangle",
    "in_pedestrian_area": "triangle_down",
    "outside_operating_area": "pentagon",
    "outside_mandatory_parking": "hexagon",
    "disabled_too_long": "star",
    "idle_too_long": "cross",
}
OTHER_RULE_MARK = ("#444444", "square")
HALO = "#ffffff"

# Backgrounds a mark may sit on: no base map (the page's grey), a white or OSM-like
# base map, and the zone fills at their opacity over the grey (map.css, folium_map.py).
MAP_BACKGROUNDS = {
    "no_tiles": "#e4e8ec",
    "white": "#ffffff",
    "osm_land": "#f2efe9",
    "pedestrian_fill": "#e7ddd0",
    "no_parking_fill": "#e3d1d2",
    "water_fill": "#cbd9e6",
    "tram_fill": "#d7d4de",
    "parking_fill": "#cfdfd2",
}

# Parked-time classes for "colour by parked time" (CROW's 1, 3 and 7 day marks),
# from a light to a dark colour (viridis steps, readable by colour-blind people).
PARKED_CLASSES: list[dict[str, object]] = [
    {"min_days": 0, "colour": "#7ad151"},
    {"min_days": 1, "colour": "#22a884"},
    {"min_days": 3, "colour": "#2a788e"},
    {"min_days": 7, "colour": "#440154"},
]
STALE_COLOUR = "#8a8a8a"  # an operator in a feed outage: last known positions


def relative_luminance(colour: str) -> float:
    """WCAG 2.1 relative luminance of ``#rrggbb``."""
    value = colour.lstrip("#")
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2.1 contrast ratio of two colours (1 to 21)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def vehicle_rule_marks() -> dict[str, tuple[str, str]]:
    """rule -> (outline colour from the registry, shape), most urgent first."""
    from rules.registry import map_rules

    return {
        r["id"]: (r["colour"], SHAPES.get(r["id"], OTHER_RULE_MARK[1])) for r in map_rules("en")
    }


def marks_config() -> dict[str, object]:
    """What ``map.js`` needs: rule marks in order, the halo, parked classes, stale colour."""
    return {
        "shapes": {rule: shape for rule, (_colour, shape) in vehicle_rule_marks().items()},
        "other": list(OTHER_RULE_MARK),
        "halo": HALO,
        "parked": PARKED_CLASSES,
        "stale": STALE_COLOUR,
    }
