"""The statistics charts of a report, drawn with matplotlib
(:mod:`fleet_monitor.stats.chart_render`): SVG inline in the page (no script, so the
page's Content-Security-Policy needs nothing more), the same SVG in the printed
statistics report (``stats/pdf.py``), and PNG at print resolution for documents
that want raster images, all from the same chart definitions.

Texts are in the report's language (``report["lang"]``), from
:mod:`fleet_monitor.stats.labels` (the exports are made outside a web request, so
they do not go through Flask-Babel). Dates are ``dd/mm`` in French, ``5 Dec`` in English.
The deployed-fleet chart draws each operator's permit cap (``sections.fleet.caps``)
as a labelled line and flags the days (hours) whose maximum exceeds it.

Decision: the flag compares the statistics' own maximum (5-minute observed samples)
with the cap, to show where to look; the breach itself is the rules engine's (its
cap samples and counting method, reported in the violations), not the chart's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fleet_monitor.models.stats import ALL
from fleet_monitor.palette import PALETTE
from fleet_monitor.printing.calendar_words import MONTHS_EN_SHORT
from fleet_monitor.stats import labels
from fleet_monitor.stats.chart_render import Chart, Series, number, render_png, render_svg
from rules.registry import rule_label

__all__ = ["Chart", "Series", "colour_for", "colours", "report_chart_images", "report_charts"]

TOTAL_COLOUR = "#333333"


def colour_for(index: int, slug: str) -> str:
    return TOTAL_COLOUR if slug == ALL else PALETTE[index % len(PALETTE)]


def colours(slugs: Sequence[str]) -> dict[str, str]:
    real = [s for s in slugs if s != ALL]
    out = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(sorted(real))}
    out[ALL] = TOTAL_COLOUR
    return out


def report_charts(report: Mapping[str, Any]) -> dict[str, str]:
    """The charts of a report (see :func:`fleet_monitor.stats.report.build_report`), SVG."""
    return {name: render_svg(chart, kind) for name, (chart, kind) in chart_specs(report).items()}


def report_chart_images(report: Mapping[str, Any], dpi: int = 200) -> dict[str, bytes]:
    """The same charts as PNG at ``dpi`` (documents that embed raster images)."""
    return {
        name: render_png(chart, kind, dpi) for name, (chart, kind) in chart_specs(report).items()
    }


def _t(lang: str, key: str, **values: object) -> str:
    return labels.chart_text(key, lang, **values)


def day_label(day: str, lang: str) -> str:
    """``2026-12-05`` -> ``05/12`` (fr) or ``5 Dec`` (en)."""
    if lang == "fr":
        return f"{day[8:10]}/{day[5:7]}"
    return f"{int(day[8:10])} {MONTHS_EN_SHORT[int(day[5:7]) - 1]}"


def _kind(labels: Sequence[str]) -> str:
    return "barh" if any(len(x) > 18 for x in labels) else "bar"


def chart_specs(report: Mapping[str, Any]) -> dict[str, tuple[Chart, str]]:
    sections: Mapping[str, Any] = report["sections"]
    lang = "fr" if str(report.get("lang", "fr")) == "fr" else "en"
    out: dict[str, tuple[Chart, str]] = {}
    fleet = sections.get("fleet")
    if fleet:
        rows = fleet["rows"]
        palette = colours([r["operator"] for r in rows])
        caps: Mapping[str, Mapping[str, int]] = fleet.get("caps") or {}
        if int(report["period"]["days"]) <= 2:
            out["fleet"] = (_hourly_chart(fleet["hourly"], caps, palette, lang), "line")
        else:
            out["fleet"] = (_daily_chart(fleet["daily"], caps, palette, lang), "line")
        names = [r["operator_name"] for r in rows]
        out["comparison"] = (
            Chart(
                _t(lang, "comparison"),
                names,
                [
                    Series(_t(lang, "mean"), [r["deployed_avg"] for r in rows], PALETTE[0]),
                    Series("p95", [r["deployed_p95"] for r in rows], PALETTE[4]),
                    Series(_t(lang, "max"), [r["deployed_max"] for r in rows], PALETTE[1]),
                ],
                _t(lang, "vehicles"),
                lang,
                integer=True,
                caps=[_latest(caps.get(r["operator"])) for r in rows],
                cap_label=_t(lang, "cap_short"),
                cap_tick=_t(lang, "cap_tick", cap="{cap}"),  # filled per category
            ),
            _kind(names),
        )
    idle = sections.get("idle")
    if idle:
        rows = idle["rows"]
        keys = ("over_1d", "over_3d", "over_7d", "over_14d")
        palette = colours([x["operator"] for x in rows])
        out["idle"] = (
            Chart(
                _t(lang, "idle"),
                [_t(lang, "days", n=n) for n in (1, 3, 7, 14)],
                [
                    Series(
                        r["operator_name"],
                        [None if r[k] is None else r[k] * 100 for k in keys],
                        palette[r["operator"]],
                    )
                    for r in rows
                ],
                "%",
                lang,
            ),
            "bar",
        )
    use = sections.get("use")
    if use and use["rows"]:
        rows = use["rows"]
        names = [r["operator_name"] for r in rows]
        out["use"] = (
            Chart(
                _t(lang, "use"),
                names,
                [Series("", [r["departures_per_vehicle_day"] for r in rows], PALETTE[2])],
                _t(lang, "departures"),
                lang,
            ),
            _kind(names),
        )
    viol = sections.get("violations")
    if viol and viol["by_rule"]:
        focus = _focus_slug(viol["rows"])
        by_rule = [r for r in viol["by_rule"] if r["operator"] == focus]
        names = [rule_label(r["rule_type"], lang) for r in by_rule]
        out["violations"] = (
            Chart(
                _t(lang, "violations"),
                names,
                [Series("", [r["opened"] for r in by_rule], PALETTE[1])],
                _t(lang, "opened"),
                lang,
                integer=True,
            ),
            _kind(names),
        )
    feeds = sections.get("feeds")
    if feeds and feeds["rows"]:
        rows = [r for r in feeds["rows"] if r["operator"] != ALL]
        names = [r["operator_name"] for r in rows]
        out["feeds"] = (
            Chart(
                _t(lang, "feeds"),
                names,
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
                lang,
            ),
            _kind(names),
        )
    return out


def _focus_slug(rows: Sequence[Mapping[str, Any]]) -> str | None:
    slugs = [str(r["operator"]) for r in rows]
    return ALL if ALL in slugs else (slugs[0] if slugs else None)


def _latest(by_day: Mapping[str, int] | None) -> int | None:
    """The cap in force on the last day of the period that has one."""
    return by_day[max(by_day)] if by_day else None


def _with_cap(
    series: Series,
    slug: str,
    keys: Sequence[str],
    caps: Mapping[str, Mapping[str, int]],
    maxima: Sequence[float | None],
    lang: str,
) -> None:
    cap_by_day = caps.get(slug)
    if not cap_by_day:
        return
    series.cap = [cap_by_day.get(k) for k in keys]
    latest = next((c for c in reversed(series.cap) if c is not None), None)
    if latest is None:
        series.cap = None
        return
    series.cap_label = _t(lang, "cap", name=series.label, cap=number(latest, lang))
    series.flag_values = list(maxima)
    series.flag_label = _t(lang, "over", name=series.label)


def _hourly_chart(
    hourly: Sequence[Mapping[str, Any]],
    caps: Mapping[str, Mapping[str, int]],
    palette: Mapping[str, str],
    lang: str,
) -> Chart:
    series: list[Series] = []
    if hourly:
        slug = str(hourly[0]["operator"])
        s = Series(
            str(hourly[0]["operator_name"]),
            [h["deployed_avg"] for h in hourly],
            palette.get(slug, PALETTE[0]),
        )
        _with_cap(
            s,
            slug,
            [str(h["hour"])[:10] for h in hourly],
            caps,
            [h.get("deployed_max") for h in hourly],
            lang,
        )
        series.append(s)
    return Chart(
        _t(lang, "hourly"),
        [_hour_label(str(h["hour"]), lang) for h in hourly],
        series,
        _t(lang, "vehicles"),
        lang,
    )


def _hour_label(stamp: str, lang: str) -> str:
    """``14 h`` (fr) or ``14:00`` (en); midnight shows its day instead (``06/10``)."""
    hour = stamp[11:13]
    if hour == "00":
        return day_label(stamp[:10], lang)
    return f"{hour} h" if lang == "fr" else f"{hour}:00"


def _daily_chart(
    daily: Sequence[Mapping[str, Any]],
    caps: Mapping[str, Mapping[str, int]],
    palette: Mapping[str, str],
    lang: str,
) -> Chart:
    days = sorted({str(d["day"]) for d in daily})
    by: dict[str, dict[str, Mapping[str, Any]]] = {}
    names: dict[str, str] = {}
    for d in daily:
        slug = str(d["operator"])
        by.setdefault(slug, {})[str(d["day"])] = d
        names[slug] = str(d["operator_name"])
    series = []
    for slug in sorted(by, key=lambda s: (s == ALL, s)):
        rows = by[slug]
        s = Series(
            names[slug],
            [rows[day]["deployed_avg"] if day in rows else None for day in days],
            palette.get(slug, PALETTE[0]),
            slug == ALL,
        )
        maxima = [rows[day].get("deployed_max") if day in rows else None for day in days]
        _with_cap(s, slug, days, caps, maxima, lang)
        series.append(s)
    return Chart(
        _t(lang, "daily"),
        [day_label(day, lang) for day in days],
        series,
        _t(lang, "vehicles"),
        lang,
    )
