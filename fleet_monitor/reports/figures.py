"""The figures of a daily compliance report, read from the database for one local day.

Everything is computed *as of* the day's bounds from timestamps (never from
the current state of a row), so regenerating a past day from the same data
gives the same figures. Times are UTC ISO strings, durations in seconds,
ratios rounded to 4 decimals: the JSON is stable byte for byte.

Sections (per operator):

* ``fleet``: deployed vehicles from the count samples of the day (mean, max,
  min over the observed samples, observed samples above the permit's cap), the
  counting method, and the data behind it (samples taken vs expected, mean
  coverage, samples in outage);
* ``violations``: per rule type, opened (any status; of which uncertain), closed, still
  open at the end of the day, and overdue notice items checked that day;
* ``idle``: the statistics' daily idle sample (CROW: rentable vehicles parked at
  03:30 local by default) by how long they had been parked (the buckets of
  ``history.definitions``: [0, 1), [1, 3), [3, 7), [7, 14), [14, inf) days), with
  the median and the share whose start is a lower bound (already there at our
  first look or seen again after an outage);
* ``feed``: fetches of the vehicle feed (ok / failed, availability), outage
  time by kind, invalid records, schema errors, median latency;
* ``notices``: notices issued, vehicles noticed, responses and response times,
  outcomes checked, penalties.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from datastore import pg_connection
from fleet_monitor.history.definitions import (
    DEFINITIONS,
    FETCH_SUCCESS_OUTCOMES,
    IDLE_BUCKET_KEYS,
    nearest_rank,
)
from fleet_monitor.history.feed_health import operator_feed_health
from fleet_monitor.notices import dispute_figures
from fleet_monitor.notices.issued import issued_notices, response_seconds
from fleet_monitor.outbox.documents import iso_z
from fleet_monitor.stats.day_figures import OperatorDay
from rules import Permit, select_permit
from rules.timing import describe_method, sample_times

# One definition per figure (fleet_monitor.history.definitions): the statistics use
# the same outcomes, bucket edges and averaging rule.
OK_OUTCOMES = FETCH_SUCCESS_OUTCOMES


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """Local midnight to the next local midnight (23 or 25 hours on DST days), in UTC."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


def _r(value: Any, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def fleet_section(
    session: Session,
    slug: str,
    start: datetime,
    end: datetime,
    permit: Permit | None,
    shared: OperatorDay | None,
) -> dict[str, Any]:
    """Deployed vehicles by the statistics' definition (``shared``: 5-minute samples,
    observed ones only), and the permit's cap samples (``count_sample``) for the cap."""
    row = session.execute(
        text(
            "SELECT count(*), avg(coverage), count(*) FILTER (WHERE in_outage),"
            " count(*) FILTER (WHERE deployed > :cap AND coverage > 0 AND NOT in_outage),"
            " coalesce(array_agg(DISTINCT method ORDER BY method), '{}'), max(positionless)"
            " FROM count_sample WHERE operator = :op AND time >= :s AND time < :e"
        ),
        {"op": slug, "s": start, "e": end, "cap": permit.fleet_cap if permit else None},
    ).one()
    cap_samples, coverage, in_outage, over, methods, positionless = row
    cap_expected = len(list(sample_times(permit, start, end))) if permit else None
    f = shared.fleet if shared is not None else {}
    method = DEFINITIONS["deployed_mean"].method
    if permit is not None:
        method += "; cap: " + describe_method(permit)
    return {
        "cap": permit.fleet_cap if permit else None,
        "cap_clause": permit.clause("fleet_cap") if permit and permit.fleet_cap else None,
        "method": method,
        "methods_recorded": [m for m in methods if m],
        "samples": f.get("samples_observed", 0),
        "samples_expected": f.get("samples_expected"),
        "sample_coverage": f.get("coverage"),
        "deployed_mean": f.get("deployed_avg"),
        "deployed_max": f.get("deployed_max"),
        "deployed_min": f.get("deployed_min"),
        "deployed_p95": f.get("deployed_p95"),
        "cap_samples": cap_samples,
        "cap_samples_expected": cap_expected,
        "data_coverage_mean": _r(coverage),
        "samples_in_outage": in_outage,
        # of the cap samples' deployed, the most listed without a position (counted
        # in the fleet cap, in no zone: docs/rules.md)
        "cap_samples_without_position_max": positionless,
        "samples_over_cap": over if permit and permit.fleet_cap is not None else None,
    }


def violations_section(
    session: Session,
    slug: str,
    operator_id: int,
    start: datetime,
    end: datetime,
    shared: OperatorDay | None = None,
) -> list[dict[str, Any]]:
    """Per rule type: opened (any status), of which uncertain, and closed in the day (the
    statistics' counts when ``shared`` is given), open at the end, overdue items."""
    rows = session.execute(
        text(
            "SELECT rule_type,"
            " count(*) FILTER (WHERE opened_at >= :s AND opened_at < :e),"
            " count(*) FILTER (WHERE opened_at >= :s AND opened_at < :e AND status = 'uncertain'),"
            " count(*) FILTER (WHERE closed_at >= :s AND closed_at < :e),"
            " count(*) FILTER (WHERE opened_at < :e AND (closed_at IS NULL OR closed_at >= :e))"
            " FROM violation WHERE operator = :op AND opened_at < :e"
            " AND (closed_at IS NULL OR closed_at >= :s) GROUP BY rule_type"
        ),
        {"op": slug, "s": start, "e": end},
    ).all()
    overdue: dict[str, int] = dict(
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
    for rule, counts in (shared.violations if shared is not None else {}).items():
        entry = by_rule.setdefault(
            rule,
            {"rule_type": rule, "opened": 0, "opened_uncertain": 0, "closed": 0, "open_at_end": 0},
        )
        entry.setdefault("overdue", 0)
        entry["opened"] = counts["opened"]
        entry["opened_uncertain"] = counts["uncertain"]
        entry["closed"] = counts["closed"]
    return [by_rule[k] for k in sorted(by_rule)]


def idle_section(shared: OperatorDay | None) -> dict[str, Any]:
    """The statistics' daily idle sample (CROW: rentable vehicles parked at 03:30 local,
    by days parked, in the buckets of ``history.definitions``)."""
    idle = shared.idle if shared is not None else {}
    vehicles = idle.get("vehicles")
    p50, p90 = idle.get("p50_h"), idle.get("p90_h")
    at = idle.get("sampled_at")
    return {
        "at": iso_z(at) if at is not None else None,
        "vehicles": vehicles or 0,
        "buckets": idle.get("buckets") or {k: 0 for k in IDLE_BUCKET_KEYS},
        "median_s": _r(p50 * 3600, 0) if p50 is not None else None,
        "p90_s": _r(p90 * 3600, 0) if p90 is not None else None,
        "lower_bound_share": (_r(idle.get("lower_bounds", 0) / vehicles) if vehicles else None),
    }


def feed_section(
    session: Session, operator_id: int, start: datetime, end: datetime
) -> dict[str, Any]:
    """The vehicle feed's health over the day (``history.feed_health``, as the statistics)."""
    with pg_connection(session).cursor() as cur:
        h = operator_feed_health(cur, operator_id, start, end)
    return {
        "fetches": h.fetches,
        "fetches_ok": h.successes,
        "fetch_success": _r(h.successes / h.fetches) if h.fetches else None,
        "failures": h.failures,
        "outage_s": {k: _r(v, 0) for k, v in sorted(h.outage_s.items())},
        "availability": _r(h.availability((end - start).total_seconds())),
        "records": h.records,
        "invalid_records": h.invalid,
        "schema_errors": h.schema,
        "latency_median_ms": _r(h.latency_ms_p50, 1),
    }


def notices_section(
    session: Session, operator_id: int, start: datetime, end: datetime
) -> dict[str, Any]:
    """Notices issued in the day and their responses (``notices.issued``, as the
    statistics), vehicles noticed, outcomes checked and penalties in the day."""
    p = {"op": operator_id, "s": start, "e": end}
    with pg_connection(session).cursor() as cur:
        issued = issued_notices(cur, [operator_id], start, end)
    (vehicles,) = session.execute(
        text(
            "SELECT count(i.id) FROM notice n JOIN notice_item i ON i.notice_id = n.id"
            " WHERE n.operator_id = :op AND n.issued_at >= :s AND n.issued_at < :e"
            " AND n.status NOT IN ('draft', 'cancelled')"
        ),
        p,
    ).one()
    times = response_seconds(issued)
    outcomes: dict[str, int] = dict(
        session.execute(
            text(
                "SELECT i.outcome, count(*) FROM notice_item i JOIN notice n ON n.id = i.notice_id"
                " WHERE n.operator_id = :op AND i.checked_at >= :s AND i.checked_at < :e"
                " GROUP BY i.outcome ORDER BY i.outcome"
            ),
            p,
        ).all()
    )
    disputes = dispute_figures.counts_by_operator(
        session.connection()
        .exec_driver_sql(
            dispute_figures.SQL, dispute_figures.query_params([operator_id], start, end, end)
        )
        .all()
    )
    count, total = session.execute(
        text(
            "SELECT count(*), coalesce(sum(amount_eur), 0) FROM penalty WHERE operator_id = :op"
            " AND created_at >= :s AND created_at < :e AND status = 'due'"
        ),
        p,
    ).one()
    return {
        "issued": len(issued),
        "urgent": sum(1 for n in issued if n.urgent),
        "vehicles": vehicles,
        "acknowledged": sum(1 for n in issued if n.response == "acknowledged"),
        "disputed": sum(1 for n in issued if n.response == "disputed"),
        "response_median_s": _r(nearest_rank(times, 0.5), 0),
        "response_max_s": _r(times[-1], 0) if times else None,
        "outcomes": {k: int(v) for k, v in outcomes.items()},
        "penalties": int(count),
        "penalties_eur": _r(total, 2),
        "disputes": dispute_figures.rates(disputes.get(operator_id, {})),
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
    shared: OperatorDay | None = None,
) -> dict[str, Any]:
    """The report's figures; ``shared``: the operator's figures of the day by the
    statistics' computation (:func:`fleet_monitor.stats.day_figures.operator_days`)."""
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
        "permit": None
        if permit is None
        else {
            "version": permit.version,
            "name": permit.name,
            "min_availability": permit.data.min_monthly_availability,
        },
        "fleet": fleet_section(session, slug, start, end, permit, shared),
        "violations": violations_section(session, slug, operator_id, start, end, shared),
        "idle": idle_section(shared),
        "feed": feed_section(session, operator_id, start, end),
        "notices": notices_section(session, operator_id, start, end),
    }
