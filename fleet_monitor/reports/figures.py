"""The figures of a daily compliance report, read from the database for one local day.

Everything is computed *as of* the day's bounds from timestamps (never from
the current state of a row), so regenerating a past day from the same data
gives the same figures. Times are UTC ISO strings, durations in seconds,
ratios rounded to 4 decimals: the JSON is stable byte for byte.

Sections (per operator):

* ``fleet``: deployed vehicles from the count samples of the day (mean, max,
  min, samples above the permit's cap), the counting method, and the data
  behind it (samples taken vs expected, mean coverage, samples in outage);
* ``violations``: per rule type, opened (violation / uncertain), closed, still
  open at the end of the day, and overdue notice items checked that day;
* ``idle``: rentable vehicles parked at the end of the day by how long they
  had been parked (<1 d, 1-3 d, 3-7 d, 7-14 d, >=14 d, the CROW steps), with
  the median and the share whose start is a lower bound (already there at our
  first look or seen again after an outage);
* ``feed``: fetches of the vehicle feed (ok / failed, availability), outage
  time by kind, invalid records, schema errors, median latency;
* ``notices``: notices issued, vehicles noticed, responses and response times,
  outcomes checked, penalties.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from fleet_monitor.outbox.documents import iso_z
from rules import Permit, select_permit
from rules.timing import describe_method, sample_times

IDLE_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("lt_1d", 0, 1),
    ("1d_3d", 1, 3),
    ("3d_7d", 3, 7),
    ("7d_14d", 7, 14),
    ("ge_14d", 14, math.inf),
)
OK_OUTCOMES = ("ok", "unchanged", "not_modified", "not_applied")


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """Local midnight to the next local midnight (23 or 25 hours on DST days), in UTC."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


def _r(value: Any, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def operators_of_day(
    session: Session, start: datetime, end: datetime
) -> list[tuple[int, str, str]]:
    """Operators with a permit in force or a fetch of their feeds during the day."""
    rows = session.execute(
        text(
            "SELECT o.id, o.slug, o.name FROM operator o WHERE EXISTS ("
            "  SELECT 1 FROM permit p WHERE p.operator = o.slug AND p.effective_from < :e"
            "  AND (p.effective_to IS NULL OR p.effective_to > :s))"
            " OR EXISTS (SELECT 1 FROM feed f JOIN feed_fetch ff ON ff.feed_id = f.id"
            "  WHERE f.operator_id = o.id AND ff.started_at >= :s AND ff.started_at < :e)"
            " ORDER BY o.slug"
        ),
        {"s": start, "e": end},
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def fleet_section(
    session: Session, slug: str, start: datetime, end: datetime, permit: Permit | None
) -> dict[str, Any]:
    row = session.execute(
        text(
            "SELECT count(*), avg(deployed), max(deployed), min(deployed), avg(coverage),"
            " count(*) FILTER (WHERE in_outage), count(*) FILTER (WHERE deployed > :cap),"
            " coalesce(array_agg(DISTINCT method ORDER BY method), '{}'), max(positionless)"
            " FROM count_sample WHERE operator = :op AND time >= :s AND time < :e"
        ),
        {"op": slug, "s": start, "e": end, "cap": permit.fleet_cap if permit else None},
    ).one()
    samples, mean, high, low, coverage, in_outage, over, methods, positionless = row
    expected = len(list(sample_times(permit, start, end))) if permit else None
    return {
        "cap": permit.fleet_cap if permit else None,
        "cap_clause": permit.clause("fleet_cap") if permit and permit.fleet_cap else None,
        "method": describe_method(permit) if permit else None,
        "methods_recorded": [m for m in methods if m],
        "samples": samples,
        "samples_expected": expected,
        "sample_coverage": _r(samples / expected) if expected else None,
        "data_coverage_mean": _r(coverage),
        "samples_in_outage": in_outage,
        "deployed_mean": _r(mean, 2),
        "deployed_max": high,
        "deployed_min": low,
        # of the deployed, the most listed without a position (in the fleet count only)
        "deployed_without_position_max": positionless,
        "samples_over_cap": over if permit and permit.fleet_cap is not None else None,
    }


def violations_section(
    session: Session, slug: str, operator_id: int, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    rows = session.execute(
        text(
            "SELECT rule_type,"
            " count(*) FILTER (WHERE opened_at >= :s AND opened_at < :e AND status = 'violation'),"
            " count(*) FILTER (WHERE opened_at >= :s AND opened_at < :e AND status = 'uncertain'),"
            " count(*) FILTER (WHERE closed_at >= :s AND closed_at < :e),"
            " count(*) FILTER (WHERE opened_at < :e AND (closed_at IS NULL OR closed_at >= :e))"
            " FROM violation WHERE operator = :op AND opened_at < :e"
            " AND (closed_at IS NULL OR closed_at >= :s) GROUP BY rule_type"
        ),
        {"op": slug, "s": start, "e": end},
    ).all()
    overdue = dict(
        session.execute(
            text(
                "SELECT i.rule_type, count(*) FROM notice_item i"
                " JOIN notice n ON n.id = i.notice_id"
                " WHERE n.operator_id = :op AND i.outcome = 'overdue'"
                " AND i.checked_at >= :s AND i.checked_at < :e GROUP BY i.rule_type"
            ),
            {"op": operator_id, "s": start, "e": end},
        ).all()
    )
    by_rule: dict[str, dict[str, Any]] = {}
    for rule, opened, uncertain, closed, open_end in rows:
        by_rule[rule] = {
            "rule_type": rule,
            "opened": opened,
            "opened_uncertain": uncertain,
            "closed": closed,
            "open_at_end": open_end,
            "overdue": 0,
        }
    for rule, n in overdue.items():
        by_rule.setdefault(
            rule,
            {
                "rule_type": rule,
                "opened": 0,
                "opened_uncertain": 0,
                "closed": 0,
                "open_at_end": 0,
                "overdue": 0,
            },
        )
        by_rule[rule]["overdue"] = n
    return [by_rule[k] for k in sorted(by_rule)]


def idle_section(session: Session, operator_id: int, end: datetime) -> dict[str, Any]:
    rows = session.execute(
        text(
            "SELECT extract(epoch FROM (:e - d.started_at)), d.start_confidence <> 'observed'"
            " FROM dwell d JOIN feed f ON f.id = d.feed_id"
            " WHERE d.operator_id = :op AND f.feed_type = 'vehicle_status'"
            " AND d.state IN ('available', 'reserved') AND d.started_at <= :e"
            " AND (d.ended_at IS NULL OR d.ended_at > :e)"
        ),
        {"op": operator_id, "e": end},
    ).all()
    seconds = sorted(float(r[0]) for r in rows)
    buckets = {name: 0 for name, _lo, _hi in IDLE_BUCKETS}
    for s in seconds:
        days = s / 86400
        for name, lo, hi in IDLE_BUCKETS:
            if lo <= days < hi:
                buckets[name] += 1
                break
    lower_bounds = sum(1 for r in rows if r[1])
    return {
        "at": iso_z(end),
        "vehicles": len(seconds),
        "buckets": buckets,
        "median_s": _r(_quantile(seconds, 0.5), 0),
        "p90_s": _r(_quantile(seconds, 0.9), 0),
        "lower_bound_share": _r(lower_bounds / len(seconds)) if seconds else None,
    }


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    i = (len(values) - 1) * q
    lo, hi = math.floor(i), math.ceil(i)
    return values[lo] + (values[hi] - values[lo]) * (i - lo)


def feed_section(
    session: Session, operator_id: int, start: datetime, end: datetime
) -> dict[str, Any]:
    row = session.execute(
        text(
            "SELECT count(*), count(*) FILTER (WHERE ff.outcome = ANY(:ok)),"
            " coalesce(sum(ff.invalid_count), 0), coalesce(sum(ff.schema_error_count), 0),"
            " coalesce(sum(ff.record_count) FILTER (WHERE ff.outcome = 'ok'), 0),"
            " percentile_cont(0.5) WITHIN GROUP (ORDER BY ff.latency_ms)"
            " FROM feed_fetch ff JOIN feed f ON f.id = ff.feed_id"
            " WHERE f.operator_id = :op AND f.feed_type = 'vehicle_status'"
            " AND ff.started_at >= :s AND ff.started_at < :e"
        ),
        {"op": operator_id, "s": start, "e": end, "ok": list(OK_OUTCOMES)},
    ).one()
    fetches, ok, invalid, schema_errors, records, latency = row
    failures = dict(
        session.execute(
            text(
                "SELECT ff.outcome, count(*) FROM feed_fetch ff JOIN feed f ON f.id = ff.feed_id"
                " WHERE f.operator_id = :op AND f.feed_type = 'vehicle_status'"
                " AND ff.started_at >= :s AND ff.started_at < :e AND NOT (ff.outcome = ANY(:ok))"
                " GROUP BY ff.outcome ORDER BY ff.outcome"
            ),
            {"op": operator_id, "s": start, "e": end, "ok": list(OK_OUTCOMES)},
        ).all()
    )
    outages = dict(
        session.execute(
            text(
                "SELECT o.kind, sum(extract(epoch FROM (least(coalesce(o.ended_at, :e), :e)"
                " - greatest(o.started_at, :s)))) FROM outage o JOIN feed f ON f.id = o.feed_id"
                " WHERE f.operator_id = :op AND f.feed_type = 'vehicle_status'"
                " AND o.started_at < :e AND (o.ended_at IS NULL OR o.ended_at > :s)"
                " GROUP BY o.kind ORDER BY o.kind"
            ),
            {"op": operator_id, "s": start, "e": end},
        ).all()
    )
    day_s = (end - start).total_seconds()
    outage_s = sum(float(v) for v in outages.values())
    return {
        "fetches": fetches,
        "fetches_ok": ok,
        "fetch_success": _r(ok / fetches) if fetches else None,
        "failures": {k: int(v) for k, v in failures.items()},
        "outage_s": {k: _r(v, 0) for k, v in outages.items()},
        "availability": _r(max(0.0, 1 - outage_s / day_s)) if fetches else None,
        "records": int(records),
        "invalid_records": int(invalid),
        "schema_errors": int(schema_errors),
        "latency_median_ms": _r(latency, 1),
    }


def notices_section(
    session: Session, operator_id: int, start: datetime, end: datetime
) -> dict[str, Any]:
    p = {"op": operator_id, "s": start, "e": end}
    issued, urgent, vehicles = session.execute(
        text(
            "SELECT count(DISTINCT n.id), count(DISTINCT n.id) FILTER (WHERE n.urgent),"
            " count(i.id) FROM notice n LEFT JOIN notice_item i ON i.notice_id = n.id"
            " WHERE n.operator_id = :op AND n.issued_at >= :s AND n.issued_at < :e"
        ),
        p,
    ).one()
    responses = session.execute(
        text(
            "SELECT response, extract(epoch FROM responded_at - coalesce(sent_at, issued_at))"
            " FROM notice WHERE operator_id = :op AND responded_at >= :s AND responded_at < :e"
            " ORDER BY responded_at, id"
        ),
        p,
    ).all()
    times = sorted(float(r[1]) for r in responses if r[1] is not None)
    outcomes = dict(
        session.execute(
            text(
                "SELECT i.outcome, count(*) FROM notice_item i JOIN notice n ON n.id = i.notice_id"
                " WHERE n.operator_id = :op AND i.checked_at >= :s AND i.checked_at < :e"
                " GROUP BY i.outcome ORDER BY i.outcome"
            ),
            p,
        ).all()
    )
    count, total = session.execute(
        text(
            "SELECT count(*), coalesce(sum(amount_eur), 0) FROM penalty WHERE operator_id = :op"
            " AND created_at >= :s AND created_at < :e AND status = 'due'"
        ),
        p,
    ).one()
    return {
        "issued": issued,
        "urgent": urgent,
        "vehicles": vehicles,
        "acknowledged": sum(1 for r in responses if r[0] == "acknowledged"),
        "disputed": sum(1 for r in responses if r[0] == "disputed"),
        "response_median_s": _r(_quantile(times, 0.5), 0),
        "response_max_s": _r(times[-1], 0) if times else None,
        "outcomes": {k: int(v) for k, v in outcomes.items()},
        "penalties": int(count),
        "penalties_eur": _r(total, 2),
    }


def operator_figures(
    session: Session,
    *,
    operator_id: int,
    slug: str,
    name: str,
    day: date,
    tz: str,
    permits: list[Permit],
) -> dict[str, Any]:
    start, end = day_bounds(day, tz)
    permit = select_permit(permits, slug, end - timedelta(microseconds=1)) or select_permit(
        permits, slug, start
    )
    return {
        "type": "operator",
        "day": day.isoformat(),
        "timezone": tz,
        "period": {"start": iso_z(start), "end": iso_z(end)},
        "operator": {"slug": slug, "name": name},
        "permit": None if permit is None else {"version": permit.version, "name": permit.name},
        "fleet": fleet_section(session, slug, start, end, permit),
        "violations": violations_section(session, slug, operator_id, start, end),
        "idle": idle_section(session, operator_id, end),
        "feed": feed_section(session, operator_id, start, end),
        "notices": notices_section(session, operator_id, start, end),
    }
