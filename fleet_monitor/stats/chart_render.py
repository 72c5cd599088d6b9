"""Draws one statistics chart with matplotlib, as SVG text for the pages or PNG bytes
for raster documents (the printed statistics report embeds the SVG: WeasyPrint
draws it, text included).

Decisions:
* no pyplot and no global backend: each chart is a ``Figure`` on its own Agg
  canvas (thread-safe under the web server, nothing set at import time);
* SVG with real ``<text>`` (``svg.fonttype = none``): searchable, translatable,
  read by screen readers; no script, no event attribute (the page's CSP stays
  strict); a ``<title>`` and ``<desc>`` are added for screen readers;
* deterministic output (fixed ``svg.hashsalt``, no date in the metadata), so the
  same report gives the same bytes; hence a small cache of the last SVGs drawn,
  keyed by everything a chart is made of (a month already past is viewed again
  and again; drawing is ~80 % of the statistics page's time, ``bench/README.md``);
* numbers in the report's language: decimal comma and narrow no-break space for
  thousands in French;
* tick labels thinned to at most 12 on the time axis, category labels rotated or
  drawn as horizontal bars when long, so none overlap at print size.
"""

from __future__ import annotations

import io
import math
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from fleet_monitor.palette import PALETTE

if TYPE_CHECKING:  # matplotlib is imported when a chart is drawn, not with the app
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FLAG_COLOUR = "#c00000"
SIZE = (6.6, 3.3)  # inches: 634 x 317 px in the page (its max), 168 mm wide in print
RC: Any = {  # matplotlib rcParams (its stubs want literal keys)
    "svg.hashsalt": "fleet-monitor-charts",
    "svg.fonttype": "none",
    "text.parse_math": False,  # an operator named "$x$" is text, not a formula
    "font.family": "DejaVu Sans",
    "font.size": 10.0,
    "axes.titlesize": 11.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
MAX_TICKS = 12
SVG_CACHE_ENTRIES = 64  # ~50-100 KB each


@dataclass(slots=True)
class Series:
    label: str
    values: list[float | None]
    colour: str = PALETTE[0]
    dashed: bool = False
    # a limit per point (the permit's cap), drawn as a labelled step line; points
    # whose ``flag_values`` (default: the values) exceed it are flagged
    cap: list[float | None] | None = None
    cap_label: str = ""
    flag_values: list[float | None] | None = None
    flag_label: str = ""


@dataclass(slots=True)
class Chart:
    title: str
    x_labels: list[str]
    series: list[Series] = field(default_factory=list)
    unit: str = ""
    lang: str = "en"
    integer: bool = False  # counts: whole-number ticks only
    # bar charts: a limit per category (the permit's cap), drawn across its bars
    caps: list[float | None] | None = None
    cap_label: str = ""
    # the cap's value under its category's name ("{cap}": the number); not on the
    # plot, where it collided with the bars' own value labels
    cap_tick: str = "{cap}"


def number(value: float, lang: str, decimals: int | None = None) -> str:
    """``1234.5`` -> ``1 234,5`` (narrow no-break space) in French, ``1,234.5`` in English."""
    if decimals is None:
        decimals = 0 if abs(value - round(value)) < 1e-9 else (1 if abs(value) >= 10 else 2)
    text = f"{value:,.{decimals}f}"
    if decimals:
        text = text.rstrip("0").rstrip(".") if "." in text else text
    if lang == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def short(text: str, limit: int = 26) -> str:
    """A label that fits: one line, printable characters only, at most ``limit``
    characters (an operator's name is its feed's; it may be anything)."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _describe(chart: Chart) -> str:
    parts = []
    for s in chart.series:
        vals = [v for v in s.values if v is not None]
        if vals:
            lo, hi = number(min(vals), chart.lang), number(max(vals), chart.lang)
            parts.append(f"{s.label or chart.title}: {lo} - {hi}")
        if s.cap_label:
            parts.append(s.cap_label)
    return "; ".join(parts) or ("aucune donnée" if chart.lang == "fr" else "no data")


def _figure(chart: Chart, kind: str) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    fig = Figure(figsize=SIZE, layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(chart.title, loc="left")
    ax.grid(axis="y" if kind != "barh" else "x", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    fmt = FuncFormatter(lambda v, _pos: number(v, chart.lang))
    n = len(chart.x_labels)
    xs = list(range(n))
    if kind == "line":
        _lines(ax, chart, xs)
    else:
        _bars(ax, chart, xs, horizontal=kind == "barh")
    value_axis = ax.xaxis if kind == "barh" else ax.yaxis
    value_axis.set_major_formatter(fmt)
    value_axis.set_major_locator(
        MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10], integer=chart.integer)
    )
    if chart.unit:
        (ax.set_xlabel if kind == "barh" else ax.set_ylabel)(chart.unit)
    names = _category_names(chart)
    if kind == "barh":
        ax.set_yticks(xs, names)
        ax.invert_yaxis()
        ax.set_xlim(left=0)
    else:
        # at most as many labels as fit side by side (about 55 characters across)
        widest = max((len(x) for x in chart.x_labels), default=1) + 2
        every = max(1, math.ceil(n / max(2, min(MAX_TICKS, 55 // widest))))
        ticks = [i for i in xs if i % every == 0]
        ax.set_xticks(ticks, [names[i] for i in ticks])
        longest = max((len(short(chart.x_labels[i])) for i in ticks), default=0)
        if kind == "bar" and longest * len(ticks) > 70:
            ax.tick_params(axis="x", labelrotation=30)
            for label in ax.get_xticklabels():
                label.set_horizontalalignment("right")
        ax.set_ylim(bottom=0)
        if n:
            ax.set_xlim(-0.6, n - 0.4)
    handles, names = ax.get_legend_handles_labels()
    if names:
        # "outside": constrained layout makes room for it (an axes legend moved out
        # with bbox_to_anchor gets cut at the figure's edge)
        fig.legend(handles, names, loc="outside right upper", frameon=False, fontsize=8.5)
    return fig


def _category_names(chart: Chart) -> list[str]:
    """Each category's tick label; with the cap in force under it when it has one."""
    names = [short(x) for x in chart.x_labels]
    if not chart.caps:
        return names
    return [
        name if cap is None else f"{name}\n{chart.cap_tick.format(cap=number(cap, chart.lang))}"
        for name, cap in zip(names, chart.caps, strict=True)
    ]


def _lines(ax: Axes, chart: Chart, xs: Sequence[int]) -> None:
    for s in chart.series:
        ys = [math.nan if v is None else v for v in s.values]
        ax.plot(
            xs,
            ys,
            color=s.colour,
            linewidth=1.8,
            linestyle="--" if s.dashed else "-",
            marker="o" if len(xs) <= 40 else None,
            markersize=3,
            label=short(s.label) or None,
        )
        if s.cap is None:
            continue
        caps = [math.nan if c is None else c for c in s.cap]
        ax.step(
            xs,
            caps,
            where="mid",
            color=s.colour,
            linewidth=1.2,
            linestyle=":",
            label=short(s.cap_label, 40),
        )
        last = max((i for i, c in enumerate(s.cap) if c is not None), default=None)
        if last is not None:
            ax.annotate(
                s.cap_label,
                (xs[last], caps[last]),
                xytext=(-4, 3),
                textcoords="offset points",
                ha="right",
                va="bottom",
                fontsize=8,
                color=s.colour,
            )
        flags = s.flag_values if s.flag_values is not None else s.values
        over = [
            (x, v)
            for x, v, c in zip(xs, flags, s.cap, strict=True)
            if v is not None and c is not None and v > c
        ]
        if over:
            ax.plot(
                [x for x, _ in over],
                [v for _, v in over],
                linestyle="none",
                marker="^",
                markersize=7,
                color=FLAG_COLOUR,
                label=short(s.flag_label, 40),
            )
    if xs:
        top = max(
            [v for s in chart.series for v in (s.values + (s.cap or [])) if v is not None]
            + [v for s in chart.series for v in (s.flag_values or []) if v is not None]
            + [1.0]
        )
        ax.set_ylim(0, top * 1.12)


def _bars(ax: Axes, chart: Chart, xs: Sequence[int], horizontal: bool) -> None:
    k = max(1, len(chart.series))
    width = 0.8 / k
    for j, s in enumerate(chart.series):
        pos = [x - 0.4 + width * (j + 0.5) for x in xs]
        vals = [0.0 if v is None else v for v in s.values]
        if horizontal:
            bars = ax.barh(pos, vals, width * 0.95, color=s.colour, label=short(s.label) or None)
        else:
            bars = ax.bar(pos, vals, width * 0.95, color=s.colour, label=short(s.label) or None)
        if len(xs) * k <= 12:  # value labels while they fit
            ax.bar_label(
                bars,
                [("" if v is None else number(v, chart.lang)) for v in s.values],
                padding=2,
                fontsize=8,
                color="#333333",
                # over the cap line when it crosses them, still readable
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6},
                zorder=4,
            )
    _bar_caps(ax, chart, xs, horizontal)


def _bar_caps(ax: Axes, chart: Chart, xs: Sequence[int], horizontal: bool) -> None:
    if not chart.caps:
        return
    first = True
    for x, cap in zip(xs, chart.caps, strict=True):
        if cap is None:
            continue
        span = [x - 0.45, x + 0.45]
        a, b = ([cap, cap], span) if horizontal else (span, [cap, cap])
        ax.plot(a, b, color=FLAG_COLOUR, linewidth=2, label=chart.cap_label if first else None)
        first = False


_SVG_OPEN = re.compile(r"<svg\b[^>]*>")
_STYLE_ATTR = re.compile(r'style="([^"]*)"')
_DROP = re.compile(r"<metadata>.*?</metadata>|<style[^>]*>.*?</style>", re.DOTALL)
FONT_STACK = "DejaVu Sans, Verdana, Arial, sans-serif"


def _attributes(match: re.Match[str]) -> str:
    """``style="fill: #fff; stroke: none"`` -> ``fill="#fff" stroke="none"``: the
    page's CSP allows no inline style, SVG presentation attributes are not styles."""
    out = []
    for decl in match.group(1).split(";"):
        name, _, value = decl.partition(":")
        name, value = name.strip(), value.strip()
        if not name:
            continue
        if name == "font-family":
            value = FONT_STACK
        out.append(f'{name}="{escape(value, {chr(34): "&quot;"})}"')
    return " ".join(out)


def presentation_only(svg: str) -> str:
    """matplotlib's SVG without ``style`` attributes, ``<style>`` or metadata."""
    svg = _DROP.sub("", svg)
    return _STYLE_ATTR.sub(_attributes, svg)


class SvgCache:
    """The last SVGs drawn, by (kind, the chart's full ``repr``): bounded, thread-safe."""

    def __init__(self, entries: int = SVG_CACHE_ENTRIES) -> None:
        self.entries = entries
        self._svgs: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_draw(self, chart: Chart, kind: str) -> str:
        key = f"{kind}\x00{chart!r}"
        with self._lock:
            svg = self._svgs.get(key)
            if svg is not None:
                self._svgs.move_to_end(key)
                return svg
        svg = draw_svg(chart, kind)
        with self._lock:
            self._svgs[key] = svg
            while len(self._svgs) > self.entries:
                self._svgs.popitem(last=False)
        return svg

    def __len__(self) -> int:
        return len(self._svgs)


SVG_CACHE = SvgCache()


def render_svg(chart: Chart, kind: str) -> str:
    """The chart as SVG text for a page or a document (drawn, or from the cache)."""
    return SVG_CACHE.get_or_draw(chart, kind)


def draw_svg(chart: Chart, kind: str) -> str:
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with rc_context(RC):
        fig = _figure(chart, kind)
        FigureCanvasAgg(fig)
        buf = io.StringIO()
        with warnings.catch_warnings():
            # too long a text for the layout: drawn unlaid rather than no page at all
            warnings.filterwarnings("ignore", "constrained_layout not applied")
            fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]  # no XML prolog or DOCTYPE inside an HTML page
    head = _SVG_OPEN.match(svg)
    assert head is not None
    label = escape(chart.title, {'"': "&quot;"})
    # the defaults of matplotlib's <style> element, as inherited attributes
    tag = head.group(0)[:-1] + ' stroke-linejoin="round" stroke-linecap="butt"'
    tag += f' role="img" aria-label="{label}">'
    meta = f"<title>{escape(chart.title)}</title><desc>{escape(_describe(chart))}</desc>"
    return presentation_only(tag + meta + svg[head.end() :])


def render_png(chart: Chart, kind: str, dpi: int = 200) -> bytes:
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with rc_context(RC):
        fig = _figure(chart, kind)
        FigureCanvasAgg(fig)
        buf = io.BytesIO()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "constrained_layout not applied")
            fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()
