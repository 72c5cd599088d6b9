"""Feed health over a window: fetches and their outcomes, records, latency, outages.

One set of queries for the statistics' day aggregation (every operator and feed
type: :func:`feed_rows`) and the daily compliance report (one operator's vehicle
feed: :func:`operator_feed_health`). A fetch is a success by
``definitions.FETCH_SUCCESS_OUTCOMES``; a fetch belongs to the window of its
``started_at``; an outage counts for the part of it inside the window, open ones up
to the window's end; availability is ``1 - outage seconds / window seconds``.
Everything runs on the caller's psycopg cursor (its transaction).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fleet_monitor.history.definitions import FETCH_SUCCESS_OUTCOMES

# %(op)s / %(ft)s: NULL for every operator / feed type
_SCOPE = (
    " AND (%(op)s::int IS NULL OR f.operator_id = %(op)s)"
    " AND (%(ft)s::text IS NULL OR f.feed_type = %(ft)s)"
)

FEED_SQL = (
    "SELECT f.operator_id, f.feed_type, x.outcome, count(*),"
    " coalesce(sum(x.record_count), 0), coalesce(sum(x.invalid_count), 0),"
    " coalesce(sum(x.schema_error_count), 0)"
    " FROM feed_fetch x JOIN feed f ON f.id = x.feed_id"
    " WHERE x.started_at >= %(w0)s AND x.started_at < %(w1)s" + _SCOPE + " GROUP BY 1, 2, 3"
)

LATENCY_SQL = (
    "SELECT f.operator_id, f.feed_type,"
    " percentile_cont(0.5) WITHIN GROUP (ORDER BY x.latency_ms)"
    " FROM feed_fetch x JOIN feed f ON f.id = x.feed_id"
    " WHERE x.started_at >= %(w0)s AND x.started_at < %(w1)s AND x.latency_ms IS NOT NULL"
    + _SCOPE
    + " GROUP BY 1, 2"
)

OUTAGE_SQL = (
    "SELECT f.operator_id, f.feed_type, o.kind,"
    " sum(extract(epoch FROM least(coalesce(o.ended_at, %(w1)s), %(w1)s)"
    "   - greatest(o.started_at, %(w0)s))),"
    " count(*) FILTER (WHERE o.started_at >= %(w0)s)"
    " FROM outage o JOIN feed f ON f.id = o.feed_id"
    " WHERE o.started_at < %(w1)s AND (o.ended_at IS NULL OR o.ended_at > %(w0)s)"
    + _SCOPE
    + " GROUP BY 1, 2, 3"
)


@dataclass(slots=True)
class FeedHealth:
    """One operator's feeds of one type over a window."""

    fetches: int = 0
    successes: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    outage_s: dict[str, float] = field(default_factory=dict)  # by outage kind
    outages_started: int = 0
    records: int = 0
    invalid: int = 0
    schema: int = 0
    latency_ms_p50: float | None = None

    @property
    def failures(self) -> dict[str, int]:
        return {k: n for k, n in sorted(self.outcomes.items()) if k not in FETCH_SUCCESS_OUTCOMES}

    @property
    def outage_total_s(self) -> float:
        return sum(self.outage_s.values())

    def availability(self, window_s: float) -> float | None:
        if not self.fetches or window_s <= 0:
            return None
        return max(0.0, 1 - self.outage_total_s / window_s)


def _health(
    cur: Any, w0: datetime, w1: datetime, op: int | None, ft: str | None
) -> dict[tuple[int, str], FeedHealth]:
    params = {"w0": w0, "w1": w1, "op": op, "ft": ft}
    acc: dict[tuple[int, str], FeedHealth] = {}
    cur.execute(FEED_SQL, params)
    for o, t, outcome, n, records, invalid, schema in cur.fetchall():
        h = acc.setdefault((o, t), FeedHealth())
        h.fetches += n
        h.successes += n if outcome in FETCH_SUCCESS_OUTCOMES else 0
        h.outcomes[outcome] = n
        h.records += int(records)
        h.invalid += int(invalid)
        h.schema += int(schema)
    cur.execute(LATENCY_SQL, params)
    for o, t, latency in cur.fetchall():
        acc.setdefault((o, t), FeedHealth()).latency_ms_p50 = latency
    cur.execute(OUTAGE_SQL, params)
    for o, t, kind, seconds, started in cur.fetchall():
        h = acc.setdefault((o, t), FeedHealth())
        h.outage_s[kind] = float(seconds or 0.0)
        h.outages_started += int(started)
    return acc


def operator_feed_health(
    cur: Any, operator_id: int, w0: datetime, w1: datetime, feed_type: str = "vehicle_status"
) -> FeedHealth:
    """The health of one operator's feeds of ``feed_type`` over ``[w0, w1)``."""
    return _health(cur, w0, w1, operator_id, feed_type).get((operator_id, feed_type), FeedHealth())


def feed_rows(cur: Any, w0: datetime, w1: datetime) -> list[tuple[Any, ...]]:
    """Rows of ``stats_feed_day`` (without the day) for every feed with activity."""
    return [
        (
            op,
            ft,
            h.fetches,
            h.successes,
            h.outcomes,
            h.outage_total_s,
            h.outages_started,
            h.records,
            h.invalid,
            h.schema,
            h.latency_ms_p50,
        )
        for (op, ft), h in sorted(_health(cur, w0, w1, None, None).items())
    ]


_STATUS_SQL = """
SELECT o.slug, o.name, o.gbfs_version, f.id, f.feed_type, f.last_success_at,
       f.consecutive_failures,
       (SELECT outcome FROM feed_fetch WHERE feed_id = f.id
         ORDER BY started_at DESC, id DESC LIMIT 1),
       (SELECT kind FROM outage WHERE feed_id = f.id AND ended_at IS NULL LIMIT 1),
       (SELECT round(avg(CASE WHEN outcome = ANY(%(ok)s)
                             THEN 1.0 ELSE 0.0 END), 3)
          FROM feed_fetch WHERE feed_id = f.id AND source = 'http'
           AND started_at > now() - interval '24 hours')
FROM operator o LEFT JOIN feed f ON f.operator_id = o.id AND f.active
ORDER BY o.slug, f.feed_type
"""


def operators_feed_status(cur: Any) -> list[tuple[Any, ...]]:
    """Every operator with each of its active feeds (``operators list``): slug, name,
    GBFS version, feed id, feed type, last success, consecutive failures, the latest
    fetch's outcome, the open outage's kind, and the share of successful HTTP fetches
    over the last 24 hours (None without any). An operator without an active feed
    comes once, with None in the feed's columns."""
    cur.execute(_STATUS_SQL, {"ok": list(FETCH_SUCCESS_OUTCOMES)})
    return list(cur.fetchall())
