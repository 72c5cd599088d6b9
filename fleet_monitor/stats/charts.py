"""Small SVG charts, generated on the server: shown inline in the page (no script,
presentation attributes only, so the page's Content-Security-Policy needs nothing
more) and embedded as they are in the PDF pack (fpdf2 draws SVG).

Every text goes through XML escaping; every chart has a ``<title>`` and a
``<desc>`` for screen readers, and each mark a ``<title>`` (its value on hover).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from fleet_monitor.models.stats import ALL
from fleet_monitor.palette import PALETTE
from rules.registry import rule_label

TOTAL_COLOUR = "#333333"
FONT = "Helvetica, Arial, sans-serif"
W, H = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 30, 46


@dataclass(slots=True)
class Series:
    label: str
    values: list[float | None]
    colour: str = PALETTE[0]
    dashed: bool = False


@dataclass(slots=True)
class Chart:
    title: str
    x_labels: list[str]
    series: list[Series] = field(default_factory=list)
    unit: str = ""


def colour_for(index: int, slug: str) -> str:
    return TOTAL_COLOUR if slug == ALL else PALETTE[index % len(PALETTE)]


def colours(slugs: Sequence[str]) -> dict[str, str]:
    real = [s for s in slugs if s != ALL]
    out = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(sorted(real))}
    out[ALL] = TOTAL_COLOUR
    return out


def _e(text: object) -> str:
    return escape(str(text), {'"': "&quot;"})


def _fmt(v: float) -> str:
    if abs(v - round(v)) < 1e-9:
        return f"{round(v):d}"
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _ticks(top: float) -> list[float]:
    if top <= 0:
        return [0.0, 1.0]
    raw = top / 4
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    n = math.ceil(top / step)
    return [i * step for i in range(n + 1)]


def _frame(chart: Chart, ymax: float) -> tuple[list[str], float, float, float]:
    ticks = _ticks(ymax)
    top = ticks[-1] or 1.0
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" '
        f'height="{H}" role="img" font-family="{FONT}" font-size="11">',
        f"<title>{_e(chart.title)}</title>",
        f"<desc>{_e(_describe(chart))}</desc>",
        f'<rect x="0" y="0" width="{W}" height="{H}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="18" font-size="13" fill="#222222">{_e(chart.title)}</text>',
    ]
    for t in ticks:
        y = TOP + ph - ph * t / top
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" '
            f'stroke="#dddddd" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555555">'
            f"{_e(_fmt(t))}</text>"
        )
    if chart.unit:
        parts.append(f'<text x="6" y="{TOP - 8}" fill="#555555">{_e(chart.unit)}</text>')
    return parts, top, pw, ph


def _x_labels(chart: Chart, xs: Sequence[float]) -> list[str]:
    n = len(chart.x_labels)
    every = max(1, math.ceil(n / 12))
    out = []
    for i, (label, x) in enumerate(zip(chart.x_labels, xs, strict=True)):
        if i % every == 0 or i == n - 1:
            out.append(
                f'<text x="{x:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle" '
                f'fill="#555555">{_e(label)}</text>'
            )
    return out


def _legend(chart: Chart) -> list[str]:
    out, x = [], LEFT
    for s in chart.series:
        if not s.label:
            continue
        out.append(
            f'<rect x="{x}" y="{H - 16}" width="10" height="10" fill="{_e(s.colour)}"/>'
            f'<text x="{x + 14}" y="{H - 7}" fill="#222222">{_e(s.label)}</text>'
        )
        x += 24 + 7 * len(s.label)
    return out


def _describe(chart: Chart) -> str:
    parts = []
    for s in chart.series:
        vals = [v for v in s.values if v is not None]
        if vals:
            parts.append(f"{s.label}: {_fmt(min(vals))}-{_fmt(max(vals))}")
    return "; ".join(parts) or "no data"


def line_chart(chart: Chart) -> str:
    values = [v for s in chart.series for v in s.values if v is not None]
    parts, top, pw, ph = _frame(chart, max(values, default=0.0))
    n = len(chart.x_labels)
    xs = [LEFT + (pw * (i + 0.5) / n if n else 0) for i in range(n)]
    for s in chart.series:
        runs: list[list[str]] = [[]]
        for x, v in zip(xs, s.values, strict=True):
            if v is None:
                runs.append([])
                continue
            y = TOP + ph - ph * v / top
            runs[-1].append(f"{x:.1f},{y:.1f}")
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{_e(s.colour)}">'
                f"<title>{_e(s.label)}: {_e(_fmt(v))}</title></circle>"
            )
        dash = ' stroke-dasharray="5 4"' if s.dashed else ""
        for run in runs:
            if len(run) > 1:
                parts.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="{_e(s.colour)}" '
                    f'stroke-width="2"{dash}/>'
                )
    parts += _x_labels(chart, xs) + _legend(chart) + ["</svg>"]
    return "".join(parts)


def bar_chart(chart: Chart) -> str:
    values = [v for s in chart.series for v in s.values if v is not None]
    parts, top, pw, ph = _frame(chart, max(values, default=0.0))
    n, k = len(chart.x_labels), max(1, len(chart.series))
    slot = pw / n if n else pw
    bw = max(1.0, slot * 0.8 / k)
    xs = [LEFT + slot * (i + 0.5) for i in range(n)]
    for j, s in enumerate(chart.series):
        for i, v in enumerate(s.values):
            if v is None:
                continue
            h = ph * v / top
            x = LEFT + slot * i + slot * 0.1 + bw * j
            parts.append(
                f'<rect x="{x:.1f}" y="{TOP + ph - h:.1f}" width="{bw:.1f}" height="{h:.1f}" '
                f'fill="{_e(s.colour)}"><title>{_e(chart.x_labels[i])} · {_e(s.label)}: '
                f"{_e(_fmt(v))}</title></rect>"
            )
    parts += _x_labels(chart, xs) + _legend(chart) + ["</svg>"]
    return "".join(parts)


# --------------------------------------------------------------------------- from a report


def report_charts(report: Mapping[str, Any]) -> dict[str, str]:
    """The charts of a report (see :func:`fleet_monitor.stats.report.build_report`)."""
    sections: Mapping[str, Any] = report["sections"]
    lang = str(report.get("lang", "fr"))
    fr = lang == "fr"
    out: dict[str, str] = {}
    fleet = sections.get("fleet")
    if fleet:
        rows = fleet["rows"]
        palette = colours([r["operator"] for r in rows])
        if int(report["period"]["days"]) <= 2:
            hourly = fleet["hourly"]
            chart = Chart(
                "Flotte déployée par heure (moyenne)" if fr else "Deployed fleet per hour (mean)",
                [h["hour"][11:13] for h in hourly],
                [Series(hourly[0]["operator_name"], [h["deployed_avg"] for h in hourly])]
                if hourly
                else [],
                "véhicules" if fr else "vehicles",
            )
        else:
            chart = _daily_chart(fleet["daily"], "deployed_avg", palette, fr)
        out["fleet"] = line_chart(chart)
        out["comparison"] = bar_chart(
            Chart(
                "Moyenne, 95e centile et maximum" if fr else "Mean, 95th percentile and maximum",
                [r["operator_name"] for r in rows],
                [
                    Series(
                        "moyenne" if fr else "mean", [r["deployed_avg"] for r in rows], PALETTE[0]
                    ),
                    Series("p95", [r["deployed_p95"] for r in rows], PALETTE[4]),
                    Series("max", [r["deployed_max"] for r in rows], PALETTE[1]),
                ],
                "véhicules" if fr else "vehicles",
            )
        )
    idle = sections.get("idle")
    if idle:
        rows = idle["rows"]
        keys = ("over_1d", "over_3d", "over_7d", "over_14d")
        out["idle"] = bar_chart(
            Chart(
                "Part stationnée depuis plus de 1, 3, 7, 14 jours"
                if fr
                else "Share parked longer than 1, 3, 7, 14 days",
                [
                    "> 1 j" if fr else "> 1 d",
                    "> 3 j" if fr else "> 3 d",
                    "> 7 j" if fr else "> 7 d",
                    "> 14 j" if fr else "> 14 d",
                ],
                [
                    Series(
                        r["operator_name"],
                        [None if r[k] is None else r[k] * 100 for k in keys],
                        colours([x["operator"] for x in rows])[r["operator"]],
                    )
                    for r in rows
                ],
                "%",
            )
        )
    use = sections.get("use")
    if use and use["rows"]:
        rows = use["rows"]
        out["use"] = bar_chart(
            Chart(
                "Départs par véhicule et par jour (±20 %)"
                if fr
                else "Departures per vehicle per day (±20 %)",
                [r["operator_name"] for r in rows],
                [Series("", [r["departures_per_vehicle_day"] for r in rows], PALETTE[2])],
            )
        )
    viol = sections.get("violations")
    if viol and viol["by_rule"]:
        focus = _focus_slug(viol["rows"])
        by_rule = [r for r in viol["by_rule"] if r["operator"] == focus]
        out["violations"] = bar_chart(
            Chart(
                "Infractions ouvertes par règle" if fr else "Violations opened by rule",
                [rule_label(r["rule_type"], "fr" if fr else "en") for r in by_rule],
                [Series("", [r["opened"] for r in by_rule], PALETTE[1])],
            )
        )
    feeds = sections.get("feeds")
    if feeds and feeds["rows"]:
        rows = [r for r in feeds["rows"] if r["operator"] != ALL]
        out["feeds"] = bar_chart(
            Chart(
                "Lectures réussies du flux des véhicules"
                if fr
                else "Successful fetches of the vehicle feed",
                [r["operator_name"] for r in rows],
                [
                    Series(
                        "",
                        [
                            None if r["success_share"] is None else r["success_share"] * 100
                            for r in rows
                        ],
                        PALETTE[5],
                    )
                ],
                "%",
            )
        )
    return out


def _focus_slug(rows: Sequence[Mapping[str, Any]]) -> str | None:
    slugs = [str(r["operator"]) for r in rows]
    return ALL if ALL in slugs else (slugs[0] if slugs else None)


def _daily_chart(
    daily: Sequence[Mapping[str, Any]], key: str, palette: Mapping[str, str], fr: bool
) -> Chart:
    days = sorted({str(d["day"]) for d in daily})
    by: dict[str, dict[str, float | None]] = {}
    names: dict[str, str] = {}
    for d in daily:
        slug = str(d["operator"])
        by.setdefault(slug, {})[str(d["day"])] = d[key]
        names[slug] = str(d["operator_name"])
    series = [
        Series(names[s], [by[s].get(day) for day in days], palette.get(s, PALETTE[0]), s == ALL)
        for s in sorted(by, key=lambda s: (s == ALL, s))
    ]
    return Chart(
        "Flotte déployée moyenne par jour" if fr else "Mean deployed fleet per day",
        [day[8:10] + "/" + day[5:7] for day in days],
        series,
        "véhicules" if fr else "vehicles",
    )
