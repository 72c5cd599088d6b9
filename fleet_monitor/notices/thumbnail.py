"""A location map per vehicle, drawn from the city's own layers (no tiles, no internet).

``situation(session, lon, lat, at)`` reads the city's zones (latest version in
force at ``at``) around the vehicle, clipped to a square of ``RADIUS_M`` either
side, simplified to a metre, and returns them in metres east / north of the
vehicle: a small, plain structure stored in the notice's payload, so the PDF
can be rebuilt from the payload alone. ``situation_png`` draws it (matplotlib,
Agg) as a small PNG the notice's HTML shows as a ``data:image/png`` URI: the
city's layers, the vehicle as a red dot, a 50 m scale bar and a north arrow.
Distances use Web Mercator scaled by the cosine of the latitude: within a few
hundred metres the error is far below the line widths drawn.
"""

from __future__ import annotations

import base64
import io
import math
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

RADIUS_M = 120.0
MAX_POINTS = 1500  # per map: a huge or hostile zone cannot swell the payload
KINDS = ("water", "no_parking", "pedestrian", "tram_tracks", "mandatory_parking", "district")

SQL = """
WITH b AS (
  SELECT ST_Expand(ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 3857),
                   :r / cos(radians(:lat))) AS box
)
SELECT z.kind, z.name,
       ST_AsGeoJSON(ST_Intersection(
         ST_SimplifyPreserveTopology(ST_Transform(z.geom, 3857), 1.0), b.box), 1)
FROM b, (
  SELECT DISTINCT ON (zone_id) zone_id, kind, name, geom FROM zone
  WHERE kind = ANY(:kinds)
    AND (effective_from IS NULL OR effective_from <= :at)
    AND (effective_to IS NULL OR effective_to > :at)
  ORDER BY zone_id, version DESC
) z
WHERE ST_Intersects(z.geom, ST_Transform(b.box, 4326))
ORDER BY array_position(CAST(:kinds AS text[]), z.kind), z.zone_id
"""


def _rings(geom: dict[str, Any]) -> list[list[list[float]]]:
    kind = geom.get("type")
    coords: Any = geom.get("coordinates")
    if kind == "Polygon":
        return [coords[0]] if coords else []
    if kind == "MultiPolygon":
        return [p[0] for p in coords if p]
    if kind == "LineString":
        return [coords]
    if kind == "MultiLineString":
        return list(coords)
    if kind == "GeometryCollection":
        return [r for g in geom.get("geometries", []) for r in _rings(g)]
    return []


def situation(session: Session, lon: float, lat: float, at: datetime) -> dict[str, Any]:
    """The zones around a vehicle, in metres relative to it (see the module docstring)."""
    rows = session.execute(
        text(SQL), {"lon": lon, "lat": lat, "r": RADIUS_M, "kinds": list(KINDS), "at": at}
    ).all()
    scale = math.cos(math.radians(lat))
    r = 6378137.0
    px = math.radians(lon) * r
    py = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * r
    shapes, points = [], 0
    for kind, name, geojson in rows:
        if geojson is None:
            continue
        for ring in _rings(orjson.loads(geojson)):
            pts = [[round((x - px) * scale, 1), round((y - py) * scale, 1)] for x, y in ring]
            if len(pts) < 2 or points + len(pts) > MAX_POINTS:
                continue
            points += len(pts)
            shapes.append({"kind": kind, "name": name or "", "points": pts})
    return {"radius_m": RADIUS_M, "shapes": shapes}


# --------------------------------------------------------------------------- drawing

#: fill colour, edge colour and line width (points) per zone kind; None fill: a line
STYLE: dict[str, tuple[str | None, str, float]] = {
    "water": ("#96bee6", "#6f9fcf", 0.4),
    "no_parking": ("#f0aaaa", "#d46a6a", 0.5),
    "pedestrian": ("#f5e196", "#cfb44f", 0.4),
    "mandatory_parking": ("#a0d7a0", "#4f9a4f", 0.5),
    "tram_tracks": (None, "#6e6e6e", 1.6),
    "district": (None, "#8a8a8a", 0.5),
}
#: the map key printed once under the vehicles (kind, French, English)
LEGEND = (
    ("water", "Eau", "Water"),
    ("no_parking", "Stationnement interdit", "No parking"),
    ("pedestrian", "Zone piétonne", "Pedestrian area"),
    ("mandatory_parking", "Stationnement obligatoire", "Parking area"),
    ("tram_tracks", "Voies", "Tracks"),
)
VEHICLE_COLOUR = "#c81428"
SIDE_IN = 1.25  # inches: printed about 30 mm wide
DPI = 240


def situation_png(m: dict[str, Any]) -> bytes:
    """The location map ``m`` (as ``situation`` returns it) as PNG bytes.

    Deterministic: the same map gives the same bytes (no date or software tag).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle, Polygon

    radius = float(m.get("radius_m") or RADIUS_M)
    fig = Figure(figsize=(SIDE_IN, SIDE_IN), dpi=DPI, facecolor="#f8f8f6")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(-radius, radius)
    ax.set_ylim(-radius, radius)
    ax.set_aspect("equal")
    ax.set_axis_off()
    for shape in m.get("shapes", []):
        fill, edge, width = STYLE.get(shape.get("kind"), (None, "#b4b4b4", 0.5))
        pts = shape.get("points") or []
        if len(pts) < 2:
            continue
        if fill is not None and len(pts) >= 3:
            ax.add_patch(Polygon(pts, closed=True, facecolor=fill, edgecolor=edge, lw=width))
        else:
            xs, ys = zip(*pts, strict=True)
            dashes = (0, (3, 2)) if shape.get("kind") == "district" else "solid"
            ax.plot(xs, ys, color=edge, lw=width, linestyle=dashes)
    ring = Circle((0, 0), radius * 0.075, facecolor="none", edgecolor=VEHICLE_COLOUR, lw=0.8)
    ax.add_patch(ring)
    ax.add_patch(Circle((0, 0), radius * 0.035, facecolor=VEHICLE_COLOUR, edgecolor="white"))
    # a 50 m scale bar (bottom left) and a north arrow (top right)
    x0, y0 = -radius * 0.9, -radius * 0.86
    ax.plot([x0, x0 + 50], [y0, y0], color="#222", lw=1.2, solid_capstyle="butt")
    ax.text(x0, y0 + radius * 0.05, "50 m", fontsize=7, color="#222", va="bottom")
    nx, ny = radius * 0.82, radius * 0.5
    ax.annotate(
        "",
        xy=(nx, ny + radius * 0.32),
        xytext=(nx, ny),
        arrowprops={"arrowstyle": "-|>", "color": "#222", "lw": 0.8},
    )
    ax.text(nx, ny - radius * 0.04, "N", fontsize=7, ha="center", va="top", color="#222")
    for side in ("left", "right", "top", "bottom"):
        ax.spines[side].set_visible(False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def situation_data_uri(m: dict[str, Any]) -> str:
    """``situation_png(m)`` as a ``data:image/png;base64,...`` URI."""
    return "data:image/png;base64," + base64.b64encode(situation_png(m)).decode("ascii")
