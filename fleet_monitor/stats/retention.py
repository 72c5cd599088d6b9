"""Data protection: fine-grained positions are kept ``stats.position_history_days``,
aggregates ``stats.aggregate_retention_days`` (see ``docs/statistics.md``).

* Stays (``dwell``) that ended before the horizon get their position snapped to a
  ``coarsen_grid_m`` grid (``position_policy = "coarsen"``), or are deleted
  (``"purge"``). The stays named as the evidence of a violation keep their exact
  position as long as the violation is kept. Open stays (vehicles parked now)
  are not touched.
* Work is done in batches of ids, one transaction each, from a watermark
  (``stats_state``: ``positions_until``), so a run can stop and resume.
* Daily aggregates older than their retention are deleted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from datastore.connection import driver_connection
from fleet_monitor.settings import StatsSettings
from fleet_monitor.stats.aggregate import DAY_TABLES
from fleet_monitor.stats.periods import local_day

log = logging.getLogger(__name__)

WATERMARK = "positions_until"
M_PER_DEG_LAT = 111_132.0
M_PER_DEG_LON_EQ = 111_320.0

# A writer, so it stays here rather than in the read interface (fleet_monitor.history,
# which only answers questions): these statements rewrite or delete the ingest's
# stays for data protection, and the candidate selection is the first half of that
# write (its batches and watermark are the job's). tests/test_read_interface.py
# lists this file among the allowed writers.
#
# one scan of the stays a day (there is no index on ``dwell.ended_at``, on purpose:
# the ingest keeps closing a stay a HOT update)
CANDIDATES_SQL = """
SELECT d.id FROM dwell d
WHERE d.ended_at >= %(a)s AND d.ended_at < %(b)s
  AND NOT EXISTS (SELECT 1 FROM violation v WHERE v.dwell_id = d.id)
ORDER BY d.id
"""

COARSEN_SQL = """
UPDATE dwell d SET lat = c.lat, lon = c.lon,
  geom = ST_SetSRID(ST_MakePoint(c.lon, c.lat), 4326)
FROM (
  SELECT id, round(lat / %(dlat)s) * %(dlat)s AS lat,
         round(lon / (%(dlat)s * %(ratio)s / cos(radians(round(lat)))))
           * (%(dlat)s * %(ratio)s / cos(radians(round(lat)))) AS lon
  FROM dwell WHERE id = ANY(%(ids)s) AND lat IS NOT NULL AND lon IS NOT NULL
) c
WHERE d.id = c.id
"""


@dataclass(slots=True)
class RetentionSummary:
    horizon: datetime
    since: datetime | None
    dwells: int = 0
    policy: str = "coarsen"
    aggregate_days_deleted: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "horizon": self.horizon.isoformat(),
            "since": self.since.isoformat() if self.since else None,
            "dwells": self.dwells,
            "policy": self.policy,
            "aggregate_days_deleted": self.aggregate_days_deleted,
        }


def apply_retention(
    engine: Engine,
    stats: StatsSettings,
    timezone: str,
    now: datetime,
    *,
    batch: int = 20_000,
) -> RetentionSummary:
    """Coarsen (or purge) positions past the horizon; delete expired aggregates."""
    from zoneinfo import ZoneInfo

    horizon = now - timedelta(days=stats.position_history_days)
    raw = engine.raw_connection()
    try:
        conn = driver_connection(raw)
        with conn.cursor() as cur:
            cur.execute("SELECT value FROM stats_state WHERE key = %s", (WATERMARK,))
            row = cur.fetchone()
            since = row[0] if row else None
            summary = RetentionSummary(horizon, since, policy=stats.position_policy)
            if since is None or since < horizon:
                lower = since or datetime(1970, 1, 1, tzinfo=horizon.tzinfo)
                cur.execute(CANDIDATES_SQL, {"a": lower, "b": horizon})
                ids = [r[0] for r in cur.fetchall()]
                conn.commit()
                for i in range(0, len(ids), batch):
                    chunk = ids[i : i + batch]
                    summary.dwells += _apply(cur, chunk, stats)
                    conn.commit()
                cur.execute(
                    "INSERT INTO stats_state (key, value, details, updated_at)"
                    " VALUES (%s, %s, %s::jsonb, now()) ON CONFLICT (key) DO UPDATE SET"
                    " value = EXCLUDED.value, details = EXCLUDED.details, updated_at = now()",
                    (WATERMARK, horizon, f'{{"policy": "{stats.position_policy}"}}'),
                )
            keep_from = local_day(now, ZoneInfo(timezone)) - timedelta(
                days=max(stats.aggregate_retention_days, stats.backfill_days)
            )
            cur.execute("SELECT count(*) FROM stats_aggregate_day WHERE day < %s", (keep_from,))
            summary.aggregate_days_deleted = int(cur.fetchone()[0])
            for table in (*DAY_TABLES, "stats_aggregate_day"):
                cur.execute(f"DELETE FROM {table} WHERE day < %s", (keep_from,))
        conn.commit()
    except BaseException:
        driver_connection(raw).rollback()
        raise
    finally:
        raw.close()
    if summary.dwells:
        log.info(
            "data protection: %s positions %s (ended before %s)",
            summary.dwells,
            "coarsened" if stats.position_policy == "coarsen" else "deleted",
            horizon.isoformat(),
        )
    return summary


def _apply(cur: Any, ids: list[int], stats: StatsSettings) -> int:
    if stats.position_policy == "purge":
        cur.execute("DELETE FROM dwell WHERE id = ANY(%s)", (ids,))
        return int(cur.rowcount)
    cur.execute(
        COARSEN_SQL,
        {
            "ids": ids,
            "dlat": stats.coarsen_grid_m / M_PER_DEG_LAT,
            "ratio": M_PER_DEG_LAT / M_PER_DEG_LON_EQ,
        },
    )
    return int(cur.rowcount)
