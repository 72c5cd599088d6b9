"""Raw files kept as evidence: a fetched body by its digest, pinning the bodies a
violation cites so that retention keeps them, the fetches a case names and the
stays of a vehicle with the files that opened and closed them.

The store (content-addressed, zstd-compressed ``raw_blob``) is the ingest's; case
files and the violation lifecycle reach it through here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gbfs_ingest import store


def load_raw(session: Session, digest: str) -> bytes | None:
    """The raw body with this SHA-256 digest (decompressed), or None when purged."""
    return store.load_raw(session, digest)


def pin_raw(session: Session, digests: list[str]) -> None:
    """Keep these raw bodies past the retention period (evidence of a violation)."""
    store.pin_raw(session, digests)


def purge_raw(session: Session, now: datetime, retention_days: int) -> int:
    """Delete the raw bodies older than the retention period and not pinned; how many."""
    return store.purge_raw(session, now, retention_days)


def fetches_by_id(session: Session, fetch_ids: list[int]) -> list[dict[str, Any]]:
    """The fetches with these ids (id, started_at, observed_at, content_hash), oldest
    first. (By id only: ``feed_fetch`` is large and has no hash index.)"""
    return [
        dict(r)
        for r in session.execute(
            text(
                "SELECT ff.id, ff.started_at, ff.observed_at, ff.content_hash"
                " FROM feed_fetch ff WHERE ff.id = ANY(:ids) ORDER BY ff.started_at, ff.id"
            ),
            {"ids": fetch_ids},
        ).mappings()
    ]


def vehicle_stays(
    session: Session, vehicle_id: int | None, limit: int = 30
) -> list[dict[str, Any]]:
    """The vehicle's latest stays (newest first), with the feed files that opened and
    closed them (their raw content hashes)."""
    if vehicle_id is None:
        return []
    return [
        dict(r)
        for r in session.execute(
            text(
                "SELECT d.id, d.gbfs_id, d.lat, d.lon, d.state, d.started_at, d.start_confidence,"
                " d.ended_at, d.end_reason, d.rotations, d.min_link_confidence,"
                " sf.content_hash AS start_hash, ef.content_hash AS end_hash"
                " FROM dwell d LEFT JOIN feed_fetch sf ON sf.id = d.start_fetch_id"
                " LEFT JOIN feed_fetch ef ON ef.id = d.end_fetch_id"
                " WHERE d.vehicle_id = :vid ORDER BY d.started_at DESC, d.id DESC LIMIT :n"
            ),
            {"vid": vehicle_id, "n": limit},
        ).mappings()
    ]


def fetch_hashes(cur: Any, fetch_ids: Iterable[int]) -> dict[int, str | None]:
    """Raw content hash of each of these fetches (psycopg cursor of the caller)."""
    ids = sorted(set(fetch_ids))
    if not ids:
        return {}
    cur.execute("SELECT id, content_hash FROM feed_fetch WHERE id = ANY(%s)", (ids,))
    return dict(cur.fetchall())


def first_fetch_at(cur: Any) -> datetime | None:
    """When the first feed fetch on record started (one index probe per feed)."""
    cur.execute(
        "SELECT min((SELECT min(f.started_at) FROM feed_fetch f WHERE f.feed_id = feed.id))"
        " FROM feed"
    )
    row = cur.fetchone()
    return None if row is None else row[0]


def raw_sizes(session: Session, digests: list[str]) -> dict[str, int]:
    """Size in bytes of each of these raw bodies still kept (purged ones are absent)."""
    return {
        str(k): int(v)
        for k, v in session.execute(
            text("SELECT sha256, size FROM raw_blob WHERE sha256 = ANY(:h)"), {"h": digests}
        ).all()
    }


def violation_fetch_hashes(
    session: Session, violation_ids: list[int]
) -> list[tuple[int, str | None, list[Any]]]:
    """Per violation: its id, the content hash of the latest fetch that showed it
    (None when unknown) and its recorded raw hashes (``evidence.raw_hashes``, a
    JSON list, possibly empty)."""
    rows = session.execute(
        text(
            "SELECT v.id, ff.content_hash, coalesce(v.evidence->'raw_hashes', '[]'::jsonb)"
            " FROM violation v LEFT JOIN feed_fetch ff ON ff.id = v.last_fetch_id"
            " WHERE v.id = ANY(:ids)"
        ),
        {"ids": violation_ids},
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def fetch_findings(cur: Any, fetch_id: int) -> list[dict[str, Any]] | None:
    """The findings stored with one fetch (a JSON list), None when the fetch is not
    on record or has none; on a psycopg cursor."""
    cur.execute("SELECT findings FROM feed_fetch WHERE id = %s", (fetch_id,))
    row = cur.fetchone()
    return None if row is None else row[0]
