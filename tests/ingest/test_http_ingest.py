"""End to end over real HTTP and real PostGIS: discovery, polls, faults, outages.

Every fault case checks three things: the fetch's health row says what went
wrong, an outage is open when it should be, and nothing stored before is lost.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from gbfs_ingest.config import IngestSettings, OperatorSettings
from gbfs_ingest.model import FeedType
from gbfs_ingest.pipeline import Ingestor
from tests.httpserver import LocalHTTPServer, Reply

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
LAT, LON = 45.8992, 6.1294


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 60) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def bikes(n: int, *, at: datetime, prefix: str = "b", **overrides: object) -> str:
    items = [
        {
            "bike_id": f"{prefix}{i}",
            "lat": LAT + i * 0.001,
            "lon": LON,
            "is_reserved": False,
            "is_disabled": False,
            "vehicle_type_id": "ebike",
        }
        | overrides
        for i in range(n)
    ]
    return json.dumps(
        {"last_updated": int(at.timestamp()), "ttl": 30, "version": "2.3", "data": {"bikes": items}}
    )


@pytest.fixture
def server() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as srv:
        yield srv


@pytest.fixture
def clock() -> Clock:
    return Clock()


def settings(**kw: object) -> IngestSettings:
    base: dict[str, object] = {
        "allowed_private_hosts": ("127.0.0.1",),
        "read_timeout_s": 0.5,
        "connect_timeout_s": 0.5,
        "max_body_mb": 1.0,
        "max_decoded_mb": 2.0,
    }
    base.update(kw)
    return IngestSettings(**base)  # type: ignore[arg-type]


def publish(server: LocalHTTPServer, clock: Clock) -> OperatorSettings:
    feeds = [
        {"name": "system_information", "url": server.url("/si.json")},
        {"name": "free_bike_status", "url": server.url("/fbs.json")},
    ]
    server.route(
        "/gbfs.json",
        Reply.json(
            json.dumps(
                {
                    "last_updated": int(T0.timestamp()),
                    "ttl": 0,
                    "version": "2.3",
                    "data": {"fr": {"feeds": feeds}, "en": {"feeds": feeds}},
                }
            )
        ),
    )
    server.route(
        "/si.json",
        Reply.json(
            json.dumps(
                {
                    "last_updated": int(T0.timestamp()),
                    "ttl": 0,
                    "version": "2.3",
                    "data": {
                        "system_id": "velo",
                        "language": "fr",
                        "name": "Vélo",
                        "timezone": "Europe/Paris",
                    },
                }
            )
        ),
    )
    server.route("/fbs.json", Reply.json(bikes(30, at=clock.now)))
    return OperatorSettings(slug="velo", name="Vélo", discovery_url=server.url("/gbfs.json"))


@pytest.fixture
def ingest(engine, server, clock):  # type: ignore[no-untyped-def]
    op = publish(server, clock)
    ing = Ingestor(engine, settings(), clock=clock)
    disc = ing.discover(op)
    fid = disc.feed_ids[FeedType.VEHICLE_STATUS]
    first = ing.poll(fid)
    assert first.outcome == "ok", first
    yield ing, fid
    ing.close()


def one(engine, sql: str, **kw):  # type: ignore[no-untyped-def]
    with engine.connect() as c:
        return c.execute(text(sql), kw).fetchone()


def vehicles(engine) -> int:  # type: ignore[no-untyped-def]
    return one(engine, "SELECT count(*) FROM vehicle_current WHERE missing_since IS NULL")[0]


def last_fetch(engine):  # type: ignore[no-untyped-def]
    return one(
        engine,
        "SELECT outcome, http_status, error_kind, error, record_count,"
        " invalid_count, findings FROM feed_fetch ORDER BY id DESC LIMIT 1",
    )


def open_outage(engine):  # type: ignore[no-untyped-def]
    return one(engine, "SELECT kind, detail FROM outage WHERE ended_at IS NULL")


def test_discovery_and_first_poll(engine, ingest) -> None:  # type: ignore[no-untyped-def]
    assert vehicles(engine) == 30
    op = one(engine, "SELECT slug, gbfs_version, language FROM operator")
    assert tuple(op) == ("velo", "2.3", "fr")
    f = last_fetch(engine)
    assert f.outcome == "ok" and f.http_status == 200 and f.record_count == 30
    blob = one(
        engine,
        "SELECT size, compressed_size FROM raw_blob b JOIN feed_fetch f"
        " ON f.content_hash = b.sha256 ORDER BY f.id DESC LIMIT 1",
    )
    assert blob.compressed_size < blob.size


def test_identical_body_is_deduplicated(engine, ingest, clock) -> None:  # type: ignore[no-untyped-def]
    ing, fid = ingest
    clock.tick()
    assert ing.poll(fid).outcome == "unchanged"
    assert one(engine, "SELECT count(*) FROM raw_blob")[0] == 1
    assert one(engine, "SELECT count(*) FROM feed_fetch WHERE content_hash IS NOT NULL")[0] == 2


def _fault(engine, ingest, server, clock, *replies: Reply):  # type: ignore[no-untyped-def]
    ing, fid = ingest
    server.route("/fbs.json", *replies)
    clock.tick()
    res = ing.poll(fid)
    assert vehicles(engine) == 30, "nothing stored before may be lost"
    return res


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        (Reply(status=500, body=b"oops"), "http_status"),
        (Reply(status=401, body=b"no"), "http_status"),
        (Reply(status=404), "http_status"),
        (Reply.json("{}", delay_s=1.5), "timeout"),
        (Reply(body=b"x" * (2 * 1024 * 1024)), "too_large"),
        (
            Reply(
                body=gzip.compress(b"0" * (20 * 1024 * 1024)),
                gzip=False,
                headers={"Content-Encoding": "gzip"},
            ),
            "too_large",
        ),
        (Reply(body=b'{"data": {"bikes": [', content_length=500), None),
        (Reply.redirect("http://169.254.169.254/latest/meta-data"), "blocked_address"),
    ],
    ids=["500", "401", "404", "timeout", "over-limit", "gzip-bomb", "truncated", "ssrf-redirect"],
)
def test_fetch_failures_open_an_outage(engine, ingest, server, clock, reply, kind) -> None:  # type: ignore[no-untyped-def]
    res = _fault(engine, ingest, server, clock, reply)
    assert res.outcome == "error", res
    f = last_fetch(engine)
    assert f.outcome == "error"
    if kind:
        assert f.error_kind == kind
    assert open_outage(engine).kind == "unavailable"


def test_retry_after_delays_the_next_poll(engine, ingest, server, clock) -> None:  # type: ignore[no-untyped-def]
    res = _fault(engine, ingest, server, clock, Reply(status=429, headers={"Retry-After": "600"}))
    assert res.outcome == "error" and res.next_interval_s >= 600
    assert one(engine, "SELECT http_status FROM feed_fetch ORDER BY id DESC LIMIT 1")[0] == 429


@pytest.mark.parametrize(
    "body", [b"<html>502 Bad Gateway</html>", b'{"data": {"bikes": [}}', b'{"no_data": 1}']
)
def test_invalid_json_is_kept_as_evidence_and_is_an_outage(
    engine, ingest, server, clock, body
) -> None:  # type: ignore[no-untyped-def]
    res = _fault(engine, ingest, server, clock, Reply(body=body))
    assert res.outcome == "invalid"
    f = last_fetch(engine)
    assert f.error_kind == "parse" and f.error
    assert one(engine, "SELECT count(*) FROM raw_blob WHERE size = :n", n=len(body))[0] == 1
    assert open_outage(engine).kind == "unavailable"


def test_outage_ends_when_the_feed_recovers(engine, ingest, server, clock) -> None:  # type: ignore[no-untyped-def]
    ing, fid = ingest
    _fault(engine, ingest, server, clock, Reply(status=503))
    clock.tick()
    server.route("/fbs.json", Reply.json(bikes(30, at=clock.now)))
    assert ing.poll(fid).outcome == "ok"
    assert open_outage(engine) is None
    span = one(engine, "SELECT started_at, ended_at FROM outage")
    assert span.ended_at > span.started_at


def test_empty_vehicle_list_is_an_outage_not_an_empty_fleet(engine, ingest, server, clock) -> None:  # type: ignore[no-untyped-def]
    res = _fault(
        engine, ingest, server, clock, Reply.json(bikes(0, at=clock.now + timedelta(seconds=60)))
    )
    assert res.outcome == "empty"
    assert open_outage(engine).kind == "empty"
    assert one(engine, "SELECT count(*) FROM dwell WHERE ended_at IS NOT NULL")[0] == 0


def test_collapse_then_accepted_when_it_persists(engine, ingest, server, clock) -> None:  # type: ignore[no-untyped-def]
    ing, fid = ingest
    res = _fault(
        engine, ingest, server, clock, Reply.json(bikes(5, at=clock.now + timedelta(seconds=60)))
    )
    assert res.outcome == "collapse"
    clock.tick(ing.settings.collapse_confirm_s + 60)
    server.route("/fbs.json", Reply.json(bikes(5, at=clock.now)))
    assert ing.poll(fid).outcome == "ok"
    assert open_outage(engine) is None
    clock.tick()
    ing.poll(fid)
    assert vehicles(engine) == 5


def test_stale_feed_is_an_outage(engine, ingest, server, clock) -> None:  # type: ignore[no-untyped-def]
    stale_at = clock.now - timedelta(hours=2)
    res = _fault(engine, ingest, server, clock, Reply.json(bikes(30, at=stale_at, prefix="s")))
    assert res.outcome == "stale"
    assert open_outage(engine).kind == "stale"


def test_bad_records_are_dropped_and_counted_not_the_feed(engine, ingest, server, clock) -> None:  # type: ignore[no-untyped-def]
    ing, fid = ingest
    doc = json.loads(bikes(30, at=clock.now + timedelta(seconds=60)))
    b = doc["data"]["bikes"]
    b[0]["lat"], b[0]["lon"] = None, None  # null coordinates, no station
    b[1]["lat"], b[1]["lon"] = 0, 0  # null island
    b[2]["lat"] = 123.0  # out of range
    b[3]["bike_id"] = b[4]["bike_id"]  # duplicate id
    b[5]["is_disabled"] = 1  # wrong type, unambiguous
    b[6]["lat"] = str(b[6]["lat"])  # number as a string
    server.route("/fbs.json", Reply.json(json.dumps(doc)))
    clock.tick()
    res = ing.poll(fid)
    assert res.outcome == "ok"
    f = last_fetch(engine)
    assert f.invalid_count == 4 and f.record_count == 26
    codes = {x["code"] for x in f.findings}
    assert len(codes) >= 3
    assert one(engine, "SELECT state FROM vehicle_current WHERE gbfs_id = 'b5'")[0] == "disabled"
    assert (
        one(
            engine,
            "SELECT count(*) FROM vehicle_current WHERE gbfs_id = 'b6' AND missing_since IS NULL",
        )[0]
        == 1
    )


def test_database_restart_mid_poll_recovers(engine, ingest, server, clock) -> None:  # type: ignore[no-untyped-def]
    ing, fid = ingest
    server.route(
        "/fbs.json", Reply.json(bikes(30, at=clock.now + timedelta(seconds=60), prefix="r"))
    )
    clock.tick()
    # kill every other connection to this database while the poll holds its own
    original = ing.cache.for_feed

    def kill_then_continue(feed_id: int):  # type: ignore[no-untyped-def]
        with engine.connect() as c:
            c.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            c.commit()
        return original(feed_id)

    ing.cache.for_feed = kill_then_continue  # type: ignore[method-assign]
    with pytest.raises(Exception):  # noqa: B017 - the driver's error class depends on timing
        ing.poll(fid)
    ing.cache.for_feed = original  # type: ignore[method-assign]
    assert vehicles(engine) == 30
    assert one(engine, "SELECT count(*) FROM vehicle_current WHERE gbfs_id LIKE 'r%'")[0] == 0
    clock.tick()
    assert ing.poll(fid).outcome == "ok"
    assert one(engine, "SELECT count(*) FROM vehicle_current WHERE gbfs_id LIKE 'r%'")[0] == 30
    assert one(engine, "SELECT count(*), max(rotations) FROM dwell WHERE ended_at IS NULL")[0] == 30


def test_two_pollers_never_ingest_the_same_feed_at_once(engine, ingest, server, clock) -> None:  # type: ignore[no-untyped-def]
    ing, fid = ingest
    with engine.connect() as c:
        c.execute(text("SELECT pg_advisory_lock(:ns, :id)"), {"ns": 0x6762, "id": fid})
        c.commit()
        clock.tick()
        assert ing.poll(fid).outcome == "skipped"
        c.execute(text("SELECT pg_advisory_unlock(:ns, :id)"), {"ns": 0x6762, "id": fid})
        c.commit()
    assert ing.poll(fid).outcome in ("unchanged", "ok")


def test_loopback_is_refused_unless_allowed(engine, server, clock) -> None:  # type: ignore[no-untyped-def]
    from gbfs_ingest.pipeline import DiscoveryError

    op = publish(server, clock)
    ing = Ingestor(engine, IngestSettings(), clock=clock)
    try:
        with pytest.raises(DiscoveryError, match=r"blocked|private|loopback|not allowed"):
            ing.discover(op)
    finally:
        ing.close()
    assert server.requests_for("/gbfs.json") == []


def test_cli_ingests_once_from_a_discovery_url(db_url, server, clock) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    publish(server, clock)
    server.route("/fbs.json", Reply.json(bikes(12, at=datetime.now(UTC))))
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "FLEET__INGEST__ALLOWED_PRIVATE_HOSTS": '["127.0.0.1"]',
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fleet_monitor.cli",
            "ingest",
            server.url("/gbfs.json"),
            "--operator",
            "velo",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["version"], summary["vehicles_stored"]) == ("2.3", 12)
    assert summary["errors"] == []
    env.pop("FLEET__INGEST__ALLOWED_PRIVATE_HOSTS")
    refused = subprocess.run(
        [sys.executable, "-m", "fleet_monitor.cli", "ingest", server.url("/gbfs.json"), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert refused.returncode == 2, refused.stderr
    assert refused.stdout == ""
    assert "not allowed by policy" in refused.stderr


def test_v3_manifest_discovery(engine, server, clock) -> None:  # type: ignore[no-untyped-def]
    now = clock.now.isoformat()
    feeds = [{"name": "vehicle_status", "url": server.url("/v3/vs.json")}]
    server.route(
        "/manifest.json",
        Reply.json(
            json.dumps(
                {
                    "last_updated": now,
                    "ttl": 0,
                    "version": "3.0",
                    "data": {
                        "datasets": [
                            {
                                "system_id": "lac",
                                "versions": [
                                    {"version": "3.0", "url": server.url("/v3/gbfs.json")}
                                ],
                            }
                        ]
                    },
                }
            )
        ),
    )
    server.route(
        "/v3/gbfs.json",
        Reply.json(
            json.dumps({"last_updated": now, "ttl": 0, "version": "3.0", "data": {"feeds": feeds}})
        ),
    )
    vehicles = [
        {
            "vehicle_id": f"v{i}",
            "lat": LAT + i / 1000,
            "lon": LON,
            "is_reserved": False,
            "is_disabled": False,
        }
        for i in range(7)
    ]
    server.route(
        "/v3/vs.json",
        Reply.json(
            json.dumps(
                {"last_updated": now, "ttl": 0, "version": "3.0", "data": {"vehicles": vehicles}}
            )
        ),
    )
    ing = Ingestor(engine, settings(), clock=clock)
    try:
        op = OperatorSettings(slug="lac", name="Lac", discovery_url=server.url("/manifest.json"))
        disc = ing.discover(op)
        assert disc.discovery.version == "3.0"
        assert ing.poll(disc.feed_ids[FeedType.VEHICLE_STATUS]).outcome == "ok"
    finally:
        ing.close()
    assert vehicles_count(engine) == 7


def vehicles_count(engine) -> int:  # type: ignore[no-untyped-def]
    return vehicles(engine)
