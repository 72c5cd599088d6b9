"""Monthly and quarterly trends: the statistics' own report, run once per month and
once per quarter, so that a month in the pack is the month on the statistics page.

The window is the twelve months ending with the chosen period, or the chosen
period itself when it is longer (at most 24 months). Quarters are the calendar quarters
meeting the window, cut to it (a cut quarter is marked partial).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine

from fleet_monitor.history.feed_health import operator_feed_health
from fleet_monitor.pack import fmt
from fleet_monitor.pack.scorecard import confirmed
from fleet_monitor.settings import Settings
from fleet_monitor.stats.caps import days_over_cap
from fleet_monitor.stats.periods import Period
from fleet_monitor.stats.report import ReportQuery
from fleet_monitor.stats.service import run_report

MAX_MONTHS = 24
TREND_SECTIONS = ("fleet", "violations", "notices")


@dataclass(slots=True)
class Bucket:
    """One month or quarter of the trend."""

    label: str  # "oct. 2026", "T3 2026"
    long_label: str  # "octobre 2026", "3e trimestre 2026"
    first: date
    end: date
    partial: bool = False


@dataclass(slots=True)
class OperatorTrend:
    slug: str
    name: str
    deployed_avg: list[float | None] = field(default_factory=list)
    deployed_max: list[int | None] = field(default_factory=list)
    cap: list[int | None] = field(default_factory=list)
    days_over_cap: list[int] = field(default_factory=list)
    violations: list[int] = field(default_factory=list)
    availability: list[float | None] = field(default_factory=list)
    response_median_h: list[float | None] = field(default_factory=list)
    coverage: list[float | None] = field(default_factory=list)


@dataclass(slots=True)
class Trend:
    kind: str  # month | quarter
    buckets: list[Bucket]
    operators: list[OperatorTrend]


def _month_start(d: date) -> date:
    return d.replace(day=1)


def _next_month(d: date) -> date:
    return date(d.year + 1, 1, 1) if d.month == 12 else date(d.year, d.month + 1, 1)


def window(period: Period, today: date) -> tuple[date, date]:
    """``[first, end)`` of the trend: whole months, none after the current one."""
    end = _next_month(_month_start(period.last))
    first = _month_start(period.first)
    months = (end.year - first.year) * 12 + end.month - first.month
    span = 12 if months <= 12 else min(months, MAX_MONTHS)
    first = end
    for _i in range(span):
        first = _month_start(first - timedelta(days=1))
    last_useful = _next_month(_month_start(today))
    return first, min(end, last_useful)


def month_buckets(first: date, end: date) -> list[Bucket]:
    out, d = [], first
    while d < end:
        nxt = _next_month(d)
        out.append(Bucket(fmt.month(d, short=True), fmt.month(d), d, nxt))
        d = nxt
    return out


def quarter_buckets(first: date, end: date) -> list[Bucket]:
    out = []
    d = date(first.year, 3 * ((first.month - 1) // 3) + 1, 1)
    while d < end:
        nxt = date(d.year + 1, 1, 1) if d.month == 10 else date(d.year, d.month + 3, 1)
        a, b = max(d, first), min(nxt, end)
        partial = (a, b) != (d, nxt)
        out.append(
            Bucket(
                fmt.quarter_short(d) + (" *" if partial else ""),
                fmt.quarter(d) + (" (partiel)" if partial else ""),
                a,
                b,
                partial,
            )
        )
        d = nxt
    return out


def _period(bucket: Bucket, timezone: str) -> Period:
    return Period("custom", f"{bucket.first}..{bucket.end}", bucket.first, bucket.end, timezone)


def build_trend(
    engine: Engine,
    settings: Settings,
    cur: Any,
    kind: str,
    buckets: list[Bucket],
    operators: list[tuple[int, str, str]],
    operator: str | None,
    now: Any,
) -> Trend:
    tz = settings.city.timezone
    trend = Trend(kind, buckets, [OperatorTrend(s, n) for _i, s, n in operators])
    by_slug = {t.slug: t for t in trend.operators}
    ids = {s: i for i, s, _n in operators}
    for bucket in buckets:
        period = _period(bucket, tz)
        query = ReportQuery(period, operator=operator, lang="fr")
        report = run_report(
            engine, settings, query, visible=None, now=now, sections=TREND_SECTIONS, cur=cur
        )
        fleet = report["sections"]["fleet"]
        for slug, t in by_slug.items():
            row: dict[str, Any] = next((r for r in fleet["rows"] if r["operator"] == slug), {})
            caps = fleet["caps"].get(slug, {})
            t.deployed_avg.append(row.get("deployed_avg"))
            t.deployed_max.append(row.get("deployed_max"))
            t.coverage.append(row.get("coverage"))
            t.cap.append(max(caps.values()) if caps else None)
            t.days_over_cap.append(
                days_over_cap((d for d in fleet["daily"] if d["operator"] == slug), caps)
            )
            v = next(
                (r for r in report["sections"]["violations"]["rows"] if r["operator"] == slug),
                None,
            )
            t.violations.append(0 if v is None else confirmed(v))
            n = next(
                (r for r in report["sections"]["notices"]["rows"] if r["operator"] == slug), None
            )
            t.response_median_h.append(None if n is None else n["response_median_h"])
            health = operator_feed_health(cur, ids[slug], period.start, period.stop)
            t.availability.append(health.availability((period.stop - period.start).total_seconds()))
    return trend
