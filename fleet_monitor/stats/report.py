"""The statistics of a period, read from the daily aggregates: one JSON-ready dict that
the page, the JSON API and every export are made from.

Operators are scoped by the caller: ``visible`` is None for staff (every operator,
and the all-operators totals), else the set of operator ids the account may see;
an operator account never gets the all-operators row (it would disclose the
others' figures by difference).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from fleet_monitor.history.definitions import IDLE_BUCKET_KEYS
from fleet_monitor.history.operators import operator_rows
from fleet_monitor.models.stats import ALL, ALL_OPERATORS
from fleet_monitor.stats import labels, report_sections, residents
from fleet_monitor.stats.caps import fleet_caps
from fleet_monitor.stats.dayfleet import nearest_rank
from fleet_monitor.stats.methods import MethodParams, method
from fleet_monitor.stats.periods import Period, iso
from fleet_monitor.stats.series import Samples, coverage_block, load_samples, rnd, summarise

SECTIONS = (
    "fleet",
    "idle",
    "use",
    "violations",
    "notices",
    "feeds",
    "declared",
    "zones",
    "residents",
)


@dataclass(frozen=True, slots=True)
class ReportQuery:
    period: Period
    operator: str | None = None  # a slug, None = every visible operator
    form_factor: str = ALL
    zone: str = ALL
    lang: str = "fr"


@dataclass(frozen=True, slots=True)
class Row:
    """One operator of the report (id 0 = all operators)."""

    id: int
    slug: str
    name: str

    def label(self) -> dict[str, Any]:
        return {"operator": self.slug, "operator_name": self.name}


def load_operators(cur: Any, visible: frozenset[int] | None) -> list[Row]:
    return [Row(i, s, n) for i, s, n in operator_rows(cur) if visible is None or i in visible]


def report_rows(
    cur: Any, query: ReportQuery, visible: frozenset[int] | None, lang: str
) -> tuple[list[Row], list[Row]]:
    """(operators visible, rows of the report: the selected ones, then all operators)."""
    operators = load_operators(cur, visible)
    if query.operator:
        return operators, [r for r in operators if r.slug == query.operator]
    rows = list(operators)
    if visible is None and len(rows) > 1:
        rows.append(Row(ALL_OPERATORS, ALL, labels.title("all_operators", lang)))
    return operators, rows


def build_report(
    cur: Any,
    query: ReportQuery,
    *,
    visible: frozenset[int] | None,
    params: MethodParams,
    now: datetime | None = None,
    sections: Iterable[str] = SECTIONS,
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    period, lang, tz = query.period, query.lang, query.period.tz
    operators, rows = report_rows(cur, query, visible, lang)
    cur.execute(
        "SELECT day, computed_at FROM stats_aggregate_day WHERE day >= %s AND day < %s",
        (period.first, period.end),
    )
    done = dict(cur.fetchall())
    missing = [d for d in period.days() if d not in done]
    report: dict[str, Any] = {
        "title": labels.title("report", lang),
        "lang": lang,
        "timezone": period.timezone,
        "generated_at": iso(now, tz),
        "period": period.as_dict(),
        "filters": {
            "operator": query.operator or ALL,
            "form_factor": query.form_factor,
            "zone": query.zone,
        },
        "aggregation": {
            "days": period.n_days,
            "aggregated": len(done),
            "missing_days": [d.isoformat() for d in missing[:62]],
            "last_computed_at": iso(max(done.values()), tz) if done else None,
            "statement": labels.statement("days", lang, aggregated=len(done), days=period.n_days),
        },
        "methodology": {"general": method("general", lang, params)},
        "operators": [{"id": r.id, "slug": r.slug, "name": r.name} for r in operators],
        "sections": {},
    }
    wanted = set(sections)
    out = report["sections"]
    ids = [r.id for r in rows]
    samples = load_samples(cur, period.first, period.end, ids, query.form_factor, query.zone)
    if "fleet" in wanted:
        out["fleet"] = fleet_section(rows, samples, query, params)
        out["fleet"]["caps"] = fleet_caps(
            cur, [r.slug for r in rows], period.days(), tz, query.form_factor, query.zone
        )
    if "idle" in wanted:
        out["idle"] = idle_section(cur, rows, query, params)
    if "use" in wanted:
        out["use"] = use_section(cur, rows, samples, query, params)
    for name in ("violations", "notices", "feeds", "declared", "zones"):
        if name in wanted:
            out[name] = report_sections.SECTION_BUILDERS[name](cur, rows, query, params, now)
    if "residents" in wanted:  # issue 15: counts only (stats.residents)
        out["residents"] = residents.residents_section(cur, rows, query, params, now, visible)
        residents.add_to_zones(report)
    for name in out:
        report["methodology"][name] = out[name]["method"]
    return report


def _section(name: str, query: ReportQuery, params: MethodParams) -> dict[str, Any]:
    return {
        "title": labels.title(name, query.lang),
        "method": method(name, query.lang, params),
    }


def _focus(rows: Sequence[Row]) -> Row | None:
    total = [r for r in rows if r.id == ALL_OPERATORS]
    return total[0] if total else (rows[0] if rows else None)


# --------------------------------------------------------------------------- fleet


def fleet_section(
    rows: Sequence[Row], samples: dict[int, Samples], query: ReportQuery, params: MethodParams
) -> dict[str, Any]:
    tz, lang = query.period.tz, query.lang
    section = _section("fleet", query, params)
    table, daily, hourly = [], [], []
    focus = _focus(rows)
    for row in rows:
        times, expected, observed, counts = samples[row.id].concat()
        table.append(
            {
                **row.label(),
                **summarise(times, observed, counts),
                **coverage_block(expected, observed),
            }
        )
        for d in samples[row.id].days:
            daily.append(
                {
                    **row.label(),
                    "day": d.day.isoformat(),
                    **summarise(d.times, d.observed, d.counts),
                    **coverage_block(d.expected, d.observed),
                }
            )
        if focus is not None and row.id == focus.id:
            hourly = _hourly(row, times, observed, counts, tz)
    section["rows"], section["daily"], section["hourly"] = table, daily, hourly
    head = next((r for r in table if focus is not None and r["operator"] == focus.slug), None)
    section["coverage"] = _samples_coverage(head, params, lang)
    return section


def _samples_coverage(
    head: dict[str, Any] | None, params: MethodParams, lang: str
) -> dict[str, Any]:
    if head is None or not head["samples_expected"]:
        return {"statement": labels.statement("none", lang)}
    return {
        "samples_expected": head["samples_expected"],
        "samples_observed": head["samples_observed"],
        "coverage": head["coverage"],
        "statement": labels.statement(
            "samples",
            lang,
            observed=head["samples_observed"],
            expected=head["samples_expected"],
            step=params.step_min,
            share=labels.percent(head["coverage"], lang),
        ),
    }


def _hourly(
    row: Row, times: np.ndarray, observed: np.ndarray, counts: np.ndarray, tz: Any
) -> list[dict[str, Any]]:
    if len(times) == 0:
        return []
    deployed = counts.sum(axis=0)
    hours = (times // 3600).astype(np.int64)
    out = []
    for h in np.unique(hours):
        sel = (hours == h) & observed
        values = deployed[sel]
        out.append(
            {
                **row.label(),
                "hour": iso(datetime.fromtimestamp(int(h) * 3600, UTC), tz),
                "deployed_avg": rnd(values.mean()) if len(values) else None,
                "deployed_max": int(values.max()) if len(values) else None,
                "samples_observed": len(values),
            }
        )
    return out


# --------------------------------------------------------------------------- idle

IDLE_SHARES = (("over_1d", 1), ("over_3d", 2), ("over_7d", 3), ("over_14d", 4))


def idle_section(
    cur: Any, rows: Sequence[Row], query: ReportQuery, params: MethodParams
) -> dict[str, Any]:
    period, lang, tz = query.period, query.lang, query.period.tz
    ids = [r.id for r in rows]
    cur.execute(
        "SELECT c.operator_id, c.day, c.idle_sampled_at, c.idle_expected, c.idle_observed,"
        " i.vehicles, i.disabled, i.buckets, i.lower_bound, i.p50_h, i.p90_h, i.max_h"
        " FROM stats_coverage_day c LEFT JOIN stats_idle_day i ON i.day = c.day"
        " AND i.operator_id = c.operator_id AND i.form_factor = %s AND i.zone_id = %s"
        " WHERE c.day >= %s AND c.day < %s AND c.operator_id = ANY(%s)"
        " ORDER BY c.operator_id, c.day",
        (query.form_factor, query.zone, period.first, period.end, ids),
    )
    by_op: dict[int, list[tuple[Any, ...]]] = {i: [] for i in ids}
    for r in cur.fetchall():
        by_op[r[0]].append(r[1:])
    section = _section("idle", query, params)
    table, daily = [], []
    for row in rows:
        vehicles, lower, expected, observed = 0, 0, 0, 0
        buckets = np.zeros(5, dtype=np.int64)
        medians = []
        for day, at, exp, obs, veh, dis, bkt, low, p50, p90, mx in by_op[row.id]:
            expected += int(exp)
            if not obs:
                continue
            observed += 1
            veh = veh or 0
            vehicles += veh
            lower += low or 0
            if bkt:
                buckets += np.asarray(bkt, dtype=np.int64)
            if p50 is not None:
                medians.append(p50)
            daily.append(
                {
                    **row.label(),
                    "day": day.isoformat(),
                    "sampled_at": iso(at, tz),
                    "vehicles": veh,
                    "disabled": dis or 0,
                    **_shares(np.asarray(bkt or [0] * 5), veh),
                    "p50_h": rnd(p50, 2),
                    "p90_h": rnd(p90, 2),
                    "max_h": rnd(mx, 2),
                    "lower_bounds": low or 0,
                }
            )
        table.append(
            {
                **row.label(),
                "vehicles_avg": rnd(vehicles / observed) if observed else None,
                **_shares(buckets, vehicles),
                "median_h": rnd(nearest_rank(np.sort(np.asarray(medians)), 0.5), 2),
                "buckets": {k: int(v) for k, v in zip(BUCKET_KEYS, buckets, strict=True)},
                "lower_bounds": lower,
                "samples_expected": expected,
                "samples_observed": observed,
                "coverage": rnd(observed / expected) if expected else None,
            }
        )
    section["rows"], section["daily"] = table, daily
    focus = _focus(rows)
    head = next((r for r in table if focus and r["operator"] == focus.slug), None)
    if head and head["samples_expected"]:
        section["coverage"] = {
            "samples_expected": head["samples_expected"],
            "samples_observed": head["samples_observed"],
            "coverage": head["coverage"],
            "statement": labels.statement(
                "idle",
                lang,
                observed=head["samples_observed"],
                expected=head["samples_expected"],
                share=labels.percent(head["coverage"], lang),
            )
            + "; "
            + labels.statement(
                "lower", lang, n=head["lower_bounds"], total=sum(head["buckets"].values())
            ),
        }
    else:
        section["coverage"] = {"statement": labels.statement("none", lang)}
    return section


BUCKET_KEYS = IDLE_BUCKET_KEYS  # one set of keys and edges: history.definitions


def _shares(buckets: np.ndarray, vehicles: int) -> dict[str, float | None]:
    return {
        key: (rnd(float(buckets[i:].sum()) / vehicles) if vehicles else None)
        for key, i in IDLE_SHARES
    }


# --------------------------------------------------------------------------- use

USE_COLUMNS = (
    "departures",
    "moved",
    "vanished",
    "excluded_outage",
    "excluded_disabled",
    "excluded_unconfirmed",
)


def use_section(
    cur: Any,
    rows: Sequence[Row],
    samples: dict[int, Samples],
    query: ReportQuery,
    params: MethodParams,
) -> dict[str, Any]:
    period, lang = query.period, query.lang
    ids = [r.id for r in rows]
    cur.execute(
        f"SELECT operator_id, day, {', '.join(USE_COLUMNS)} FROM stats_use_day"
        " WHERE day >= %s AND day < %s AND operator_id = ANY(%s) AND form_factor = %s"
        " AND zone_id = %s",
        (period.first, period.end, ids, query.form_factor, query.zone),
    )
    counts: dict[tuple[int, date], tuple[int, ...]] = {(r[0], r[1]): r[2:] for r in cur.fetchall()}
    cur.execute(
        "SELECT DISTINCT ON (operator_id) operator_id, id_policy FROM stats_coverage_day"
        " WHERE day >= %s AND day < %s AND operator_id = ANY(%s) AND id_policy IS NOT NULL"
        " ORDER BY operator_id, day DESC",
        (period.first, period.end, ids),
    )
    policies = dict(cur.fetchall())
    section = _section("use", query, params)
    table, daily = [], []
    for row in rows:
        totals = np.zeros(len(USE_COLUMNS), dtype=np.int64)
        vehicle_days = 0.0
        for d in samples[row.id].days:
            values = np.asarray(counts.get((row.id, d.day), (0,) * len(USE_COLUMNS)))
            totals += values
            deployed = d.deployed[d.observed]
            avg = float(deployed.mean()) if len(deployed) else None
            vehicle_days += avg or 0.0
            daily.append(
                {
                    **row.label(),
                    "day": d.day.isoformat(),
                    "departures": int(values[0]),
                    "deployed_avg": rnd(avg),
                    "departures_per_vehicle": rnd(values[0] / avg) if avg else None,
                }
            )
        table.append(
            {
                **row.label(),
                **{k: int(v) for k, v in zip(USE_COLUMNS, totals, strict=True)},
                "vehicle_days": rnd(vehicle_days),
                "departures_per_vehicle_day": rnd(totals[0] / vehicle_days)
                if vehicle_days
                else None,
                "id_policy": policies.get(row.id),
                "relative_error": 0.2,
            }
        )
    section["rows"], section["daily"] = table, daily
    focus = _focus(rows)
    head = next((r for r in table if focus and r["operator"] == focus.slug), None)
    if head is None:
        section["coverage"] = {"statement": labels.statement("none", lang)}
    else:
        excluded = (
            head["excluded_outage"] + head["excluded_disabled"] + head["excluded_unconfirmed"]
        )
        fleet_cov = _samples_coverage(
            {**head, **coverage_block(*samples[focus.id].concat()[1:3])} if focus else None,
            params,
            lang,
        )
        section["coverage"] = {
            **{k: v for k, v in fleet_cov.items() if k != "statement"},
            "statement": fleet_cov["statement"]
            + "; "
            + labels.statement(
                "excluded",
                lang,
                n=excluded,
                outage=head["excluded_outage"],
                disabled=head["excluded_disabled"],
                unconfirmed=head["excluded_unconfirmed"],
            ),
        }
    return section
