"""The ingest scheduler: job per feed, failures isolated, one poller per feed, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from fleet_monitor.scheduler import IngestScheduler
from fleet_monitor.settings import SchedulerSettings, Settings
from gbfs_ingest.config import IngestSettings, OperatorSettings
from tests.httpserver import LocalHTTPServer, RecordedRequest, Reply

ROOT = Path(__file__).resolve().parents[1]


def gbfs(server: LocalHTTPServer, prefix: str) -> None:
    now = int(datetime.now(UTC).timestamp())
    feeds = [{"name": "free_bike_status", "url": server.url(f"{prefix}/fbs.json")}]
    server.route(
        f"{prefix}/gbfs.json",
        Reply.json(
            json.dumps(
                {"last_updated": now, "ttl": 0, "version": "2.2", "data": {"en": {"feeds": feeds}}}
            )
        ),
    )


def fbs(n: int = 3) -> Reply:
    now = int(datetime.now(UTC).timestamp())
    bikes = [
        {
            "bike_id": f"b{i}",
            "lat": 45.9 + i / 1000,
            "lon": 6.12,
            "is_reserved": False,
            "is_disabled": False,
        }
        for i in range(n)
    ]
    return Reply.json(
        json.dumps({"last_updated": now, "ttl": 1, "version": "2.2", "data": {"bikes": bikes}})
    )


@pytest.fixture
def server() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as srv:
        yield srv


def settings(db_url: str, ops: list[OperatorSettings], **ingest: object) -> Settings:
    base: dict[str, object] = {
        "allowed_private_hosts": ("127.0.0.1",),
        "poll_floor_s": 1,
        "default_interval_s": 1,
        "read_timeout_s": 2.0,
    }
    base.update(ingest)
    return Settings(
        database_url=db_url,
        ingest=IngestSettings(**base),  # type: ignore[arg-type]
        scheduler=SchedulerSettings(max_workers=4),
        operators=tuple(ops),
    )


def op(server: LocalHTTPServer, slug: str) -> OperatorSettings:
    return OperatorSettings(slug=slug, name=slug, discovery_url=server.url(f"/{slug}/gbfs.json"))


def wait_for(cond, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_failing_feed_never_stops_the_others(db_url: str, engine, server) -> None:  # type: ignore[no-untyped-def]
    gbfs(server, "/good")
    server.route("/good/fbs.json", fbs())
    gbfs(server, "/bad")
    server.route("/bad/fbs.json", Reply(status=500))
    server.route("/gone/gbfs.json", Reply(status=404))  # discovery itself fails
    sched = IngestScheduler(
        settings(db_url, [op(server, "good"), op(server, "bad"), op(server, "gone")]), engine=engine
    )
    sched.start()
    try:
        wait_for(lambda: len(server.requests_for("/good/fbs.json")) >= 3)
        wait_for(lambda: len(server.requests_for("/bad/fbs.json")) >= 2)
    finally:
        sched.shutdown()
    with engine.connect() as c:
        rows = dict(
            c.execute(
                text(
                    "SELECT o.slug, count(*) FILTER (WHERE x.outcome IN ('ok','unchanged'))"
                    " FROM feed_fetch x JOIN feed f ON f.id = x.feed_id JOIN operator o"
                    " ON o.id = f.operator_id GROUP BY o.slug"
                )
            ).fetchall()
        )
        outage = c.execute(text("SELECT count(*) FROM outage WHERE ended_at IS NULL")).scalar()
    assert rows["good"] >= 3 and rows["bad"] == 0
    assert outage == 1


def test_two_schedulers_never_poll_the_same_feed_at_once(db_url: str, engine, server) -> None:  # type: ignore[no-untyped-def]
    in_flight = 0
    overlaps = 0
    lock = threading.Lock()

    def slow(_req: RecordedRequest) -> Reply:
        nonlocal in_flight, overlaps
        with lock:
            in_flight += 1
            overlaps += in_flight > 1
        time.sleep(0.4)
        with lock:
            in_flight -= 1
        return fbs()

    gbfs(server, "/solo")
    server.route("/solo/fbs.json", slow)
    s = settings(db_url, [op(server, "solo")])
    a, b = IngestScheduler(s, engine=engine), IngestScheduler(s, engine=engine)
    a.start()
    b.start()
    try:
        wait_for(lambda: len(server.requests_for("/solo/fbs.json")) >= 5, timeout=20)
    finally:
        a.shutdown()
        b.shutdown()
    assert overlaps == 0
    assert a.skipped + b.skipped >= 1, "the second scheduler must have found the feed busy"


def _alive(pid: int) -> bool:
    """Running (a zombie left to an init that does not reap does not count)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(c) for c in (task / "children").read_text().split())
    return found


@pytest.mark.parametrize("offload", [False, True], ids=["inline", "validation-worker"])
def test_scheduler_process_stops_cleanly_on_sigterm(  # type: ignore[no-untyped-def]
    db_url: str, engine, server, tmp_path, offload: bool
) -> None:
    """With ``validate_offload_min_kb = 0`` every file is validated by a worker
    process: it must be gone too when the scheduler stops."""
    gbfs(server, "/velo")
    server.route("/velo/fbs.json", fbs())
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        "[ingest]\npoll_floor_s = 1\ndefault_interval_s = 1\n"
        + ("validate_offload_min_kb = 0\n" if offload else "")
        + 'allowed_private_hosts = ["127.0.0.1"]\n'
        f'[[operators]]\nslug = "velo"\nname = "Velo"\n'
        f'discovery_url = "{server.url("/velo/gbfs.json")}"\n'
    )
    env = {**os.environ, "DATABASE_URL": db_url, "FLEET_CONFIG": str(cfg)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fleet_monitor.cli", "scheduler"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(lambda: len(server.requests_for("/velo/fbs.json")) >= 2, timeout=30)
        time.sleep(0.5)  # let the second poll store
        children = _children(proc.pid)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "scheduler stopped" in out
    assert "Traceback" not in out
    assert bool(children) == offload  # the validation worker, when files go to it
    wait_for(lambda: not [pid for pid in children if _alive(pid)], timeout=5)
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM vehicle_current")).scalar() == 3
        checked = c.execute(
            text(
                "SELECT count(*) FROM feed_fetch f JOIN feed ON feed.id = f.feed_id"
                " WHERE feed.feed_type = 'vehicle_status' AND f.schema_error_count IS NOT NULL"
            )
        ).scalar()
        assert checked >= 1


def test_failed_discovery_is_tried_again_soon(  # type: ignore[no-untyped-def]
    db_url: str, engine, server, monkeypatch
) -> None:
    """A discovery that failed (feed server or database down at start) is tried again
    after DISCOVERY_RETRY_S, not an hour later: the feed is then polled."""
    import fleet_monitor.scheduler as scheduler_module

    monkeypatch.setattr(scheduler_module, "DISCOVERY_RETRY_S", 1)
    now = int(datetime.now(UTC).timestamp())
    feeds = [{"name": "free_bike_status", "url": server.url("/late/fbs.json")}]
    discovery = json.dumps(
        {"last_updated": now, "ttl": 0, "version": "2.2", "data": {"en": {"feeds": feeds}}}
    )
    server.route("/late/gbfs.json", Reply(status=503), Reply(status=503), Reply.json(discovery))
    server.route("/late/fbs.json", fbs())
    sched = IngestScheduler(settings(db_url, [op(server, "late")]), engine=engine)
    sched.start()
    try:
        wait_for(lambda: len(server.requests_for("/late/fbs.json")) >= 1, timeout=15)
    finally:
        sched.shutdown()
    assert len(server.requests_for("/late/gbfs.json")) == 3
