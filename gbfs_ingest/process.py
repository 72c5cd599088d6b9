"""Parse -> validate -> normalise -> diff -> store, for one fetched (or read) file.

Called inside the caller's transaction with the feed's row already known.
Outages are decided here, because they depend on what the file says:

* ``unavailable``: the fetch failed, or the body is not a GBFS document;
* ``stale``: a real-time file whose ``last_updated`` is older than the
  configured age when fetched live;
* ``empty``: a vehicle list that suddenly empties;
* ``collapse``: a vehicle list that falls below ``collapse_ratio`` of the last
  applied count. If the smaller fleet persists for ``collapse_confirm_s`` it is
  accepted as the new normal (an operator may really shrink its fleet).

During an outage nothing is applied and nothing is deleted: the last known
state stays, and the open outage row is the mark that rules read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
import psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from datastore.connection import pg_connection
from gbfs_ingest import station_match, store, validate_worker
from gbfs_ingest.config import IngestSettings
from gbfs_ingest.model import FeedType, Finding, ParsedFeed
from gbfs_ingest.parse import ParseError, bom_finding, detect_version, parse_feed, read_document
from gbfs_ingest.parse.vehicles_fast import parse_vehicle_status_fast
from gbfs_ingest.stays import StaySettings
from gbfs_ingest.vehicle_store import VehicleStateCache, store_vehicle_snapshot

REALTIME = {FeedType.VEHICLE_STATUS, FeedType.STATION_STATUS}
DOCUMENT_FEEDS = {
    FeedType.SYSTEM_INFORMATION,
    FeedType.VEHICLE_TYPES,
    FeedType.GEOFENCING_ZONES,
    FeedType.SYSTEM_REGIONS,
    FeedType.SYSTEM_PRICING_PLANS,
    FeedType.SYSTEM_ALERTS,
    FeedType.SYSTEM_HOURS,
    FeedType.SYSTEM_CALENDAR,
    FeedType.GBFS_VERSIONS,
}


@dataclass(slots=True)
class FeedRow:
    id: int
    operator_id: int
    feed_type: FeedType
    url: str
    version: str | None
    etag: str | None = None
    last_modified: str | None = None
    last_content_hash: str | None = None
    last_count: int | None = None
    ttl_s: int | None = None
    poll_interval_s: int | None = None
    consecutive_failures: int = 0
    discovery_url: str | None = None  # the operator's: where its credentials may go


@dataclass(slots=True)
class ProcessResult:
    outcome: str  # ok | unchanged | not_applied | invalid | stale | empty | collapse
    fetch_id: int
    version: str | None = None
    records: int = 0
    invalid: int = 0
    changed: int = 0
    schema_errors: int = 0
    ttl: int | None = None
    observed_at: datetime | None = None
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None


def load_feed_row(session: Session, feed_id: int) -> FeedRow:
    cur = pg_connection(session).cursor()
    cur.execute(
        "SELECT id, operator_id, feed_type, url, version, etag, last_modified,"
        " last_content_hash, last_count, ttl_s, poll_interval_s, consecutive_failures,"
        " (SELECT discovery_url FROM operator WHERE id = feed.operator_id)"
        " FROM feed WHERE id = %s",
        (feed_id,),
    )
    row = cur.fetchone()
    if row is None:
        raise LookupError(f"feed {feed_id} does not exist")
    return FeedRow(row[0], row[1], FeedType(row[2]), *row[3:])


def _observed_at(last_updated: datetime | None, fetched_at: datetime) -> datetime:
    if last_updated is None or last_updated > fetched_at:
        return fetched_at
    return last_updated


def process_body(
    session: Session,
    feed: FeedRow,
    body: bytes,
    *,
    fetched_at: datetime,
    settings: IngestSettings,
    cache: VehicleStateCache,
    live: bool,
    fetch_meta: dict[str, Any],
) -> ProcessResult:
    """Handle one body of ``feed``. Always records a fetch row (and the raw bytes)."""
    digest = store.content_hash(body)
    unchanged = live and digest == feed.last_content_hash
    # compress the evidence on another core while this one parses
    compressed = None if unchanged else store.compress_later(body)
    base = dict(
        started_at=fetched_at,
        source="http" if live else "file",
        url=feed.url,
        body_bytes=len(body),
        content_hash=digest,
        **fetch_meta,
    )
    if unchanged:
        store.store_raw(session, body, fetched_at, digest)
        fetch_id = store.record_fetch(session, feed.id, outcome="unchanged", **base)
        _set_feed(session, feed.id, fetched_at, success=True)
        _check_staleness_only(session, feed, fetched_at, settings, fetch_id)
        return ProcessResult("unchanged", fetch_id)

    # large bodies: the schema check runs in a worker process while this one parses
    validation = None
    if settings.validate_schema and len(body) >= settings.validate_offload_min_kb * 1024:
        validation = validate_worker.validate_later(
            feed.feed_type, feed.version, body, workers=settings.validate_workers
        )
    doc: dict[str, Any] | None = None
    try:
        parsed = None
        if feed.feed_type is FeedType.VEHICLE_STATUS:  # typed decoding of clean files
            memo = cache.for_feed(feed.id).parse_memo
            parsed = parse_vehicle_status_fast(body, feed.version, memo)
        if parsed is not None:
            version = parsed.version
        else:
            document = read_document(body)  # the limits of a readable file
            doc = document.doc
            version, _guessed = detect_version(doc, feed.version)
            parsed = parse_feed(feed.feed_type, doc, version, plain_text=document.plain_text)
            if document.bom:
                parsed.findings.append(bom_finding())
    except (ParseError, ValueError, TypeError, RecursionError, OverflowError) as exc:
        if validation is not None:
            validation.cancel()
        store.store_raw(session, body, fetched_at, digest, compressed)  # evidence of the fault
        message = f"unreadable {feed.feed_type.value}: {exc}"
        fetch_id = store.record_fetch(
            session, feed.id, outcome="invalid", error_kind="parse", error=message, **base
        )
        _set_feed(session, feed.id, fetched_at, success=False)
        store.start_outage(session, feed.id, "unavailable", fetched_at, fetch_id, message)
        return ProcessResult("invalid", fetch_id, error=message)

    store.store_raw(session, body, fetched_at, digest, compressed)
    findings = list(parsed.findings)
    # live: we saw it now; replayed files: the file's own last_updated
    observed_at = fetched_at if live else _observed_at(parsed.last_updated, fetched_at)
    fetch_id = store.record_fetch(
        session,
        feed.id,
        outcome="ok",
        observed_at=observed_at,
        data_updated_at=parsed.last_updated,
        record_count=len(parsed.records),
        invalid_count=parsed.invalid_records,
        schema_error_count=0,
        findings=findings,
        version=version,
        **base,
    )
    result = ProcessResult(
        "ok",
        fetch_id,
        version=version,
        records=len(parsed.records),
        invalid=parsed.invalid_records,
        ttl=parsed.ttl,
        observed_at=observed_at,
        findings=findings,
    )
    _set_feed(
        session, feed.id, fetched_at, success=True, digest=digest, parsed=parsed, version=version
    )
    fetch_update = _apply_or_hold(
        session, feed, parsed, result, fetched_at, digest, settings, cache, live
    )
    # the schema findings last: a worker may have been validating all along
    if settings.validate_schema:
        findings.extend(
            validate_worker.schema_findings(feed.feed_type, version, doc, body, validation)
        )
        result.schema_errors = sum(f.count for f in findings if f.severity == "schema")
        fetch_update.update(findings=findings, schema_error_count=result.schema_errors)
    store.update_fetch(session, fetch_id, **fetch_update)
    return result


def _apply_or_hold(
    session: Session,
    feed: FeedRow,
    parsed: ParsedFeed,
    result: ProcessResult,
    fetched_at: datetime,
    digest: str,
    settings: IngestSettings,
    cache: VehicleStateCache,
    live: bool,
) -> dict[str, Any]:
    """Apply the parsed records unless an outage holds them; returns the fetch's update."""
    fetch_id, observed_at = result.fetch_id, result.observed_at
    assert observed_at is not None
    outage = _realtime_outage(session, feed, parsed, fetched_at, settings, live)
    if outage is not None:
        kind, detail = outage
        store.start_outage(session, feed.id, kind, fetched_at, fetch_id, detail)
        result.outcome = kind
        return {"outcome": kind, "error": detail}
    was_open = store.end_outage(session, feed.id, observed_at, fetch_id)
    before = len(result.findings)
    result.changed = _apply(
        session,
        feed,
        parsed,
        observed_at,
        fetch_id,
        digest,
        settings,
        cache,
        after_gap=was_open,
        findings=result.findings,
    )
    update: dict[str, Any] = {}
    if len(result.findings) > before:  # findings only the store could make (station match)
        update["findings"] = result.findings
    if result.changed < 0:
        result.outcome, result.changed = "not_applied", 0
        reason = "not newer than the last stored observation"
        if feed.feed_type is FeedType.STATION_STATUS and len(result.findings) > before:
            reason = "no station_information to place the statuses on"
        update.update(outcome="not_applied", error=reason)
        return update
    update["changed_count"] = result.changed
    return update


def record_failure(
    session: Session,
    feed: FeedRow,
    *,
    fetched_at: datetime,
    error_kind: str,
    error: str,
    fetch_meta: dict[str, Any],
    outcome: str = "error",
    source: str = "http",
) -> int:
    fetch_id = store.record_fetch(
        session,
        feed.id,
        started_at=fetched_at,
        source=source,
        url=feed.url,
        outcome=outcome,
        error_kind=error_kind,
        error=error,
        **fetch_meta,
    )
    _set_feed(session, feed.id, fetched_at, success=False)
    store.start_outage(session, feed.id, "unavailable", fetched_at, fetch_id, error)
    return fetch_id


#: Errors raised while storing a poll that come from its data, not from the
#: database being away: the poll is then rolled back and recorded as a failed fetch.
_DATA_ERRORS = (
    psycopg.DataError,
    psycopg.IntegrityError,
    psycopg.errors.ProgramLimitExceeded,  # e.g. an index row too large
    ValueError,
    TypeError,
    OverflowError,
    RecursionError,
)


def data_error_reason(exc: BaseException) -> str | None:
    """Why storing failed, if the poll's data caused it; None for anything else
    (a lost connection, a server shutting down: the poll is simply retried)."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    if isinstance(cause, psycopg.OperationalError | psycopg.InterfaceError) and not isinstance(
        cause, psycopg.errors.ProgramLimitExceeded
    ):
        return None
    if not isinstance(cause, _DATA_ERRORS):
        return None
    first_line = (str(cause).strip().splitlines() or [""])[0]
    return f"data that could not be stored ({type(cause).__name__}): {first_line[:300]}"


def record_unstorable(
    session: Session,
    feed: FeedRow,
    body: bytes | None,
    *,
    fetched_at: datetime,
    reason: str,
    live: bool,
    fetch_meta: dict[str, Any],
) -> int:
    """In a fresh transaction after a rolled-back poll: the failed fetch, the body
    as evidence, and the outage, exactly as for a file that cannot be read."""
    extra: dict[str, Any] = dict(fetch_meta)
    if body is not None:
        extra.update(body_bytes=len(body), content_hash=store.store_raw(session, body, fetched_at))
    return record_failure(
        session,
        feed,
        fetched_at=fetched_at,
        error_kind="store",
        error=f"{feed.feed_type.value} not stored: {reason}",
        fetch_meta=extra,
        outcome="invalid",
        source="http" if live else "file",
    )


def record_not_modified(
    session: Session,
    feed: FeedRow,
    *,
    fetched_at: datetime,
    settings: IngestSettings,
    fetch_meta: dict[str, Any],
) -> int:
    fetch_id = store.record_fetch(
        session,
        feed.id,
        started_at=fetched_at,
        source="http",
        url=feed.url,
        outcome="not_modified",
        **fetch_meta,
    )
    _set_feed(session, feed.id, fetched_at, success=True)
    _check_staleness_only(session, feed, fetched_at, settings, fetch_id)
    return fetch_id


# --------------------------------------------------------------------------- helpers


def _set_feed(
    session: Session,
    feed_id: int,
    at: datetime,
    *,
    success: bool,
    digest: str | None = None,
    parsed: ParsedFeed | None = None,
    version: str | None = None,
) -> None:
    cur = pg_connection(session).cursor()
    if not success:
        cur.execute(
            "UPDATE feed SET last_fetch_at = %s, consecutive_failures = consecutive_failures + 1"
            " WHERE id = %s",
            (at, feed_id),
        )
        return
    cur.execute(
        "UPDATE feed SET last_fetch_at = %s, last_success_at = %s, consecutive_failures = 0,"
        " last_content_hash = COALESCE(%s, last_content_hash),"
        " last_data_updated_at = COALESCE(%s, last_data_updated_at),"
        " ttl_s = COALESCE(%s, ttl_s), version = COALESCE(%s, version) WHERE id = %s",
        (
            at,
            at,
            digest,
            parsed.last_updated if parsed else None,
            parsed.ttl if parsed else None,
            version,
            feed_id,
        ),
    )


def _is_stale(
    last_updated: datetime | None, fetched_at: datetime, settings: IngestSettings
) -> bool:
    return last_updated is not None and fetched_at - last_updated > timedelta(
        seconds=settings.stale_after_s
    )


def _check_staleness_only(
    session: Session, feed: FeedRow, fetched_at: datetime, settings: IngestSettings, fetch_id: int
) -> None:
    """An unchanged or 304 answer: the feed is up, but its data may be getting old."""
    if feed.feed_type not in REALTIME:
        store.end_outage(session, feed.id, fetched_at, fetch_id)
        return
    cur = pg_connection(session).cursor()
    cur.execute("SELECT last_data_updated_at FROM feed WHERE id = %s", (feed.id,))
    (last_updated,) = cur.fetchone()
    if _is_stale(last_updated, fetched_at, settings):
        detail = f"last_updated {last_updated.isoformat()} older than {settings.stale_after_s} s"
        store.start_outage(session, feed.id, "stale", fetched_at, fetch_id, detail)
    else:
        current = store.open_outage(session, feed.id)
        if current is not None and current[1] in ("unavailable", "stale"):
            store.end_outage(session, feed.id, fetched_at, fetch_id)


def _realtime_outage(
    session: Session,
    feed: FeedRow,
    parsed: ParsedFeed,
    fetched_at: datetime,
    settings: IngestSettings,
    live: bool,
) -> tuple[str, str] | None:
    if feed.feed_type not in REALTIME:
        return None
    if live and _is_stale(parsed.last_updated, fetched_at, settings):
        return "stale", (
            f"last_updated {parsed.last_updated.isoformat()} is older than "  # type: ignore[union-attr]
            f"{settings.stale_after_s} s at fetch time"
        )
    if feed.feed_type is not FeedType.VEHICLE_STATUS:
        return None
    count, prev = len(parsed.records), feed.last_count or 0
    if count == 0 and prev >= settings.empty_min_previous:
        return "empty", f"vehicle list empty (previously {prev} vehicles)"
    if prev >= settings.collapse_min_previous and count < prev * settings.collapse_ratio:
        current = store.open_outage(session, feed.id)
        if current is not None and current[1] == "collapse":
            cur = pg_connection(session).cursor()
            cur.execute("SELECT started_at FROM outage WHERE id = %s", (current[0],))
            (started,) = cur.fetchone()
            if fetched_at - started >= timedelta(seconds=settings.collapse_confirm_s):
                return None  # the smaller fleet persisted: accept it
        return "collapse", f"vehicle list fell from {prev} to {count}"
    return None


def _apply(
    session: Session,
    feed: FeedRow,
    parsed: ParsedFeed,
    observed_at: datetime,
    fetch_id: int,
    digest: str,
    settings: IngestSettings,
    cache: VehicleStateCache,
    *,
    after_gap: bool,
    findings: list[Finding],
) -> int:
    """Store the parsed records; returns the number of changes, -1 if not applied.
    Findings that need the stored state (statuses against stations) go to ``findings``."""
    ft = feed.feed_type
    if ft is FeedType.VEHICLE_STATUS:
        res = store_vehicle_snapshot(
            session,
            feed_id=feed.id,
            operator_id=feed.operator_id,
            vehicles=parsed.records,
            observed_at=observed_at,
            fetch_id=fetch_id,
            cache=cache,
            link_m=settings.rotation_link_m,
            noise_m=settings.gps_noise_m,
            stays=_stay_settings(session, feed, settings),
            after_gap=after_gap,
            partial=(
                f"partial file ({parsed.invalid_records} record(s) dropped)"
                if parsed.invalid_records
                else None
            ),
            carried_from=parsed.carried_from,
            carry_base=parsed.carry_base,
        )
        return res.diff.changed_count if res.applied and res.diff else -1
    if ft is FeedType.STATION_INFORMATION:
        return store.store_stations(
            session, feed.id, feed.operator_id, parsed.records, observed_at, status_only=False
        )
    if ft is FeedType.STATION_STATUS:
        info_feed = _sibling_feed(session, feed, FeedType.STATION_INFORMATION)
        if info_feed is None:
            findings.append(station_match.no_information_finding(parsed.records))
            return -1
        findings.extend(station_match.mismatch_findings(session, info_feed, parsed.records))
        return store.store_stations(
            session, info_feed, feed.operator_id, parsed.records, observed_at, status_only=True
        )
    if ft in DOCUMENT_FEEDS:
        store.store_document(session, feed.id, digest, observed_at, parsed.records)
        if ft is FeedType.SYSTEM_INFORMATION and parsed.records:
            info = parsed.records[0]
            cur = pg_connection(session).cursor()
            cur.execute(
                "UPDATE operator SET system_information = %s::jsonb WHERE id = %s",
                (orjson.dumps(store._plain(info)).decode(), feed.operator_id),
            )
        return len(parsed.records)
    return 0


def _stay_settings(session: Session, feed: FeedRow, settings: IngestSettings) -> StaySettings:
    if not settings.stay_overrides:
        return settings.stays
    cur = pg_connection(session).cursor()
    cur.execute("SELECT slug FROM operator WHERE id = %s", (feed.operator_id,))
    row = cur.fetchone()
    return settings.stays_for(None if row is None else row[0])


def _sibling_feed(session: Session, feed: FeedRow, feed_type: FeedType) -> int | None:
    cur = pg_connection(session).cursor()
    cur.execute(
        "SELECT id FROM feed WHERE operator_id = %s AND feed_type = %s",
        (feed.operator_id, feed_type.value),
    )
    row = cur.fetchone()
    return None if row is None else row[0]
