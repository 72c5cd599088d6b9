"""Per-operator data health for the map: how old the vehicles' data is, and
whether the operator's vehicle feed is in an outage.

``data_at`` is the last *applied* observation of the operator's vehicle feeds
(``feed.last_observed_at``), not the last fetch: a feed that answers with errors,
or with a file the ingest holds back, is fetched every few seconds while its
data grows old. ``outage_since`` is the start of the oldest open outage on one
of its vehicle feeds (``outage`` rows, recorded by the ingest). During an
outage the map keeps the last known positions (an outage is not a fleet of
zero, DOMAIN.md) but greys them and says how old they are.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

HEALTH_SQL = text(
    """
SELECT o.slug,
       max(f.last_observed_at) AS data_at,
       min(ou.started_at) AS outage_since
FROM operator o
JOIN feed f ON f.operator_id = o.id AND f.active AND f.feed_type = 'vehicle_status'
LEFT JOIN outage ou ON ou.feed_id = f.id AND ou.ended_at IS NULL
WHERE (CAST(:scope AS int[]) IS NULL OR o.id = ANY(CAST(:scope AS int[])))
GROUP BY o.slug
ORDER BY o.slug
"""
)


def operators_health(conn: Connection, scope: list[int] | None, now: datetime) -> dict[str, Any]:
    """``{slug: {data_at, age_s, outage_since}}`` for the operators in ``scope`` (None: all)."""
    out: dict[str, Any] = {}
    for slug, data_at, outage_since in conn.execute(HEALTH_SQL, {"scope": scope}):
        out[slug] = {
            "data_at": iso_z(data_at) if data_at else None,
            "age_s": max(0, round((now - data_at).total_seconds())) if data_at else None,
            "outage_since": iso_z(outage_since) if outage_since else None,
        }
    return out


def iso_z(moment: datetime) -> str:
    """``moment`` as an RFC 3339 UTC string with a ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
