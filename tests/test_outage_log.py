"""Database outages are logged once per interval, by the reporter and through the filter."""

from __future__ import annotations

import logging

import psycopg
import pytest
from sqlalchemy import exc as sa_exc

from fleet_monitor.health import OutageLog, OutageLogFilter, is_database_outage


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def outage_error() -> sa_exc.OperationalError:
    orig = psycopg.OperationalError("connection refused\nIs the server running?")
    return sa_exc.OperationalError("SELECT 1", {}, orig)


def test_what_counts_as_an_outage() -> None:
    assert is_database_outage(outage_error())
    assert is_database_outage(psycopg.OperationalError("x"))
    try:
        try:
            raise outage_error()
        except sa_exc.OperationalError as inner:
            raise RuntimeError("job failed") from inner
    except RuntimeError as wrapped:
        assert is_database_outage(wrapped)  # found in the chain
    assert not is_database_outage(ValueError("bad value"))
    assert not is_database_outage(sa_exc.IntegrityError("INSERT", {}, Exception("dup")))
    assert not is_database_outage(None)


def test_reported_once_per_interval_then_back(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    outage = OutageLog(logging.getLogger("test.outage"), interval_s=10, clock=clock)
    caplog.set_level(logging.INFO, "test.outage")
    outage.success()
    assert caplog.records == []
    for _ in range(250):  # 25 s of failures, ten a second
        outage.failure(outage_error())
        clock.now += 0.1
    assert outage.down
    outage.success()
    assert not outage.down
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 4, messages  # at 0 s, 10 s, 20 s, and back
    assert messages[0].startswith("database unavailable for 0 s (failed attempts since")
    assert "connection refused" in messages[0] and "server running" not in messages[0]
    assert "failed attempts since the last report: 100" in messages[1]
    assert messages[3] == "database available again after 25 s (failed attempts in all: 250)"


def test_filter_turns_other_jobs_tracebacks_into_the_report(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    outage = OutageLog(logging.getLogger("test.outage2"), interval_s=60, clock=clock)
    handler = logging.Handler()
    seen: list[logging.LogRecord] = []
    handler.emit = seen.append  # type: ignore[method-assign]
    handler.addFilter(OutageLogFilter(outage))
    job_log = logging.getLogger("test.job")
    job_log.addHandler(handler)
    logging.getLogger("test.outage2").addHandler(handler)
    try:
        for _ in range(5):
            try:
                raise outage_error()
            except sa_exc.OperationalError:
                job_log.exception("notices planning failed")
            job_log.warning("poll failed: %s", outage_error())
        job_log.error("a real bug: %s", ValueError("x"))
    finally:
        job_log.removeHandler(handler)
        logging.getLogger("test.outage2").removeHandler(handler)
    texts = [r.getMessage() for r in seen]
    assert len(texts) == 2, texts
    assert texts[0].startswith("database unavailable for 0 s")
    assert texts[1] == "a real bug: x"
