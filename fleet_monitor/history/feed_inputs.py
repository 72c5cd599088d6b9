"""The ingest's feed health as the rules' inputs: outages, the latest fetch that
confirmed each feed's data (staleness), and every fetch of a month (availability).

A fetch counts as a success by ``definitions.FETCH_SUCCESS_OUTCOMES``, as in the
daily report and the statistics.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from datastore import pg_connection
from fleet_monitor.history.definitions import FETCH_SUCCESS_OUTCOMES
from fleet_monitor.history.snapshots import FeedState, fetch_refs
from rules import FeedHealthSample, OutageSpan

#: how far back outages matter: the current and the previous calendar month
OUTAGE_HORIZON = timedelta(days=62)


def load_outages(session: Session, now: datetime) -> list[OutageSpan]:
    """Outages of the operators' vehicle feeds begun at or before ``now``, not ended
    before the previous month (an outage ending after ``now`` is ongoing at ``now``)."""
    cur = pg_connection(session).cursor()
    cur.execute(
        "SELECT o.slug, ou.started_at, ou.ended_at, ou.kind, ou.detail, ou.start_fetch_id,"
        " ff.content_hash FROM outage ou JOIN feed f ON f.id = ou.feed_id"
        " JOIN operator o ON o.id = f.operator_id"
        " LEFT JOIN feed_fetch ff ON ff.id = ou.start_fetch_id"
        " WHERE f.feed_type = 'vehicle_status' AND ou.started_at <= %s"
        " AND (ou.ended_at IS NULL OR ou.ended_at >= %s) ORDER BY ou.started_at",
        (now, now - OUTAGE_HORIZON),
    )
    return [
        OutageSpan(
            operator=slug,
            start=start,
            end=end,
            reason=f"{kind}: {detail}" if detail else kind,
            evidence=fetch_refs(fetch_id, digest),
        )
        for slug, start, end, kind, detail, fetch_id, digest in cur.fetchall()
    ]


def load_health(
    session: Session, now: datetime, feeds: dict[int, FeedState]
) -> list[FeedHealthSample]:
    """The latest successful fetch of each vehicle feed at or before ``now``, with the
    ``last_updated`` of the data it confirmed (for the staleness rule)."""
    cur = pg_connection(session).cursor()
    cur.execute(
        "SELECT f.id, lu.data_updated_at, lu.record_count FROM feed f"
        " LEFT JOIN LATERAL (SELECT ff.data_updated_at, ff.record_count FROM feed_fetch ff"
        "   WHERE ff.feed_id = f.id AND ff.started_at <= %s AND ff.data_updated_at IS NOT NULL"
        "   AND ff.outcome = 'ok' ORDER BY ff.started_at DESC LIMIT 1) lu ON true"
        " WHERE f.id = ANY(%s)",
        (now, list(feeds)),
    )
    out = []
    for fid, last_updated, count in cur.fetchall():
        feed = feeds[fid]
        if feed.latest_fetch_at is None:
            continue
        out.append(
            FeedHealthSample(
                operator=feed.operator,
                fetched_at=feed.latest_fetch_at,
                ok=True,
                last_updated=last_updated,
                vehicle_count=count,
                fetch_ref=f"fetch:{feed.latest_fetch_id}",
            )
        )
    return out


def load_fetch_history(
    session: Session, operator: str, start: datetime, end: datetime
) -> list[FeedHealthSample]:
    """Every fetch of an operator's vehicle feed in [start, end] (monthly coverage)."""
    cur = pg_connection(session).cursor()
    cur.execute(
        "SELECT ff.started_at, ff.outcome = ANY(%s)"  # history.definitions
        " FROM feed_fetch ff JOIN feed f ON f.id = ff.feed_id JOIN operator o"
        " ON o.id = f.operator_id WHERE o.slug = %s AND f.feed_type = 'vehicle_status'"
        " AND ff.started_at >= %s AND ff.started_at <= %s",
        (list(FETCH_SUCCESS_OUTCOMES), operator, start, end),
    )
    return [FeedHealthSample(operator, at, bool(ok)) for at, ok in cur.fetchall()]


def vehicle_feed_ids(cur: Any) -> set[int]:
    """The ids of every vehicle feed (``vehicle_status``), on a psycopg cursor."""
    cur.execute("SELECT id FROM feed WHERE feed_type = 'vehicle_status'")
    return {r[0] for r in cur.fetchall()}
