"""Data obligations: feed outages, feed staleness, monthly feed availability.

The ingest records outages (``OutageSpan``: HTTP errors, empty or vanished
feeds) and every fetch (``FeedHealthSample``). While an operator is in outage
its vehicle and count rules are suspended; the outage itself is the breach
reported here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from itertools import pairwise

from rules.findings import Finding, RuleType, Status, iso
from rules.inputs import FeedHealthSample, OutageSpan, Permit, active_permits
from rules.timing import month_bounds, overlap


def _penalty(p: Permit, rule: RuleType, status: Status) -> float | None:
    return p.penalties_eur.get(str(rule)) if status == "violation" else None


def evaluate_feed_outage(
    outages: Iterable[OutageSpan], permits: Iterable[Permit], now: datetime
) -> list[Finding]:
    """Each outage ongoing at ``now`` for longer than ``data.max_feed_staleness``
    (the grace an up-to-date feed would have) is a violation, one per outage."""
    active = active_permits(permits, now)
    out: list[Finding] = []
    for o in outages:
        p = active.get(o.operator)
        if p is None or not o.active_at(now):
            continue
        duration = now - o.start
        grace = p.data.max_feed_staleness
        if duration <= grace:
            continue
        out.append(
            Finding(
                rule_type=RuleType.FEED_OUTAGE,
                operator=o.operator,
                subject_key=o.operator,
                status="violation",
                measured=duration.total_seconds(),
                unit="s",
                threshold=grace.total_seconds(),
                clause=p.clause("data.availability"),
                observed_at=now,
                permit_version=p.version,
                since=o.start,
                penalty_eur=_penalty(p, RuleType.FEED_OUTAGE, "violation"),
                evidence={
                    "reason": o.reason,
                    "start": iso(o.start),
                    "fetch_refs": list(o.evidence),
                },
                episode=iso(o.start),
            )
        )
    return out


def evaluate_feed_staleness(
    health: Iterable[FeedHealthSample],
    permits: Iterable[Permit],
    now: datetime,
    *,
    outages: Iterable[OutageSpan] = (),
) -> list[Finding]:
    """The latest successful fetch at or before ``now`` publishes data older than
    ``data.max_feed_staleness``: age = fetch time - ``last_updated`` (a
    ``last_updated`` in the future counts as fresh, and is noted). Our own
    polling delay is not counted against the operator. Operators in outage
    are left to the outage rule."""
    active = active_permits(permits, now)
    down = {o.operator for o in outages if o.active_at(now)}
    latest: dict[str, FeedHealthSample] = {}
    for h in health:
        if h.ok and h.fetched_at <= now and h.last_updated is not None:
            cur = latest.get(h.operator)
            if cur is None or h.fetched_at > cur.fetched_at:
                latest[h.operator] = h
    out: list[Finding] = []
    for op, h in sorted(latest.items()):
        p = active.get(op)
        if p is None or op in down or h.last_updated is None:
            continue
        age = max(h.fetched_at - h.last_updated, timedelta(0))
        if age <= p.data.max_feed_staleness:
            continue
        out.append(
            Finding(
                rule_type=RuleType.FEED_STALENESS,
                operator=op,
                subject_key=op,
                status="violation",
                measured=age.total_seconds(),
                unit="s",
                threshold=p.data.max_feed_staleness.total_seconds(),
                clause=p.clause("data.max_feed_staleness"),
                observed_at=now,
                permit_version=p.version,
                penalty_eur=_penalty(p, RuleType.FEED_STALENESS, "violation"),
                evidence={
                    "fetched_at": iso(h.fetched_at),
                    "last_updated": iso(h.last_updated),
                    "fetch_ref": h.fetch_ref,
                    "vehicle_count": h.vehicle_count,
                },
            )
        )
    return out


def _monitoring_coverage(
    samples: list[FeedHealthSample], start: datetime, end: datetime
) -> float | None:
    """Share of [start, end) during which we were polling: gaps between our own
    fetches longer than three times the median interval are counted as not covered."""
    times = sorted(h.fetched_at for h in samples if start <= h.fetched_at < end)
    if len(times) < 2 or end <= start:
        return None
    gaps = sorted(b - a for a, b in pairwise(times))
    limit = 3 * gaps[len(gaps) // 2]
    uncovered = (
        (times[0] - start) + (end - times[-1]) + sum((g for g in gaps if g > limit), timedelta(0))
    )
    return max(0.0, 1 - uncovered / (end - start))


def evaluate_monthly_availability(
    outages: Iterable[OutageSpan],
    permits: Iterable[Permit],
    now: datetime,
    *,
    health: Iterable[FeedHealthSample] = (),
) -> list[Finding]:
    """Feed availability per local calendar month = 1 - outage time / month length,
    for the current month (so far) and the previous one.

    The previous month is settled: below ``data.min_monthly_availability`` is
    a violation. For the current month, a violation when the outage time so
    far already exceeds the allowance for the whole month, 'uncertain' when
    availability to date is below the minimum but the month may still
    recover. ``coverage`` is the share of the period we were monitoring.
    """
    outages = list(outages)
    by_op_health: dict[str, list[FeedHealthSample]] = defaultdict(list)
    for h in health:
        by_op_health[h.operator].append(h)
    out: list[Finding] = []
    for op, p in sorted(active_permits(permits, now).items()):
        minimum = p.data.min_monthly_availability
        if minimum is None:
            continue
        for back in (1, 0):
            m0, m1 = month_bounds(p, now, back)
            end = min(m1, now)
            if end <= m0:
                continue
            down = sum(
                (overlap(o.start, o.end or now, m0, end) for o in outages if o.operator == op),
                timedelta(0),
            )
            month = m1 - m0
            allowance = month * (1 - minimum)
            to_date = 1 - down / (end - m0)
            if back == 1 or end == m1:
                status: Status | None = "violation" if 1 - down / month < minimum else None
            elif down > allowance:
                status = "violation"
            elif to_date < minimum:
                status = "uncertain"
            else:
                status = None
            if status is None:
                continue
            label = f"{m0:%Y-%m}"
            out.append(
                Finding(
                    rule_type=RuleType.MONTHLY_AVAILABILITY,
                    operator=op,
                    subject_key=op,
                    status=status,
                    measured=round(to_date, 6),
                    unit="ratio",
                    threshold=minimum,
                    clause=p.clause("data.min_monthly_availability"),
                    observed_at=now,
                    permit_version=p.version,
                    since=m0,
                    coverage=_monitoring_coverage(by_op_health.get(op, []), m0, end),
                    penalty_eur=_penalty(p, RuleType.MONTHLY_AVAILABILITY, status),
                    evidence={
                        "month": label,
                        "period": [iso(m0), iso(end)],
                        "outage_seconds": down.total_seconds(),
                        "allowance_seconds_for_month": allowance.total_seconds(),
                        "month_complete": end == m1,
                    },
                    episode=label,
                )
            )
    return out
