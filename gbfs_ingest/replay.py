"""Ingest from local files: one archived feed file, or a folder of captures.

Each file is processed as if it had been fetched at its own ``last_updated``
(the observation time), and files are replayed in time order, so replaying
archived captures backfills history. Slow-changing files of the same instant
go first (system information, vehicle types, station information) so that
the real-time files find what they refer to.

The feed type comes from the file name (``free_bike_status.json``,
``station_status_1733004120.json``, ``vehicle_status.json``...). A
``gbfs.json`` in the folder names the version when a file does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from datastore.connection import pg_connection
from gbfs_ingest.config import IngestSettings
from gbfs_ingest.feed_scope import not_ingested_reason
from gbfs_ingest.finding_text import describe_finding
from gbfs_ingest.model import FeedType
from gbfs_ingest.parse import (
    ParseError,
    detect_version,
    parse_bytes,
    parse_discovery,
    read_document,
)
from gbfs_ingest.process import (
    ProcessResult,
    data_error_reason,
    load_feed_row,
    process_body,
    record_failure,
    record_unstorable,
)
from gbfs_ingest.registry import INGESTED_FEEDS, ensure_feed, ensure_operator
from gbfs_ingest.vehicle_store import VehicleStateCache

_NAMES = sorted(
    ["free_bike_status", *(ft.value for ft in FeedType)], key=len, reverse=True
)  # longest first: station_information before station
_ORDER = [
    FeedType.GBFS,
    FeedType.SYSTEM_INFORMATION,
    FeedType.VEHICLE_TYPES,
    FeedType.STATION_INFORMATION,
    FeedType.SYSTEM_REGIONS,
    FeedType.SYSTEM_PRICING_PLANS,
    FeedType.GEOFENCING_ZONES,
    FeedType.STATION_STATUS,
    FeedType.VEHICLE_STATUS,
]


#: What an ingest stored for an operator: vehicles now listed, of which without a
#: position, and stations (the summary of ``fleet-monitor ingest``).
STORED_COUNTS = (
    "SELECT count(*), count(*) FILTER (WHERE lat IS NULL OR lon IS NULL),"
    " (SELECT count(*) FROM station WHERE operator_id = %(op)s)"
    " FROM vehicle_current WHERE operator_id = %(op)s AND missing_since IS NULL"
)


@dataclass(slots=True)
class ReplayFile:
    path: Path
    feed_type: FeedType
    name: str
    last_updated: datetime | None
    version: str | None
    body: bytes
    problem: str | None = None  # why the body cannot be read (read_document), if it cannot
    too_large: bool = False  # over the size limit: not read at all

    @property
    def ingested(self) -> bool:
        """A file of a feed the ingest stores (the discovery file only names versions)."""
        return self.feed_type is not FeedType.GBFS and self.feed_type in INGESTED_FEEDS


@dataclass(slots=True)
class ReplaySummary:
    operator: str
    version: str | None = None
    files: int = 0
    files_ok: int = 0
    vehicles_stored: int = 0
    # of vehicles_stored, those listed without a position (docked at a station, 2.x)
    vehicles_without_position: int = 0
    stations_stored: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    # recognised GBFS files that are not ingested, each with the reason
    ignored: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "operator": self.operator,
            "version": self.version,
            "files": self.files,
            "files_ok": self.files_ok,
            "vehicles_stored": self.vehicles_stored,
            "vehicles_without_position": self.vehicles_without_position,
            "stations_stored": self.stations_stored,
            "outcomes": self.outcomes,
            "warnings": self.warnings,
            "errors": self.errors,
            "ignored": self.ignored,
        }


def feed_type_of(path: Path) -> tuple[FeedType, str] | None:
    stem = path.stem.lower()
    for name in _NAMES:
        if stem == name or re.match(rf"^{name}([_\-.].*)?$", stem):
            ft = FeedType.from_name(name)
            if ft is not None:
                return ft, name
    return None


def _last_updated(doc: object) -> datetime | None:
    if not isinstance(doc, dict):
        return None
    lu = doc.get("last_updated")
    try:
        if isinstance(lu, int | float) or (isinstance(lu, str) and lu.isdigit()):
            return datetime.fromtimestamp(float(lu), UTC)
        if isinstance(lu, str):
            lu = re.sub(r"(\.\d{6})\d+", r"\1", lu.replace("Z", "+00:00"))
            dt = datetime.fromisoformat(lu)
            return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def collect_files(source: Path, max_bytes: int | None = None) -> tuple[list[ReplayFile], list[str]]:
    """Read every GBFS file under ``source``; returns them in replay order and problems.

    A file larger than ``max_bytes`` (the fetch's decoded-size limit) is not read: it
    is recorded as a failed fetch, as an over-limit body fetched over HTTP is.
    """
    paths = [source] if source.is_file() else sorted(source.rglob("*.json"))
    files: list[ReplayFile] = []
    problems: list[str] = []
    for p in paths:
        kind = feed_type_of(p)
        if kind is None:
            problems.append(f"{p.name}: not a known GBFS file name, ignored")
            continue
        size = p.stat().st_size
        if max_bytes is not None and size > max_bytes:
            too_big = f"file of {size} bytes exceeds the limit of {max_bytes} bytes"
            files.append(ReplayFile(p, kind[0], kind[1], None, None, b"", too_big, True))
            continue
        body = p.read_bytes()
        doc: object = None
        version: str | None = None
        problem: str | None = None
        try:
            doc = read_document(body).doc
            version = detect_version(doc)[0] if isinstance(doc, dict) else None
        except (ParseError, ValueError, TypeError, RecursionError) as exc:
            problem = str(exc)
        replay_file = ReplayFile(p, kind[0], kind[1], _last_updated(doc), version, body, problem)
        files.append(replay_file)
    epoch = datetime.min.replace(tzinfo=UTC)
    files.sort(
        key=lambda f: (
            f.last_updated or epoch,
            _ORDER.index(f.feed_type) if f.feed_type in _ORDER else len(_ORDER),
            str(f.path),
        )
    )
    return files, problems


def replay(
    engine: Engine,
    source: Path,
    *,
    operator_slug: str,
    operator_name: str | None,
    settings: IngestSettings,
    cache: VehicleStateCache | None = None,
    collected: tuple[list[ReplayFile], list[str]] | None = None,
) -> ReplaySummary:
    """Replay the files under ``source`` (``collected``: what :func:`collect_files`
    already returned for it)."""
    if collected is None:
        collected = collect_files(source, int(settings.max_decoded_mb * 1024 * 1024))
    files, problems = collected
    summary = ReplaySummary(operator=operator_slug, warnings=list(problems))
    cache = cache or VehicleStateCache()
    discovery_version = None
    for f in files:
        if f.feed_type is FeedType.GBFS:
            try:
                doc = read_document(f.body).doc
                disc = parse_discovery(doc, list(settings.preferred_languages))
                discovery_version = disc.version
            except (ParseError, ValueError, TypeError, RecursionError) as exc:
                summary.warnings.append(f"{f.path.name}: unreadable discovery file: {exc}")
    with Session(engine) as session, session.begin():
        op_id = ensure_operator(session, operator_slug, operator_name or operator_slug, None)
    for f in files:
        if not f.ingested:
            if f.feed_type is not FeedType.GBFS:
                _not_ingested(f, summary, version=f.version or discovery_version)
            continue
        summary.files += 1
        version = f.version or discovery_version
        summary.version = summary.version or version
        at = f.last_updated or datetime.fromtimestamp(f.path.stat().st_mtime, UTC)
        if f.last_updated is None:
            summary.warnings.append(f"{f.path.name}: no last_updated, used the file time")
        res = _replay_file(engine, op_id, f, version, at, settings, cache)
        summary.outcomes[res.outcome] = summary.outcomes.get(res.outcome, 0) + 1
        if res.outcome in ("invalid", "error"):
            summary.errors.append(f"{f.path.name}: {res.error}")
            continue
        summary.files_ok += 1
        if res.invalid:
            summary.warnings.append(f"{f.path.name}: {res.invalid} invalid records dropped")
        for finding in res.findings:
            if finding.severity in ("error", "warning"):
                summary.warnings.append(describe_finding(f.path.name, finding))
        if res.schema_errors:
            summary.warnings.append(f"{f.path.name}: {res.schema_errors} schema findings")
    if summary.version:
        with Session(engine) as session, session.begin():
            pg_connection(session).cursor().execute(
                "UPDATE operator SET gbfs_version = %s,"
                " version_detected = (%s::text IS NULL) WHERE id = %s",
                (summary.version, discovery_version, op_id),
            )
    with Session(engine) as session:
        cur = pg_connection(session).cursor()
        cur.execute(STORED_COUNTS, {"op": op_id})
        (
            summary.vehicles_stored,
            summary.vehicles_without_position,
            summary.stations_stored,
        ) = cur.fetchone()
    return summary


def _not_ingested(f: ReplayFile, summary: ReplaySummary, *, version: str | None) -> None:
    """A recognised file the service does not store: say why; a file with a parser
    (3.1 vehicle_availability) is still parsed, so its problems are reported."""
    reason = not_ingested_reason(f.feed_type) or "not ingested"
    if f.feed_type is not FeedType.VEHICLE_AVAILABILITY or f.problem is not None:
        name, kind = f.path.name, f.feed_type.value
        summary.ignored.append(f"{name}: {kind} recognised, not ingested: {reason}")
        return
    parsed = parse_bytes(f.feed_type, f.body, version)
    summary.ignored.append(
        f"{f.path.name}: {f.feed_type.value} recognised, {len(parsed.records)} vehicles parsed"
        f" ({parsed.invalid_records} dropped), not ingested: {reason}"
    )
    for finding in parsed.findings:
        if finding.severity in ("error", "warning"):
            summary.warnings.append(describe_finding(f.path.name, finding))


def _replay_file(
    engine: Engine,
    op_id: int,
    f: ReplayFile,
    version: str | None,
    at: datetime,
    settings: IngestSettings,
    cache: VehicleStateCache,
) -> ProcessResult:
    """One file in its own transaction; a file whose data the database refuses is
    rolled back and recorded as a failed fetch (see pipeline.Ingestor.poll)."""
    url = f.path.resolve().as_uri()
    if f.too_large:
        with Session(engine) as session, session.begin():
            feed_id = ensure_feed(session, op_id, f.feed_type, f.name, url, version)
            fetch_id = record_failure(
                session,
                load_feed_row(session, feed_id),
                fetched_at=at,
                error_kind="too_large",
                error=f.problem or "too large",
                fetch_meta={},
                source="file",
            )
        return ProcessResult("error", fetch_id, error=f.problem)
    try:
        with Session(engine) as session, session.begin():
            feed_id = ensure_feed(session, op_id, f.feed_type, f.name, url, version)
            feed = load_feed_row(session, feed_id)
            return process_body(
                session,
                feed,
                f.body,
                fetched_at=at,
                settings=settings,
                cache=cache,
                live=False,
                fetch_meta={},
            )
    except Exception as exc:
        reason = data_error_reason(exc)
        if reason is None:
            raise
        cache.invalidate()
    with Session(engine) as session, session.begin():
        feed_id = ensure_feed(session, op_id, f.feed_type, f.name, url, version)
        feed = load_feed_row(session, feed_id)
        fetch_id = record_unstorable(
            session, feed, f.body, fetched_at=at, reason=reason, live=False, fetch_meta={}
        )
    return ProcessResult("invalid", fetch_id, error=reason)
