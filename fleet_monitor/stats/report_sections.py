"""Report sections beyond the fleet samples: violations, notices, feeds, declared fleet,
zones. Each builder takes ``(cur, rows, query, params, now)`` and returns a section
with its title, method, coverage and rows (see :mod:`fleet_monitor.stats.report`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from fleet_monitor.history.operators import OPERATORS_RELATION, operators_relation_params
from fleet_monitor.models.stats import ALL, ALL_OPERATORS
from fleet_monitor.notices import dispute_figures
from fleet_monitor.notices.issued import issued_notices, response_seconds
from fleet_monitor.stats import labels
from fleet_monitor.stats.dayfleet import nearest_rank
from fleet_monitor.stats.methods import MethodParams, method
from fleet_monitor.stats.series import load_samples, load_zone_means, rnd, summarise

if TYPE_CHECKING:
    from fleet_monitor.stats.report import ReportQuery, Row


def _section(name: str, query: ReportQuery, params: MethodParams) -> dict[str, Any]:
    return {"title": labels.title(name, query.lang), "method": method(name, query.lang, params)}


def _real_ids(rows: Sequence[Row]) -> list[int]:
    return [r.id for r in rows if r.id != ALL_OPERATORS]


def _members(row: Row, rows: Sequence[Row]) -> set[int]:
    """Operators a row stands for: itself, or every operator of the report for 'all'."""
    return set(_real_ids(rows)) if row.id == ALL_OPERATORS else {row.id}


# --------------------------------------------------------------------------- violations


def violations_section(
    cur: Any, rows: Sequence[Row], query: ReportQuery, params: MethodParams, now: datetime
) -> dict[str, Any]:
    period = query.period
    cur.execute(
        "SELECT operator_id, day, rule_type, zone_id, status, opened, closed, closed_hours"
        " FROM stats_violation_day WHERE day >= %s AND day < %s AND operator_id = ANY(%s)"
        " AND area_id = %s",
        (period.first, period.end, _real_ids(rows), query.zone),
    )
    data = cur.fetchall()
    section = _section("violations", query, params)
    table: list[Any] = []
    by_rule: list[Any] = []
    by_zone: list[Any] = []
    by_day: list[Any] = []
    for row in rows:
        members = _members(row, rows)
        mine = [r for r in data if r[0] in members]
        opened = sum(r[5] for r in mine)
        closed = sum(r[6] for r in mine)
        hours = sum(r[7] for r in mine)
        table.append(
            {
                **row.label(),
                "opened": opened,
                "uncertain": sum(r[5] for r in mine if r[4] == "uncertain"),
                "closed": closed,
                "mean_hours_to_close": rnd(hours / closed, 2) if closed else None,
            }
        )
        for key, out, name in (
            (2, by_rule, "rule_type"),
            (3, by_zone, "zone_id"),
            (1, by_day, "day"),
        ):
            acc: dict[Any, list[float]] = defaultdict(lambda: [0, 0, 0, 0.0])
            for r in mine:
                a = acc[r[key]]
                a[0] += r[5]
                a[1] += r[5] if r[4] == "uncertain" else 0
                a[2] += r[6]
                a[3] += r[7]
            for k in sorted(acc):
                o, u, c, h = acc[k]
                out.append(
                    {
                        **row.label(),
                        name: k.isoformat() if isinstance(k, date) else k,
                        "opened": int(o),
                        "uncertain": int(u),
                        "closed": int(c),
                        "mean_hours_to_close": rnd(h / c, 2) if c else None,
                    }
                )
    section.update(rows=table, by_rule=by_rule, by_zone=by_zone, by_day=by_day)
    cur.execute(
        "SELECT count(*), extract(epoch FROM max(gap)) / 3600.0 FROM (SELECT as_of - lag(as_of)"
        " OVER (ORDER BY as_of) AS gap FROM rules_run WHERE as_of >= %s AND as_of < %s) g",
        (period.start, period.stop),
    )
    runs, gap = cur.fetchone()
    section["coverage"] = {
        "rules_runs": int(runs),
        "largest_gap_h": rnd(gap, 2),
        "statement": (
            f"{runs} rules evaluations, largest gap {rnd(gap, 2) or 0} h"
            if query.lang != "fr"
            else f"{runs} évaluations des règles, plus long intervalle {rnd(gap, 2) or 0} h"
        ),
    }
    return section


# --------------------------------------------------------------------------- feeds


def feeds_section(
    cur: Any, rows: Sequence[Row], query: ReportQuery, params: MethodParams, now: datetime
) -> dict[str, Any]:
    period = query.period
    cur.execute(
        "SELECT operator_id, day, feed_type, fetches, successes, outage_s, outages, records,"
        " invalid_records, schema_errors FROM stats_feed_day WHERE day >= %s AND day < %s"
        " AND operator_id = ANY(%s)",
        (period.first, period.end, _real_ids(rows)),
    )
    data = cur.fetchall()
    section = _section("feeds", query, params)
    table, by_feed, by_day = [], [], []
    for row in rows:
        members = _members(row, rows)
        mine = [r for r in data if r[0] in members]
        vehicle = [r for r in mine if r[2] == "vehicle_status"]
        table.append({**row.label(), **feed_figures(vehicle), "all_feeds": feed_figures(mine)})
        for ft in sorted({r[2] for r in mine}):
            by_feed.append(
                {**row.label(), "feed_type": ft, **feed_figures([r for r in mine if r[2] == ft])}
            )
        for day in sorted({r[1] for r in vehicle}):
            by_day.append(
                {
                    **row.label(),
                    "day": day.isoformat(),
                    **feed_figures([r for r in vehicle if r[1] == day]),
                }
            )
    section.update(rows=table, by_feed=by_feed, by_day=by_day)
    total = sum(r["fetches"] for r in table if r["operator"] != ALL)
    section["coverage"] = {
        "fetches": total,
        "statement": labels.statement("fetches", query.lang, n=total),
    }
    return section


def feed_figures(rows: Sequence[tuple[Any, ...]]) -> dict[str, Any]:
    fetches = sum(r[3] for r in rows)
    successes = sum(r[4] for r in rows)
    records = sum(r[7] for r in rows)
    invalid = sum(r[8] for r in rows)
    return {
        "fetches": int(fetches),
        "successes": int(successes),
        "success_share": rnd(successes / fetches) if fetches else None,
        "outage_minutes": rnd(sum(r[5] for r in rows) / 60.0, 2),
        "outages": int(sum(r[6] for r in rows)),
        "records": int(records),
        "invalid_records": int(invalid),
        "invalid_share": rnd(invalid / (records + invalid)) if records + invalid else None,
        "schema_findings": int(sum(r[9] for r in rows)),
    }


# --------------------------------------------------------------------------- notices


def notices_section(
    cur: Any, rows: Sequence[Row], query: ReportQuery, params: MethodParams, now: datetime
) -> dict[str, Any]:
    """Notices issued in the period (``notices.issued``: the daily report's query)."""
    section = _section("notices", query, params)
    issued = issued_notices(cur, _real_ids(rows), query.period.start, query.period.stop)
    cur.execute(  # vehicles noticed, disputed, upheld, rejected (notices.dispute_figures)
        dispute_figures.SQL,
        dispute_figures.query_params(_real_ids(rows), query.period.start, query.period.stop, now),
    )
    disputes = dispute_figures.counts_by_operator(cur.fetchall())
    table = []
    for row in rows:
        members = _members(row, rows)
        mine = [n for n in issued if n.operator_id in members]
        counted = dispute_figures.rates(
            dispute_figures.total([c for op, c in disputes.items() if op in members])
        )
        hours = np.asarray(response_seconds(mine), dtype=np.float64) / 3600.0
        decided = [n for n in mine if n.outcome is not None]
        overdue = [n for n in decided if n.outcome in ("overdue", "partial")]
        pending_late = [
            n
            for n in mine
            if n.outcome is None and n.deadline_at is not None and n.deadline_at < now
        ]
        table.append(
            {
                **row.label(),
                "issued": len(mine),
                "acknowledged": sum(1 for n in mine if n.response == "acknowledged"),
                "disputed": sum(1 for n in mine if n.response == "disputed"),
                "responded": len(hours),
                "response_median_h": rnd(nearest_rank(hours, 0.5), 2),
                "response_p90_h": rnd(nearest_rank(hours, 0.9), 2),
                "with_outcome": len(decided),
                "overdue": len(overdue),
                "overdue_share": rnd(len(overdue) / len(decided)) if decided else None,
                "past_deadline_without_outcome": len(pending_late),
                "vehicles_noticed": counted["vehicles"],
                "vehicles_disputed": counted["disputed"],
                "disputes_upheld": counted["upheld"],
                "disputes_rejected": counted["rejected"],
                "dispute_rate": counted["dispute_rate"],
                "acceptance_rate": counted["acceptance_rate"],
            }
        )
    n = sum(r["issued"] for r in table if r["operator"] != ALL)
    section.update(
        available=True,
        rows=table,
        coverage={
            "notices": n,
            "statement": f"{n} notices" if query.lang != "fr" else f"{n} avis",
        },
    )
    return section


# --------------------------------------------------------------------------- declared


def declared_section(
    cur: Any, rows: Sequence[Row], query: ReportQuery, params: MethodParams, now: datetime
) -> dict[str, Any]:
    period = query.period
    cur.execute(
        "SELECT d.operator_id, o.slug, o.name, d.form_factor, d.period_start, d.period_end,"
        f" d.declared, d.source, d.note FROM declared_fleet d JOIN {OPERATORS_RELATION}"
        " ON o.id = d.operator_id WHERE d.period_start < %(end)s AND d.period_end > %(first)s"
        " AND d.operator_id = ANY(%(ids)s) ORDER BY o.slug, d.period_start, d.form_factor",
        {
            "end": period.end,
            "first": period.first,
            "ids": _real_ids(rows),
            **operators_relation_params(cur),
        },
    )
    section = _section("declared", query, params)
    table = []
    for op, slug, name, ff, start, end, declared, source, note in cur.fetchall():
        first, stop = max(start, period.first), min(end, period.end)
        samples = load_samples(cur, first, stop, [op], ff, ALL)[op]
        times, expected, observed, counts = samples.concat()
        s = summarise(times, observed, counts)
        table.append(
            {
                "operator": slug,
                "operator_name": name,
                "form_factor": ff,
                "period_start": start.isoformat(),
                "period_last_day": (end - timedelta(days=1)).isoformat(),
                "declared": declared,
                "observed_avg": s["deployed_avg"],
                "observed_max": s["deployed_max"],
                "ratio": rnd(s["deployed_avg"] / declared)
                if declared and s["deployed_avg"] is not None
                else None,
                "samples_observed": int(observed.sum()),
                "samples_expected": int(expected.sum()),
                "source": source,
                "note": note,
            }
        )
    section["rows"] = table
    obs = sum(r["samples_observed"] for r in table)
    exp = sum(r["samples_expected"] for r in table)
    section["coverage"] = {
        "declarations": len(table),
        "statement": labels.statement(
            "samples",
            query.lang,
            observed=obs,
            expected=exp,
            step=params.step_min,
            share=labels.percent(obs / exp if exp else None, query.lang),
        )
        if table
        else labels.statement("none", query.lang),
    }
    return section


# --------------------------------------------------------------------------- zones

ZONES_SQL = """
SELECT DISTINCT ON (zone_id) zone_id, name, kind, ST_Area(geom::geography) / 1e6
FROM zone WHERE kind = ANY(%s) AND operator IS NULL
  AND (effective_from IS NULL OR effective_from < %s)
  AND (effective_to IS NULL OR effective_to > %s)
ORDER BY zone_id, version DESC
"""


def zones_section(
    cur: Any, rows: Sequence[Row], query: ReportQuery, params: MethodParams, now: datetime
) -> dict[str, Any]:
    period = query.period
    section = _section("zones", query, params)
    focus = next((r for r in rows if r.id == ALL_OPERATORS), rows[0] if rows else None)
    if focus is None:
        section.update(rows=[], coverage={"statement": labels.statement("none", query.lang)})
        return section
    cur.execute(ZONES_SQL, (list(params.zone_kinds), period.stop, period.start))
    zones = cur.fetchall()
    means = load_zone_means(cur, period.first, period.end, focus.id, query.form_factor)
    members = list(_members(focus, rows))
    cur.execute(
        "SELECT zone_id, sum(departures) FROM stats_use_day WHERE day >= %s AND day < %s"
        " AND operator_id = %s AND form_factor = %s AND zone_id <> '*' GROUP BY 1",
        (period.first, period.end, focus.id, query.form_factor),
    )
    departures = dict(cur.fetchall())
    cur.execute(
        "SELECT area_id, sum(opened) FROM stats_violation_day WHERE day >= %s AND day < %s"
        " AND operator_id = ANY(%s) AND area_id <> '*' GROUP BY 1",
        (period.first, period.end, members),
    )
    violations = dict(cur.fetchall())
    cur.execute(
        "SELECT i.zone_id, sum(i.vehicles), sum(i.buckets[3] + i.buckets[4] + i.buckets[5])"
        " FROM stats_idle_day i JOIN stats_coverage_day c ON c.day = i.day"
        " AND c.operator_id = i.operator_id AND c.idle_observed"
        " WHERE i.day >= %s AND i.day < %s AND i.operator_id = %s AND i.form_factor = %s"
        " AND i.zone_id <> '*' GROUP BY 1",
        (period.first, period.end, focus.id, query.form_factor),
    )
    idle = {z: (int(v), int(o)) for z, v, o in cur.fetchall()}
    table = []
    for zone_id, name, kind, area in zones:
        avg = means.get(zone_id, (0.0, 0))[0]
        if avg is None:
            avg = 0.0
        veh, over3 = idle.get(zone_id, (0, 0))
        table.append(
            {
                "zone_id": zone_id,
                "name": name,
                "kind": kind,
                **focus.label(),
                "area_km2": rnd(area, 4),
                "deployed_avg": rnd(avg),
                "density_per_km2": rnd(avg / area, 2) if area else None,
                "idle_over_3d_share": rnd(over3 / veh) if veh else None,
                "departures": int(departures.get(zone_id, 0)),
                "violations_opened": int(violations.get(zone_id, 0)),
            }
        )
    section["rows"] = table
    section["coverage"] = {"zones": len(table), "statement": f"{len(table)} zones"}
    return section


def zone_geometries(cur: Any, zone_ids: Sequence[str], query: ReportQuery) -> dict[str, str]:
    """GeoJSON geometry (text) of each zone version in force during the period."""
    cur.execute(
        "SELECT DISTINCT ON (zone_id) zone_id, ST_AsGeoJSON(geom, 6) FROM zone"
        " WHERE zone_id = ANY(%s) AND operator IS NULL"
        " AND (effective_from IS NULL OR effective_from < %s)"
        " AND (effective_to IS NULL OR effective_to > %s) ORDER BY zone_id, version DESC",
        (list(zone_ids), query.period.stop, query.period.start),
    )
    return dict(cur.fetchall())


SECTION_BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {
    "violations": violations_section,
    "notices": notices_section,
    "feeds": feeds_section,
    "declared": declared_section,
    "zones": zones_section,
}
