"""The ingest pipeline: discover -> fetch -> parse -> normalise -> diff -> store.

``Ingestor`` is what the scheduler and the CLI drive. One poll of one feed:

1. take the feed's PostgreSQL advisory lock (session level, on the connection
   that will also store), so two scheduler processes never ingest the same
   feed at once; a poll that cannot take it is skipped, not queued;
2. fetch over HTTP outside any transaction (conditional, size-capped, guarded
   against private addresses);
3. in one transaction: record the fetch's health and raw bytes, parse,
   validate, diff and store, or record the failure and the outage.

A failure of the database mid-poll rolls the whole poll back; the vehicle
cache is dropped for that feed and the next poll starts clean. When the
failure comes from the poll's data (the database refused a value: a safety
net behind the parsers' boundary), the failed fetch, its evidence and the
outage are then recorded in a fresh transaction, so that no file can blind
the oversight without a trace.

Credentials go only where they belong: the operator's :class:`FeedAuth` is
bound to the origin of its configured discovery URL and its
``credential_hosts`` (see :class:`gbfs_ingest.config.OperatorSettings`);
feed URLs listed by a discovery file on any other origin are fetched without
them.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from datastore.connection import pg_connection
from gbfs_ingest import netguard, store
from gbfs_ingest.auth import FeedAuth, redact_url
from gbfs_ingest.config import IngestSettings, OperatorSettings
from gbfs_ingest.fetch import FetchPolicy, FetchResult, fetch, make_client
from gbfs_ingest.model import Discovery
from gbfs_ingest.parse import ParseError, parse_discovery, parse_manifest, read_document
from gbfs_ingest.process import (
    FeedRow,
    ProcessResult,
    data_error_reason,
    load_feed_row,
    process_body,
    record_failure,
    record_not_modified,
    record_unstorable,
)
from gbfs_ingest.registry import DiscoveryResult, register_discovery
from gbfs_ingest.vehicle_store import VehicleStateCache

log = logging.getLogger(__name__)

LOCK_NAMESPACE = 0x6762  # "gb": first key of pg advisory locks taken by the ingest


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class PollResult:
    feed_id: int
    outcome: str  # ok | unchanged | not_modified | error | invalid | stale | empty | ... | skipped
    fetch_id: int | None = None
    records: int = 0
    changed: int = 0
    error: str | None = None
    next_interval_s: float | None = None
    latency_ms: float | None = None


def fetch_policy(settings: IngestSettings) -> FetchPolicy:
    return FetchPolicy(
        connect_timeout=settings.connect_timeout_s,
        read_timeout=settings.read_timeout_s,
        max_redirects=settings.max_redirects,
        max_body_bytes=int(settings.max_body_mb * 1024 * 1024),
        max_decoded_bytes=int(settings.max_decoded_mb * 1024 * 1024),
        allow_private_networks=settings.allow_private_networks,
        allowed_hosts_private=tuple(settings.allowed_private_hosts),
        user_agent=settings.user_agent,
    )


class Ingestor:
    def __init__(
        self,
        engine: Engine,
        settings: IngestSettings,
        *,
        client: httpx.Client | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.policy = fetch_policy(settings)
        self.client = client or make_client(self.policy)
        self.cache = VehicleStateCache()
        self.clock = clock

    def close(self) -> None:
        self.client.close()

    # ------------------------------------------------------------------ discovery

    def discover(self, operator: OperatorSettings) -> DiscoveryResult:
        """Fetch the discovery file, register the operator and its feeds."""
        discovery, operator = self.read_discovery(operator)
        with Session(self.engine) as session, session.begin():
            return register_discovery(session, operator, discovery, self.clock())

    def read_discovery(
        self, operator: OperatorSettings, *, _hops: int = 0
    ) -> tuple[Discovery, OperatorSettings]:
        """Fetch and parse the discovery file (a 3.x manifest is followed to the
        system's discovery file); nothing is written. Returns the discovery and the
        operator settings it was read for. Raises :class:`DiscoveryError`."""
        where = redact_url(operator.discovery_url)
        res = fetch(
            operator.discovery_url, policy=self.policy, auth=operator.auth, client=self.client
        )
        if not res.ok or res.body is None:
            raise DiscoveryError(
                f"{operator.slug}: cannot read discovery file {where}: {res.error or res.status}"
            )
        try:
            doc = read_document(res.body).doc
            if isinstance(doc.get("data"), dict) and "datasets" in doc["data"]:
                entries = parse_manifest(doc)
                if not entries or not entries[0].versions or _hops:
                    raise ParseError("manifest lists no usable system")
                url = max(entries[0].versions.items(), key=lambda kv: kv[0])[1]
                # the operator keeps its credentials' binding (config.OperatorSettings)
                return self.read_discovery(
                    dataclasses.replace(operator, discovery_url=url), _hops=_hops + 1
                )
            languages = [operator.language] if operator.language else []
            discovery = parse_discovery(doc, [*languages, *self.settings.preferred_languages])
        except (ParseError, ValueError, TypeError, RecursionError) as exc:
            raise DiscoveryError(f"{operator.slug}: invalid discovery file {where}: {exc}") from exc
        if operator.version:
            discovery.version = operator.version
        return discovery, operator

    # ------------------------------------------------------------------ polling

    def poll(
        self, feed_id: int, auth: object | None = None, *, fetched: FetchResult | None = None
    ) -> PollResult:
        """Fetch and store one feed once (skipped if another process holds it).

        ``auth``: the operator's :class:`FeedAuth`; one not bound to origins is
        bound here to the origin of the operator's discovery URL. ``fetched``:
        a fetch of this feed's URL already made by the caller (the CLI checks
        that a source is usable before it writes anything), stored as this poll's.
        """
        with self.engine.connect() as conn:
            got = conn.execute(
                text("SELECT pg_try_advisory_lock(:ns, :id)"), {"ns": LOCK_NAMESPACE, "id": feed_id}
            ).scalar()
            conn.commit()
            if not got:
                return PollResult(feed_id, "skipped", error="another process is polling this feed")
            try:
                with Session(bind=conn) as session:
                    feed = load_feed_row(session, feed_id)
                    session.commit()
                    result = fetched
                    if result is None:
                        result = fetch(
                            feed.url,
                            policy=self.policy,
                            auth=_bound(auth, feed),
                            etag=feed.etag,
                            last_modified=feed.last_modified,
                            client=self.client,
                        )
                    fetched_at = self.clock()
                    try:
                        poll = self._store_fetch(session, feed, result, fetched_at)
                        session.commit()
                    except Exception as exc:
                        session.rollback()
                        self.cache.invalidate(feed_id)
                        reason = data_error_reason(exc)
                        if reason is None:
                            raise
                        poll = self._record_unstorable(session, feed, result, fetched_at, reason)
                        session.commit()
            finally:
                if not conn.closed and not conn.invalidated:
                    try:
                        conn.execute(
                            text("SELECT pg_advisory_unlock(:ns, :id)"),
                            {"ns": LOCK_NAMESPACE, "id": feed_id},
                        )
                        conn.commit()
                    except Exception:  # the connection died: the server released the lock
                        log.debug("advisory unlock failed for feed %s", feed_id, exc_info=True)
        poll.latency_ms = result.latency_ms
        poll.next_interval_s = self.next_interval(feed, poll, result)
        return poll

    def _record_unstorable(
        self, session: Session, feed: FeedRow, res: FetchResult, fetched_at: datetime, reason: str
    ) -> PollResult:
        log.warning(
            "feed %s (%s): poll not stored, recorded as a failed fetch: %s",
            feed.id,
            feed.feed_type.value,
            reason,
        )
        fid = record_unstorable(
            session,
            feed,
            res.body,
            fetched_at=fetched_at,
            reason=reason,
            live=True,
            fetch_meta=dict(
                http_status=res.status, latency_ms=res.latency_ms, wire_bytes=res.wire_bytes
            ),
        )
        return PollResult(feed.id, "invalid", fid, error=reason)

    def _store_fetch(
        self, session: Session, feed: FeedRow, res: FetchResult, fetched_at: datetime
    ) -> PollResult:
        meta = dict(
            http_status=res.status,
            latency_ms=res.latency_ms,
            wire_bytes=res.wire_bytes,
        )
        if res.not_modified:
            fid = record_not_modified(
                session, feed, fetched_at=fetched_at, settings=self.settings, fetch_meta=meta
            )
            return PollResult(feed.id, "not_modified", fid)
        if not res.ok or res.body is None:
            error = res.error or f"HTTP {res.status}"
            fid = record_failure(
                session,
                feed,
                fetched_at=fetched_at,
                error_kind=res.error_kind or "http_status",
                error=error,
                fetch_meta=meta,
            )
            if res.retry_after_s:
                pg_connection(session).cursor().execute(
                    "UPDATE feed SET retry_after_until = %s + make_interval(secs => %s)"
                    " WHERE id = %s",
                    (fetched_at, res.retry_after_s, feed.id),
                )
            return PollResult(feed.id, "error", fid, error=error)
        pr = process_body(
            session,
            feed,
            res.body,
            fetched_at=fetched_at,
            settings=self.settings,
            cache=self.cache,
            live=True,
            fetch_meta=meta,
        )
        pg_connection(session).cursor().execute(
            "UPDATE feed SET etag = %s, last_modified = %s WHERE id = %s",
            (res.etag, res.last_modified, feed.id),
        )
        return _poll_result(feed.id, pr)

    def next_interval(self, feed: FeedRow, poll: PollResult, res: FetchResult) -> float:
        """Seconds until the next poll: the feed's ttl within [floor, ceiling],
        exponential backoff on failures, and never before a Retry-After."""
        s = self.settings
        base = feed.poll_interval_s or (feed.ttl_s if feed.ttl_s else s.default_interval_s)
        interval = float(min(max(base, s.poll_floor_s), s.poll_ceiling_s))
        if poll.outcome == "error":
            interval = min(interval * 2 ** min(feed.consecutive_failures, 6), s.poll_ceiling_s)
        if res.retry_after_s:
            interval = max(interval, float(res.retry_after_s))
        return interval


class DiscoveryError(RuntimeError):
    pass


def _bound(auth: object, feed: FeedRow) -> FeedAuth:
    """The credentials for ``feed``'s polls: never sent beyond their origins."""
    if not isinstance(auth, FeedAuth) or auth.kind == "none":
        return FeedAuth()
    if auth.origins is not None:
        return auth
    origin = netguard.origin_of(feed.discovery_url or "")
    return auth.bound_to(() if origin is None else (origin,))


def _poll_result(feed_id: int, pr: ProcessResult) -> PollResult:
    return PollResult(
        feed_id, pr.outcome, pr.fetch_id, records=pr.records, changed=pr.changed, error=pr.error
    )


__all__ = ["DiscoveryError", "Ingestor", "PollResult", "store"]
