"""Feed health as shown by ``operators list``, and the service's own health: how a
database outage is recognised and logged (once per interval) by the web app and
the scheduler."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from datastore import pg_connection
from fleet_monitor.database import make_engine
from fleet_monitor.history.feed_health import operators_feed_status
from fleet_monitor.settings import Settings


def operators_health(settings: Settings) -> list[dict[str, Any]]:
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        with Session(engine) as session:
            rows = operators_feed_status(pg_connection(session).cursor())
    finally:
        engine.dispose()
    ops: dict[str, dict[str, Any]] = {}
    for op in settings.operators:
        ops[op.slug] = {
            "slug": op.slug,
            "name": op.name,
            "version": None,
            "configured": True,
            "feeds": [],
        }
    for slug, name, version, feed_id, ftype, last_ok, failures, outcome, outage, avail in rows:
        entry = ops.setdefault(slug, {"slug": slug, "name": name, "configured": False, "feeds": []})
        entry["version"] = version
        if feed_id is not None:
            entry["feeds"].append(
                {
                    "feed_type": ftype,
                    "last_success_at": last_ok,
                    "consecutive_failures": failures,
                    "last_outcome": outcome,
                    "outage": outage,
                    "availability_24h": None if avail is None else float(avail),
                }
            )
    return list(ops.values())


# --------------------------------------------------------------------------- database outages

#: Exceptions that mean "the database cannot be used right now" (down, restarting,
#: unreachable, refusing connections, a connection cut, a pool with none free, a
#: statement cancelled by the server): the web app answers 503 and the scheduler
#: waits for its next run; neither logs more than once per interval.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)
OUTAGE_LOG_INTERVAL_S = 60.0
OUTAGE_LOG_INTERVAL_ENV = "FLEET_OUTAGE_LOG_INTERVAL_S"


def outage_log_interval_s() -> float:
    """Seconds between two reports of one outage: ``$FLEET_OUTAGE_LOG_INTERVAL_S`` or 60."""
    raw = os.environ.get(OUTAGE_LOG_INTERVAL_ENV, "").strip()
    try:
        value = float(raw) if raw else OUTAGE_LOG_INTERVAL_S
    except ValueError:
        value = OUTAGE_LOG_INTERVAL_S
    return value if 0 < value < 86400 else OUTAGE_LOG_INTERVAL_S


def is_database_outage(exc: BaseException | None) -> bool:
    """True if ``exc``, or an exception it was raised from, is a database outage."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, OUTAGE_ERRORS):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    first_line = (str(orig).strip().splitlines() or [""])[0]
    return f"{type(orig).__name__}: {first_line[:200]}"


class OutageLog:
    """Logs a database outage once per interval (not once per request or job run),
    with the number of failures in between, and once when the database is back.

    ``failure(exc)`` is called wherever an outage is caught; ``success()`` after
    any database work that succeeded (cheap when there is no outage).
    Thread-safe.
    """

    def __init__(
        self,
        logger: logging.Logger,
        *,
        interval_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval_s = outage_log_interval_s() if interval_s is None else interval_s
        self.clock = clock
        self._lock = threading.Lock()
        self._since: float | None = None
        self._last_report = 0.0
        self._failures = 0  # since the last report
        self._total = 0

    @property
    def down(self) -> bool:
        return self._since is not None

    def failure(self, exc: BaseException) -> None:
        with self._lock:
            now = self.clock()
            self._failures += 1
            self._total += 1
            if self._since is None:
                self._since = now
            elif now - self._last_report < self.interval_s:
                return
            self._last_report = now
            failures, self._failures = self._failures, 0
            down_for = now - self._since
        self.logger.warning(
            "database unavailable for %.0f s (failed attempts since the last report: %d; "
            "next report in %.0f s at most): %s",
            down_for,
            failures,
            self.interval_s,
            _reason(exc),
        )

    def success(self) -> None:
        if self._since is None:  # the usual case: no lock taken
            return
        with self._lock:
            if self._since is None:
                return
            down_for = self.clock() - self._since
            total = self._total
            self._since, self._failures, self._total = None, 0, 0
        self.logger.warning(
            "database available again after %.0f s (failed attempts in all: %d)", down_for, total
        )


class OutageLogFilter(logging.Filter):
    """A handler filter for a whole process: a log record about a database outage
    (its exception, or an exception among its arguments) goes to an
    :class:`OutageLog` instead, so that jobs which log every failure fill the log
    with one line per interval, not one traceback per run."""

    def __init__(self, outage: OutageLog) -> None:
        super().__init__()
        self.outage = outage

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None and isinstance(record.args, tuple):
            exc = next((a for a in record.args if isinstance(a, BaseException)), None)
        if exc is not None and is_database_outage(exc):
            self.outage.failure(exc)
            return False
        return True
