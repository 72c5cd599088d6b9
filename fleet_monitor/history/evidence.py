"""Raw files kept as evidence: a fetched body by its digest, and pinning the bodies a
violation cites so that retention keeps them.

The store (content-addressed, zstd-compressed ``raw_blob``) is the ingest's; case
files and the violation lifecycle reach it through here.
"""

from __future__ import annotations

from datetime import datetime

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
