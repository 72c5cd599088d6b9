"""The stay behind a case, event by event, with the raw file that shows each one
(issue 11): the ID changes linked into it (with their distance and confidence),
the absences and gaps it bridged, its state changes in place, and how the
vehicle's stays around it began and ended. Read for the case file."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

#: Most events listed (a stay under an operator that rotates ids every poll has one
#: ID change per poll; the first and the last ones are kept).
MAX_EVENTS = 200


def stay_timeline(
    session: Session, vehicle_id: int | None, since: datetime | None, until: datetime | None = None
) -> list[dict[str, Any]]:
    """Events of the vehicle from ``since`` (the violation's episode start) to ``until``,
    oldest first: ``rotation``, ``absence``, ``back``, ``gap``, ``state``, ``stay_start``,
    ``stay_end``; each with ``at``, details and ``sha256`` (the raw file) when known."""
    if vehicle_id is None or since is None:
        return []
    params = {"vid": vehicle_id, "since": since, "until": until}
    window = " AND x.at >= :since AND (CAST(:until AS timestamptz) IS NULL OR x.at <= :until)"
    rows = session.execute(
        text(
            "SELECT * FROM ("
            " SELECT a.first_seen_at AS at, 'rotation' AS kind, NULL AS state, a.gbfs_id,"
            "  a.linked_from, a.link_distance_m AS distance_m, a.link_confidence AS confidence,"
            "  NULL::float8 AS seconds, NULL AS detail, f.content_hash AS sha256"
            "  FROM vehicle_alias a LEFT JOIN feed_fetch f ON f.id = a.fetch_id"
            "  WHERE a.vehicle_id = :vid AND a.linked_from IS NOT NULL"
            " UNION ALL"
            " SELECT e.at, e.kind, e.state, NULL, NULL, NULL, NULL, e.seconds, e.detail,"
            "  f.content_hash FROM dwell_event e LEFT JOIN feed_fetch f ON f.id = e.fetch_id"
            "  WHERE e.vehicle_id = :vid"
            " UNION ALL"
            " SELECT d.started_at, 'stay_start', d.state, d.gbfs_id, NULL, NULL, NULL, NULL,"
            "  d.start_confidence, f.content_hash FROM dwell d"
            "  LEFT JOIN feed_fetch f ON f.id = d.start_fetch_id WHERE d.vehicle_id = :vid"
            " UNION ALL"
            " SELECT d.ended_at, 'stay_end', NULL, d.gbfs_id, NULL, NULL, NULL, NULL,"
            "  d.end_reason, f.content_hash FROM dwell d"
            "  LEFT JOIN feed_fetch f ON f.id = d.end_fetch_id"
            "  WHERE d.vehicle_id = :vid AND d.ended_at IS NOT NULL"
            ") x WHERE true" + window + " ORDER BY x.at, x.kind"
        ),
        params,
    ).mappings()
    items = [dict(r) for r in rows]
    if len(items) > MAX_EVENTS:  # keep the first and the last ones, say how many are left out
        half = MAX_EVENTS // 2
        gap = {"kind": "skipped", "count": len(items) - 2 * half, "at": items[half]["at"]}
        items = [*items[:half], gap, *items[-half:]]
    return items


def timeline_hashes(items: list[dict[str, Any]]) -> set[str]:
    return {i["sha256"] for i in items if i.get("sha256")}


def ended_stays(cur: Any, dwell_ids: list[int]) -> dict[int, tuple[str | None, int | None]]:
    """Of these stays, the ended ones: id -> (end reason, the fetch that ended it),
    on a psycopg cursor (a violation closes with the reason its stay ended)."""
    cur.execute(
        "SELECT id, end_reason, end_fetch_id FROM dwell"
        " WHERE id = ANY(%s) AND ended_at IS NOT NULL",
        (dwell_ids,),
    )
    return {r[0]: (r[1], r[2]) for r in cur.fetchall()}
