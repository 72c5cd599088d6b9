"""One local day's violations opened and closed, by SQL on the caller's connection.

(The day's feed health is :func:`fleet_monitor.history.feed_health.feed_rows`.)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fleet_monitor.history.operators import OPERATORS_RELATION, operators_relation_params
from fleet_monitor.history.stays import ZONES_CTE
from fleet_monitor.models.stats import ALL

VIOLATIONS_SQL = f"""
WITH {ZONES_CTE},
v AS (
  SELECT o.id AS operator_id, v.rule_type, coalesce(v.zone_id, '') AS zone_id, v.status,
    v.geom, (v.opened_at >= %(w0)s AND v.opened_at < %(w1)s) AS opened,
    (v.closed_at >= %(w0)s AND v.closed_at < %(w1)s) AS closed,
    extract(epoch FROM v.closed_at - coalesce(v.since, v.opened_at)) / 3600.0 AS hours
  FROM violation v JOIN {OPERATORS_RELATION} ON o.slug = v.operator
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
    params = {"w0": w0, "w1": w1, "kinds": list(zone_kinds), **operators_relation_params(cur)}
    cur.execute(VIOLATIONS_SQL, params)
    return [tuple(r) for r in cur.fetchall()]
