"""Schema validation of large bodies in a worker process, while the poll goes on.

Validating a 100,000-vehicle file against the official schema needs the body
decoded into Python objects (~55-80 ms) and then ``jsonschema_rs`` (~25-45
ms), all under the GIL. The poll itself no longer needs those objects (the
typed fast path reads vehicles straight from the bytes), so large bodies are
sent to a small pool of worker processes that decode and validate them on the
other core while the poll parses, diffs and stores; the poll collects the
findings before it records them, in the same transaction.

Small bodies (below ``validate_offload_min_kb``) are validated in the poll's
own thread: shipping them costs more than it saves. If the pool cannot be
used (it failed to start, a worker died, the answer is late), the poll
validates in its own thread instead: findings are never skipped.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import orjson

from gbfs_ingest.model import FeedType, Finding
from gbfs_ingest.parse import detect_version
from gbfs_ingest.validate import validate_document

log = logging.getLogger(__name__)

#: How long a poll waits for a worker's findings before validating itself.
RESULT_TIMEOUT_S = 60.0

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_pool_workers = 0


def validate_body(
    feed_type: str, declared: str | None, body: bytes
) -> tuple[str, list[Finding]] | None:
    """Decode ``body``, detect its version as the poll does, validate it (worker side).

    None when the body cannot be read: the poll reports that itself. Nothing is
    raised across the process boundary (some exceptions do not unpickle).
    """
    try:
        doc = orjson.loads(body)
        if not isinstance(doc, dict):
            return None
        version, _guessed = detect_version(doc, declared)
        return version, validate_document(FeedType(feed_type), version, doc)
    except Exception:  # reported by the poll itself
        return None


def _lower_priority() -> None:
    """Workers yield the CPU to the polls and to PostgreSQL, which the poll waits on."""
    with contextlib.suppress(OSError):  # not allowed here: normal priority
        os.nice(5)


def _get_pool(workers: int) -> ProcessPoolExecutor:
    global _pool, _pool_workers
    with _lock:
        if _pool is None or _pool_workers != workers:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            # spawn, not fork: the service has threads (scheduler, evidence compression)
            context = multiprocessing.get_context("spawn")
            _pool = ProcessPoolExecutor(
                max_workers=workers, mp_context=context, initializer=_lower_priority
            )
            _pool_workers = workers
        return _pool


def _discard_pool(wait: bool = False) -> None:
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=wait, cancel_futures=True)


def validate_later(
    feed_type: FeedType, declared: str | None, body: bytes, *, workers: int
) -> Future[tuple[str, list[Finding]] | None] | None:
    """Start validating ``body`` in a worker; None if no worker can take it."""
    if workers <= 0:
        return None
    try:
        return _get_pool(workers).submit(validate_body, feed_type.value, declared, body)
    except Exception:  # broken pool, interpreter shutting down: validate inline
        log.warning("schema validation worker unavailable; validating in the poll", exc_info=True)
        _discard_pool()
        return None


def collect(
    future: Future[tuple[str, list[Finding]] | None] | None, version: str
) -> list[Finding] | None:
    """The worker's findings for ``version``, or None if the poll must validate itself."""
    if future is None:
        return None
    try:
        answer = future.result(timeout=RESULT_TIMEOUT_S)
    except Exception as exc:  # any failure: the poll validates itself
        log.warning("schema validation worker failed (%r); validating in the poll", exc)
        future.cancel()
        if not isinstance(exc, TimeoutError):
            _discard_pool()  # a dead worker breaks the pool: start a new one next time
        return None
    if answer is None or answer[0] != version:
        return None
    return answer[1]


def shutdown(wait: bool = False) -> None:
    """Stop the worker processes (tests, clean exits; atexit does it otherwise);
    ``wait``: until they have exited."""
    _discard_pool(wait)


def schema_findings(
    feed_type: FeedType,
    version: str,
    doc: dict[str, Any] | None,
    body: bytes,
    future: Future[tuple[str, list[Finding]] | None] | None,
) -> list[Finding]:
    """Findings of the official schema: from the worker if it validated, else here."""
    findings = collect(future, version)
    if findings is not None:
        return findings
    if doc is None:
        doc = orjson.loads(body)
    return validate_document(feed_type, version, doc)
