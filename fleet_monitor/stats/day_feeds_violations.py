"""One local day's feed health and violations, by SQL on the caller's connection."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fleet_monitor.history.stays import SUCCESS_OUTCOMES, ZONES_CTE
from fleet_monitor.models.stats import ALL

FEED_SQL = """
SELECT f.operator_id, f.feed_type, x.outcome, count(*),
  coalesce(sum(x.record_count), 0), coalesce(sum(x.invalid_count), 0),
  coalesce(sum(x.schema_error_count), 0)
FROM feed_fetch x JOIN feed f ON f.id = x.feed_id
WHERE x.started_at >= %(w0)s AND x.started_at < %(w1)s
GROUP BY 1, 2, 3
"""

LATENCY_SQL = """
SELECT f.operator_id, f.feed_type,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY x.latency_ms)
FROM feed_fetch x JOIN feed f ON f.id = x.feed_id
WHERE x.started_at >= %(w0)s AND x.started_at < %(w1)s AND x.latency_ms IS NOT NULL
GROUP BY 1, 2
"""

OUTAGE_SQL = """
SELECT f.operator_id, f.feed_type,
  sum(extract(epoch FROM least(coalesce(o.ended_at, %(w1)s), %(w1)s)
                       - greatest(o.started_at, %(w0)s))),
  count(*) FILTER (WHERE o.started_at >= %(w0)s)
FROM outage o JOIN feed f ON f.id = o.feed_id
WHERE o.started_at < %(w1)s AND (o.ended_at IS NULL OR o.ended_at > %(w0)s)
GROUP BY 1, 2
"""


def feed_rows(cur: Any, w0: datetime, w1: datetime) -> list[tuple[Any, ...]]:
    """Rows of ``stats_feed_day`` (without the day) for every feed with activity."""
    params = {"w0": w0, "w1": w1}
    acc: dict[tuple[int, str], dict[str, Any]] = {}

    def slot(op: int, ft: str) -> dict[str, Any]:
        return acc.setdefault(
            (op, ft),
            {
                "fetches": 0,
                "successes": 0,
                "outcomes": {},
                "outage_s": 0.0,
                "outages": 0,
                "records": 0,
                "invalid": 0,
                "schema": 0,
                "latency": None,
            },
        )

    cur.execute(FEED_SQL, params)
    for op, ft, outcome, n, records, invalid, schema in cur.fetchall():
        s = slot(op, ft)
        s["fetches"] += n
        s["successes"] += n if outcome in SUCCESS_OUTCOMES else 0
        s["outcomes"][outcome] = n
        s["records"] += int(records)
        s["invalid"] += int(invalid)
        s["schema"] += int(schema)
    cur.execute(LATENCY_SQL, params)
    for op, ft, latency in cur.fetchall():
        slot(op, ft)["latency"] = latency
    cur.execute(OUTAGE_SQL, params)
    for op, ft, seconds, started in cur.fetchall():
        s = slot(op, ft)
        s["outage_s"] = float(seconds or 0.0)
        s["outages"] = int(started)
    return [
        (
            op,
            ft,
            s["fetches"],
            s["successes"],
            s["outcomes"],
            s["outage_s"],
            s["outages"],
            s["records"],
            s["invalid"],
            s["schema"],
            s["latency"],
        )
        for (op, ft), s in sorted(acc.items())
    ]


VIOLATIONS_SQL = f"""
WITH {ZONES_CTE},
v AS (
  SELECT o.id AS operator_id, v.rule_type, coalesce(v.zone_id, '') AS zone_id, v.status,
    v.geom, (v.opened_at >= %(w0)s AND v.opened_at < %(w1)s) AS opened,
    (v.closed_at >= %(w0)s AND v.closed_at < %(w1)s) AS closed,
    extract(epoch FROM v.closed_at - coalesce(v.since, v.opened_at)) / 3600.0 AS hours
  FROM violation v JOIN operator o ON o.slug = v.operator
  WHERE (v.opened_at >= %(w0)s AND v.opened_at < %(w1)s)
     OR (v.closed_at >= %(w0)s AND v.closed_at < %(w1)s)
),
areas AS (
  SELECT v.*, '{ALL}'::text AS area_id FROM v
  UNION ALL
  SELECT v.*, z.zone_id FROM v JOIN zones z ON v.geom IS NOT NULL
    AND ST_Intersects(z.geom, v.geom)
)
SELECT operator_id, rule_type, zone_id, area_id, status,
  count(*) FILTER (WHERE opened), count(*) FILTER (WHERE closed),
  coalesce(sum(greatest(hours, 0)) FILTER (WHERE closed), 0)
FROM areas GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
"""


def violation_rows(
    cur: Any, w0: datetime, w1: datetime, zone_kinds: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Rows of ``stats_violation_day`` (without the day): violations opened and closed."""
    cur.execute(VIOLATIONS_SQL, {"w0": w0, "w1": w1, "kinds": list(zone_kinds)})
    return [tuple(r) for r in cur.fetchall()]
