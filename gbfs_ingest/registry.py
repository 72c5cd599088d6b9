"""Operators and feeds in the database: registration from discovery, listing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from datastore.connection import pg_connection
from gbfs_ingest.config import OperatorSettings
from gbfs_ingest.model import Discovery, FeedRef, FeedType

INGESTED_FEEDS = {
    FeedType.SYSTEM_INFORMATION,
    FeedType.VEHICLE_TYPES,
    FeedType.VEHICLE_STATUS,
    FeedType.STATION_INFORMATION,
    FeedType.STATION_STATUS,
    FeedType.GEOFENCING_ZONES,
    FeedType.SYSTEM_REGIONS,
    FeedType.SYSTEM_PRICING_PLANS,
}


@dataclass(slots=True)
class DiscoveryResult:
    operator_id: int
    discovery: Discovery
    feed_ids: dict[FeedType, int] = field(default_factory=dict)


def ensure_operator(session: Session, slug: str, name: str, discovery_url: str | None) -> int:
    cur = pg_connection(session).cursor()
    cur.execute(
        "INSERT INTO operator (slug, name, discovery_url, version_detected, created_at)"
        " VALUES (%s, %s, %s, false, now()) ON CONFLICT (slug) DO UPDATE SET"
        " name = EXCLUDED.name, discovery_url = COALESCE(EXCLUDED.discovery_url,"
        " operator.discovery_url) RETURNING id",
        (slug, name, discovery_url),
    )
    return cur.fetchone()[0]


def ensure_feed(
    session: Session,
    operator_id: int,
    feed_type: FeedType,
    name: str,
    url: str,
    version: str | None,
    poll_interval_s: int | None = None,
) -> int:
    cur = pg_connection(session).cursor()
    cur.execute(
        "INSERT INTO feed (operator_id, feed_type, name, url, version, active, poll_interval_s,"
        " consecutive_failures, state_token) VALUES (%s, %s, %s, %s, %s, true, %s, 0, 0)"
        " ON CONFLICT (operator_id, feed_type) DO UPDATE SET name = EXCLUDED.name,"
        " url = EXCLUDED.url, version = COALESCE(EXCLUDED.version, feed.version), active = true,"
        " poll_interval_s = EXCLUDED.poll_interval_s RETURNING id",
        (operator_id, feed_type.value, name, url, version, poll_interval_s),
    )
    return cur.fetchone()[0]


def wanted_feeds(operator: OperatorSettings, discovery: Discovery) -> list[FeedRef]:
    """The feeds of a discovery file that are ingested for this operator."""
    wanted = {FeedType.from_name(n) for n in operator.feeds} if operator.feeds else INGESTED_FEEDS
    return [ref for ft, ref in discovery.feeds.items() if ft in wanted and ft in INGESTED_FEEDS]


def register_discovery(
    session: Session, operator: OperatorSettings, discovery: Discovery, at: datetime
) -> DiscoveryResult:
    op_id = ensure_operator(session, operator.slug, operator.name, operator.discovery_url)
    cur = pg_connection(session).cursor()
    cur.execute(
        "UPDATE operator SET gbfs_version = %s, version_detected = %s, language = %s,"
        " discovered_at = %s WHERE id = %s",
        (discovery.version, discovery.version_detected, discovery.language, at, op_id),
    )
    result = DiscoveryResult(op_id, discovery)
    for ref in wanted_feeds(operator, discovery):
        result.feed_ids[ref.feed_type] = ensure_feed(
            session,
            op_id,
            ref.feed_type,
            ref.name,
            ref.url,
            discovery.version,
            operator.poll_interval_s,
        )
    listed = [ft.value for ft in result.feed_ids]
    cur.execute(
        "UPDATE feed SET active = false WHERE operator_id = %s AND NOT (feed_type = ANY(%s))",
        (op_id, listed),
    )
    return result


def operator_feed_ids(session: Session, operator_id: int) -> list[tuple[int, FeedType]]:
    """Active feeds of an operator, slow files first so vehicles find their types."""
    cur = pg_connection(session).cursor()
    cur.execute("SELECT id, feed_type FROM feed WHERE operator_id = %s AND active", (operator_id,))
    order = [
        FeedType.SYSTEM_INFORMATION,
        FeedType.VEHICLE_TYPES,
        FeedType.STATION_INFORMATION,
        FeedType.STATION_STATUS,
        FeedType.VEHICLE_STATUS,
    ]
    rows = [(r[0], FeedType(r[1])) for r in cur.fetchall()]
    return sorted(rows, key=lambda r: order.index(r[1]) if r[1] in order else len(order))
