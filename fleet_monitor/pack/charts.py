"""The pack's charts: trends with the permit's limits (drawn by the statistics'
renderer, ``stats.chart_render``) and the hexagon maps (matplotlib, over the city's
own layers, in metres: no tiles, no network).

Every chart is SVG text without script or style attributes (the page's CSP stays
strict; WeasyPrint prints the same SVG in the PDF).
"""

from __future__ import annotations

import io
import math
import re
import warnings
from typing import Any

import numpy as np
import shapely

from fleet_monitor.pack import fmt
from fleet_monitor.pack.hexgrid import HexGrid, cell_polygon
from fleet_monitor.pack.trends import OperatorTrend, Trend
from fleet_monitor.palette import PALETTE
from fleet_monitor.stats.chart_render import (
    FLAG_COLOUR,
    RC,
    Chart,
    Series,
    presentation_only,
    render_svg,
)
from fleet_monitor.stats.chart_render import number as _number

_ID = re.compile(r'\bid="([^"]+)"')
_REF = re.compile(r'(url\(#|href="#)([^)"]+)')


def scoped(svg: str, prefix: str) -> str:
    """``svg`` with its ids prefixed: several matplotlib SVGs in one page (or PDF) must
    not share an id, or a clip path or marker of one chart would apply to another."""
    svg = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    return _REF.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", svg)


M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQ = 111_320.0
MAP_SIZE = (6.6, 6.6)  # inches: 168 mm wide in print
MIN_SPAN_M = 6000.0  # the smallest area a map shows, in metres across
MAX_LABELLED_CELLS = 60  # up to this many cells, a count map writes each cell's count


def operator_fleet_chart(trend: Trend, op: OperatorTrend) -> str:
    """Monthly deployed maximum and mean, the permit's cap as a red dashed line, the
    months whose maximum is over the cap flagged."""
    labels = [b.label for b in trend.buckets]
    period = "mois" if trend.kind == "month" else "trimestre"
    caps = [None if c is None else float(c) for c in op.cap]
    chart = Chart(
        title=f"{op.name} : flotte déployée par {period}",
        x_labels=labels,
        unit="véhicules",
        lang="fr",
        integer=True,
        series=[
            Series(
                f"maximum du {period}",
                [None if v is None else float(v) for v in op.deployed_max],
                PALETTE[0],
                # the cap per point: flags the points over it (its own line is drawn
                # below in red, the colour of limits across the pack)
                cap=caps,
                flag_label="maximum au-dessus du plafond",
            ),
            Series("plafond du permis", caps, FLAG_COLOUR, dashed=True),
            Series(f"moyenne du {period}", op.deployed_avg, PALETTE[1]),
        ],
    )
    return render_svg(chart, "line")


def operator_quarters_chart(trend: Trend, op: OperatorTrend) -> str:
    """Quarterly mean and maximum as bars, the permit's cap drawn across each quarter."""
    chart = Chart(
        title=f"{op.name} : flotte déployée par trimestre",
        x_labels=[b.label for b in trend.buckets],
        unit="véhicules",
        lang="fr",
        integer=True,
        series=[
            Series("moyenne du trimestre", op.deployed_avg, PALETTE[1]),
            Series(
                "maximum du trimestre",
                [None if v is None else float(v) for v in op.deployed_max],
                PALETTE[0],
            ),
        ],
        caps=[None if c is None else float(c) for c in op.cap],
        cap_label="plafond du permis",
        cap_tick="plafond {cap}",
    )
    return render_svg(chart, "bar")


def violations_chart(trend: Trend) -> str:
    labels = [b.label for b in trend.buckets]
    chart = Chart(
        title="Constats d’infraction par mois"
        if trend.kind == "month"
        else "Constats par trimestre",
        x_labels=labels,
        unit="constats",
        lang="fr",
        integer=True,
        series=[
            Series(op.name, [float(v) for v in op.violations], PALETTE[i % len(PALETTE)])
            for i, op in enumerate(trend.operators)
        ],
    )
    return render_svg(chart, "bar")


# --------------------------------------------------------------------------- maps


class _Projection:
    """Local equirectangular projection in metres around a centre (city scale)."""

    def __init__(self, lon0: float, lat0: float) -> None:
        self.lon0, self.lat0 = lon0, lat0
        self.kx = M_PER_DEG_LON_EQ * math.cos(math.radians(lat0))

    def xy(self, lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
        return (
            (np.asarray(lon, dtype=np.float64) - self.lon0) * self.kx,
            (np.asarray(lat, dtype=np.float64) - self.lat0) * M_PER_DEG_LAT,
        )


def _rings(geom: Any) -> list[Any]:
    if geom is None or geom.is_empty:
        return []
    if geom.geom_type == "Polygon":
        return [geom.exterior, *geom.interiors]
    if hasattr(geom, "geoms"):
        return [r for g in geom.geoms for r in _rings(g)]
    return []


def _scale_bar(ax: Any, x0: float, x1: float, y0: float, y1: float) -> None:
    width = x1 - x0
    target = width / 5
    length = max(
        (s for s in (100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000) if s <= target),
        default=100,
    )
    bx, by = x0 + width * 0.04, y0 + (y1 - y0) * 0.04
    for i in range(2):  # two alternating halves, as on a printed map
        ax.add_patch(_rect(bx + i * length / 2, by, length / 2, (y1 - y0) * 0.012, i))
    label = f"{_number(length / 1000, 'fr')} km" if length >= 1000 else f"{length} m"
    ax.text(bx, by + (y1 - y0) * 0.022, "0", fontsize=8, ha="center", va="bottom")
    ax.text(bx + length, by + (y1 - y0) * 0.022, label, fontsize=8, ha="center", va="bottom")
    ax.annotate(
        "N",
        xy=(x1 - width * 0.04, y1 - (y1 - y0) * 0.04),
        xytext=(x1 - width * 0.04, y1 - (y1 - y0) * 0.13),
        ha="center",
        va="center",
        fontsize=9,
        fontweight="bold",
        arrowprops={"arrowstyle": "-|>", "color": "#222222", "linewidth": 1.2},
    )


def _rect(x: float, y: float, w: float, h: float, i: int) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle(
        (x, y), w, h, facecolor="#222222" if i == 0 else "#ffffff", edgecolor="#222222", lw=0.8
    )


def hex_map(
    grid: HexGrid,
    values: dict[str, float],
    *,
    title: str,
    legend: str,
    cmap: str,
    counts: bool = False,
) -> str:
    """A map of ``values`` per H3 cell over the city's districts and water, as SVG."""
    from matplotlib import colormaps, rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.patches import Polygon
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    boundary = grid.layers.boundary
    cells = {c: v for c, v in values.items() if v > 0}
    lons: list[float] = []
    lats: list[float] = []
    for c in cells:  # the map frames the hexagons (with the city around them)
        for lon, lat in cell_polygon(c):
            lons.append(lon)
            lats.append(lat)
    if not lons and boundary is not None:
        b = boundary.bounds
        lons, lats = [b[0], b[2]], [b[1], b[3]]
    if not lons:
        lons, lats = [0.0, 0.01], [0.0, 0.01]
    proj = _Projection((min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2)
    xs, ys = proj.xy(lons, lats)
    cx, cy = float(xs.min() + xs.max()) / 2, float(ys.min() + ys.max()) / 2
    half = max(float(xs.max() - xs.min()), float(ys.max() - ys.min()), MIN_SPAN_M) * 0.55
    x0, x1, y0, y1 = cx - half, cx + half, cy - half, cy + half
    view = shapely.box(
        proj.lon0 + x0 / proj.kx,
        proj.lat0 + y0 / M_PER_DEG_LAT,
        proj.lon0 + x1 / proj.kx,
        proj.lat0 + y1 / M_PER_DEG_LAT,
    )

    def label(geom: Any, name: str, **style: Any) -> None:
        """``name`` inside the visible part of ``geom`` (nothing when none is visible)."""
        seen = geom.intersection(view)
        if seen.is_empty or seen.area < 0.04 * view.area:
            return
        c = seen.representative_point()
        px, py = proj.xy(c.x, c.y)
        ax.text(float(px), float(py), name, ha="center", va="center", zorder=5, **style)

    with rc_context(RC):
        fig = Figure(figsize=MAP_SIZE, layout="constrained")
        ax = fig.add_subplot()
        ax.set_title(title, loc="left")
        ax.set_aspect("equal")
        ax.set_axis_off()
        for name, geom in grid.layers.water:
            for ring in _rings(geom)[:1] if geom.geom_type == "Polygon" else _rings(geom):
                x, y = proj.xy(*ring.xy)
                ax.fill(x, y, facecolor="#cfe3f3", edgecolor="#7fa7c9", linewidth=0.6, zorder=1)
            label(geom, name, fontsize=8.5, color="#2f5f8a", style="italic")
        for name, geom in grid.layers.districts:
            for ring in _rings(geom):
                x, y = proj.xy(*ring.xy)
                ax.plot(x, y, color="#9a9a9a", linewidth=0.6, zorder=2)
            label(geom, name, fontsize=8.5, color="#555555")
        for ring in _rings(boundary):
            x, y = proj.xy(*ring.xy)
            ax.plot(x, y, color="#333333", linewidth=1.3, zorder=3)
        top = max(cells.values(), default=1.0)
        norm = Normalize(vmin=0, vmax=top)
        colours = colormaps[cmap]
        for cell, value in sorted(cells.items()):
            ring = cell_polygon(cell)
            x, y = proj.xy([p[0] for p in ring], [p[1] for p in ring])
            ax.add_patch(
                Polygon(
                    np.column_stack([x, y]),
                    closed=True,
                    facecolor=colours(0.15 + 0.85 * norm(value)),
                    edgecolor="#5a5a5a",
                    linewidth=0.3,
                    alpha=0.9,
                    zorder=4,
                )
            )
            if counts and len(cells) <= MAX_LABELLED_CELLS:  # a few cells: their counts
                ax.text(
                    float(np.mean(x)),
                    float(np.mean(y)),
                    fmt.num(value),
                    fontsize=6.5,
                    color="#ffffff" if norm(value) > 0.5 else "#222222",
                    ha="center",
                    va="center",
                    zorder=6,
                )
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        _scale_bar(ax, x0, x1, y0, y1)
        from matplotlib.cm import ScalarMappable

        mappable = ScalarMappable(norm=Normalize(vmin=0, vmax=top), cmap=_truncated(colours))
        bar = fig.colorbar(mappable, ax=ax, shrink=0.7, pad=0.02)
        bar.set_label(legend, fontsize=8.5)
        bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: _number(v, "fr")))
        bar.ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=counts or top >= 5))
        bar.ax.tick_params(labelsize=8)
        FigureCanvasAgg(fig)
        buf = io.StringIO()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "constrained_layout not applied")
            fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    head_end = svg.index(">") + 1
    desc = (
        f"<title>{_esc(title)}</title><desc>{_esc(legend)} : "
        f"{fmt.num(len(cells))} hexagones, maximum {fmt.num(top, 1)}</desc>"
    )
    tag = svg[: head_end - 1] + ' role="img" aria-label="' + _esc(title) + '">'
    return presentation_only(tag + desc + svg[head_end:])


def _truncated(colours: Any) -> Any:
    from matplotlib.colors import ListedColormap

    return ListedColormap(colours(np.linspace(0.15, 1.0, 128)))


def _esc(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(text, {'"': "&quot;"})
