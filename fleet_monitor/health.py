"""Feed health as shown by ``operators list`` (and, later, the web pages)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fleet_monitor.database import make_engine
from fleet_monitor.settings import Settings
from gbfs_ingest.vehicle_store import pg_connection

HEALTH_SQL = """
SELECT o.slug, o.name, o.gbfs_version, f.id, f.feed_type, f.last_success_at,
       f.consecutive_failures,
       (SELECT outcome FROM feed_fetch WHERE feed_id = f.id
         ORDER BY started_at DESC, id DESC LIMIT 1),
       (SELECT kind FROM outage WHERE feed_id = f.id AND ended_at IS NULL LIMIT 1),
       (SELECT round(avg(CASE WHEN outcome IN ('ok','unchanged','not_modified','not_applied')
                             THEN 1.0 ELSE 0.0 END), 3)
          FROM feed_fetch WHERE feed_id = f.id AND source = 'http'
           AND started_at > now() - interval '24 hours')
FROM operator o LEFT JOIN feed f ON f.operator_id = o.id AND f.active
ORDER BY o.slug, f.feed_type
"""


def operators_health(settings: Settings) -> list[dict[str, Any]]:
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        with Session(engine) as session:
            cur = pg_connection(session).cursor()
            cur.execute(HEALTH_SQL)
            rows = cur.fetchall()
    finally:
        engine.dispose()
    ops: dict[str, dict[str, Any]] = {}
    for op in settings.operators:
        ops[op.slug] = {
            "slug": op.slug,
            "name": op.name,
            "version": None,
            "configured": True,
            "feeds": [],
        }
    for slug, name, version, feed_id, ftype, last_ok, failures, outcome, outage, avail in rows:
        entry = ops.setdefault(slug, {"slug": slug, "name": name, "configured": False, "feeds": []})
        entry["version"] = version
        if feed_id is not None:
            entry["feeds"].append(
                {
                    "feed_type": ftype,
                    "last_success_at": last_ok,
                    "consecutive_failures": failures,
                    "last_outcome": outcome,
                    "outage": outage,
                    "availability_24h": None if avail is None else float(avail),
                }
            )
    return list(ops.values())
