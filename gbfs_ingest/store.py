"""Store stage, everything but the vehicle diff: fetch health, raw evidence,
outages, stations and slow-changing documents. Functions take a session;
the caller owns the transaction."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import orjson
import zstandard
from sqlalchemy.orm import Session

from datastore.connection import pg_connection
from gbfs_ingest.model import Finding, Station

_local = threading.local()

#: Longest reason (``feed_fetch.error``, ``outage.detail``) and finding text kept.
MAX_TEXT = 2_000
MAX_FINDING_MESSAGE = 500
MAX_FINDING_PATH = 300
# PostgreSQL text and jsonb cannot hold NUL; other controls are shown escaped
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def clean_text(text: str | None, limit: int = MAX_TEXT) -> str | None:
    """A message fit for a text column: control characters shown as escapes, bounded.

    Reasons and findings quote what a feed or a server said; whatever that was,
    storing it must not fail (a NUL would) nor grow without bound.
    """
    if text is None:
        return None
    if _CONTROL.search(text):
        text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _compressor() -> zstandard.ZstdCompressor:
    c = getattr(_local, "zc", None)
    if c is None:
        c = _local.zc = zstandard.ZstdCompressor(level=3)
    return c


def content_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


_pool: ThreadPoolExecutor | None = None


def compress_later(body: bytes) -> Future[bytes]:
    """Compress in a worker thread (zstd releases the GIL) while the caller parses."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="evidence")
    return _pool.submit(lambda: _compressor().compress(body))


def store_raw(
    session: Session,
    body: bytes,
    seen_at: datetime,
    digest: str | None = None,
    compressed: Future[bytes] | None = None,
) -> str:
    """Keep the raw bytes (compressed, deduplicated by SHA-256); return the hash."""
    digest = digest or content_hash(body)
    cur = pg_connection(session).cursor()
    cur.execute(
        "UPDATE raw_blob SET last_seen_at = GREATEST(last_seen_at, %s) WHERE sha256 = %s",
        (seen_at, digest),
    )
    if cur.rowcount == 0:
        data = compressed.result() if compressed is not None else _compressor().compress(body)
        cur.execute(
            "INSERT INTO raw_blob (sha256, data, size, compressed_size, first_seen_at,"
            " last_seen_at, pinned) VALUES (%s, %s, %s, %s, %s, %s, false)"
            " ON CONFLICT (sha256) DO UPDATE SET last_seen_at ="
            " GREATEST(raw_blob.last_seen_at, EXCLUDED.last_seen_at)",
            (digest, data, len(body), len(data), seen_at, seen_at),
        )
    return digest


def load_raw(session: Session, digest: str) -> bytes | None:
    cur = pg_connection(session).cursor()
    cur.execute("SELECT data FROM raw_blob WHERE sha256 = %s", (digest,))
    row = cur.fetchone()
    return None if row is None else zstandard.ZstdDecompressor().decompress(row[0])


def pin_raw(session: Session, digests: list[str]) -> None:
    """Keep these blobs past the retention (they back a violation's evidence)."""
    cur = pg_connection(session).cursor()
    cur.execute("UPDATE raw_blob SET pinned = true WHERE sha256 = ANY(%s)", (digests,))


def purge_raw(session: Session, now: datetime, retention_days: int) -> int:
    cur = pg_connection(session).cursor()
    cur.execute(
        "DELETE FROM raw_blob WHERE NOT pinned AND last_seen_at < %s",
        (now - timedelta(days=retention_days),),
    )
    return cur.rowcount


def findings_json(findings: list[Finding]) -> list[dict[str, Any]]:
    return [
        {
            "severity": f.severity,
            "code": clean_text(f.code, 80),
            "message": clean_text(f.message, MAX_FINDING_MESSAGE),
            "path": clean_text(f.path, MAX_FINDING_PATH),
            "count": f.count,
        }
        for f in findings
    ]


def record_fetch(session: Session, feed_id: int, **values: Any) -> int:
    """Insert one fetch health row; returns its id."""
    if values.get("error") is not None:
        values["error"] = clean_text(values["error"])
    if "findings" in values and values["findings"] is not None:
        values["findings"] = orjson.dumps(findings_json(values["findings"])).decode()
    cols = ["feed_id", *values]
    params = [feed_id, *values.values()]
    placeholders = ", ".join("%s::jsonb" if c == "findings" else "%s" for c in cols)
    cur = pg_connection(session).cursor()
    cur.execute(
        f"INSERT INTO feed_fetch ({', '.join(cols)}) VALUES ({placeholders}) RETURNING id",
        params,
    )
    return cur.fetchone()[0]


def update_fetch(session: Session, fetch_id: int, **values: Any) -> None:
    if not values:
        return
    if values.get("error") is not None:
        values["error"] = clean_text(values["error"])
    if "findings" in values and values["findings"] is not None:
        values["findings"] = orjson.dumps(findings_json(values["findings"])).decode()
    sets = ", ".join(f"{c} = %s::jsonb" if c == "findings" else f"{c} = %s" for c in values)
    cur = pg_connection(session).cursor()
    cur.execute(f"UPDATE feed_fetch SET {sets} WHERE id = %s", [*values.values(), fetch_id])


# --------------------------------------------------------------------------- outages


def open_outage(session: Session, feed_id: int) -> tuple[int, str] | None:
    cur = pg_connection(session).cursor()
    cur.execute(
        "SELECT id, kind FROM outage WHERE feed_id = %s AND ended_at IS NULL"
        " ORDER BY started_at DESC LIMIT 1",
        (feed_id,),
    )
    row = cur.fetchone()
    return None if row is None else (row[0], row[1])


def start_outage(
    session: Session, feed_id: int, kind: str, at: datetime, fetch_id: int | None, detail: str
) -> int:
    """Open an outage of ``kind`` unless one is open (a change of kind closes and reopens)."""
    detail = clean_text(detail) or ""
    current = open_outage(session, feed_id)
    cur = pg_connection(session).cursor()
    if current is not None:
        if current[1] == kind:
            return current[0]
        cur.execute(
            "UPDATE outage SET ended_at = %s, end_fetch_id = %s WHERE id = %s",
            (at, fetch_id, current[0]),
        )
    cur.execute(
        "INSERT INTO outage (feed_id, kind, started_at, start_fetch_id, detail)"
        " VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (feed_id, kind, at, fetch_id, detail),
    )
    return cur.fetchone()[0]


def end_outage(session: Session, feed_id: int, at: datetime, fetch_id: int | None) -> bool:
    cur = pg_connection(session).cursor()
    cur.execute(
        "UPDATE outage SET ended_at = %s, end_fetch_id = %s"
        " WHERE feed_id = %s AND ended_at IS NULL",
        (at, fetch_id, feed_id),
    )
    return cur.rowcount > 0


# --------------------------------------------------------------------------- stations & docs


def store_stations(
    session: Session,
    feed_id: int,
    operator_id: int,
    stations: list[Station],
    observed_at: datetime,
    *,
    status_only: bool,
) -> int:
    """Upsert stations. ``status_only`` updates counts without touching geometry/name."""
    cur = pg_connection(session).cursor()
    if status_only:
        cur.executemany(
            "UPDATE station SET num_vehicles_available = %s, num_vehicles_disabled = %s,"
            " num_docks_available = %s, is_renting = %s, last_reported = %s, updated_at = %s,"
            " is_virtual = is_virtual OR %s"
            " WHERE feed_id = %s AND station_id = %s",
            [
                (
                    s.num_vehicles_available,
                    s.num_vehicles_disabled,
                    s.num_docks_available,
                    s.is_renting,
                    s.last_reported,
                    observed_at,
                    s.is_virtual,
                    feed_id,
                    s.station_id,
                )
                for s in stations
            ],
        )
        return len(stations)
    cur.execute("DELETE FROM station WHERE feed_id = %s", (feed_id,))
    with cur.copy(
        "COPY station (feed_id, station_id, operator_id, name, geom, capacity, is_virtual,"
        " region_id, num_vehicles_available, num_vehicles_disabled, num_docks_available,"
        " is_renting, last_reported, updated_at) FROM STDIN"
    ) as cp:
        for s in stations:
            geom = None if s.lat is None or s.lon is None else f"SRID=4326;POINT({s.lon} {s.lat})"
            cp.write_row(
                (
                    feed_id,
                    s.station_id,
                    operator_id,
                    s.name,
                    geom,
                    s.capacity,
                    s.is_virtual,
                    s.region_id,
                    s.num_vehicles_available,
                    s.num_vehicles_disabled,
                    s.num_docks_available,
                    s.is_renting,
                    s.last_reported,
                    observed_at,
                )
            )
    return len(stations)


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(obj).items()}
    return obj


def store_document(
    session: Session, feed_id: int, digest: str, observed_at: datetime, records: list[Any]
) -> None:
    payload = orjson.dumps([_plain(r) for r in records]).decode()
    cur = pg_connection(session).cursor()
    cur.execute(
        "INSERT INTO feed_document (feed_id, content_hash, observed_at, records)"
        " VALUES (%s, %s, %s, %s::jsonb) ON CONFLICT (feed_id) DO UPDATE SET"
        " content_hash = EXCLUDED.content_hash, observed_at = EXCLUDED.observed_at,"
        " records = EXCLUDED.records",
        (feed_id, digest, observed_at, payload),
    )
