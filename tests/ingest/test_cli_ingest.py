"""``fleet-monitor ingest``: a bad argument or a source with nothing usable exits 2
with one message and writes nothing; a usable source is stored, its failures on record.

Each case runs the real command (click, settings from the environment, the
database over a real connection) against a fresh, migrated database, and
counts every row the ingest could have written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

from fleet_monitor.cli import cli
from tests.httpserver import LocalHTTPServer, Reply

SECRET = "pw-SUPERSECRET"
TABLES = ("operator", "feed", "feed_fetch", "raw_blob", "outage", "vehicle_current", "station")


def doc(data: dict[str, Any]) -> str:
    now = int(datetime.now(UTC).timestamp())
    return json.dumps({"last_updated": now, "ttl": 0, "version": "2.3", "data": data})


def bikes() -> str:
    """A clean vehicle file, dated now (built per test: a file dated at import time
    would look stale by the end of a long test run)."""
    return doc(
        {
            "bikes": [
                {"bike_id": f"b{i}", "lat": 45.9, "lon": 6.1 + i / 1000}
                | {"is_reserved": False, "is_disabled": False}
                for i in range(4)
            ]
        }
    )


@pytest.fixture
def server() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as srv:
        yield srv


def publish(server: LocalHTTPServer, fbs: Reply, si: Reply | None = None) -> str:
    feeds = [{"name": "free_bike_status", "url": server.url("/fbs.json")}]
    if si is not None:
        feeds.append({"name": "system_information", "url": server.url("/si.json")})
        server.route("/si.json", si)
    server.route("/gbfs.json", Reply.json(doc({"fr": {"feeds": feeds}})))
    server.route("/fbs.json", fbs)
    return server.url("/gbfs.json")


def run(db_url: str, *args: str, allow_loopback: bool = True) -> Result:
    env = {"DATABASE_URL": db_url, "FLEET_CONFIG": None}
    if allow_loopback:
        env["FLEET__INGEST__ALLOWED_PRIVATE_HOSTS"] = '["127.0.0.1"]'
    return CliRunner().invoke(cli, ["ingest", *args, "--json"], env=env)


def counts(db_url: str) -> dict[str, int]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as c:
            return {t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}
    finally:
        engine.dispose()


def assert_refused(db_url: str, result: Result, *words: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("fleet-monitor: ingest: ")
    for word in words:
        assert word in line, (word, line)
    assert set(counts(db_url).values()) == {0}, "nothing written"
    return line


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["x", "--operator", "../etc"], ["--operator must be"]),
        (["x", "--operator", "a" * 65], ["--operator must be"]),
        ([f"https://city:{SECRET}@gbfs.op.example/gbfs.json"], ["credentials", "**********@"]),
        (["ftp://gbfs.op.example/gbfs.json"], ["scheme 'ftp'"]),
        (["javascript://x/%0aalert(1)"], ["scheme 'javascript'"]),
        (["/no/such/folder"], ["/no/such/folder: no such file or folder"]),
    ],
    ids=["slug path", "slug too long", "url credentials", "ftp", "javascript", "no path"],
)
def test_bad_arguments_exit_2_and_write_nothing(
    db_url: str, args: list[str], words: list[str]
) -> None:
    line = assert_refused(db_url, run(db_url, *args), *words)
    assert SECRET not in line


def test_a_folder_without_feed_files(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "notes.json").write_text("{}")
    assert_refused(db_url, run(db_url, str(tmp_path)), "no GBFS feed file")


def test_local_files_with_nothing_usable(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "free_bike_status.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    (tmp_path / "station_information.json").write_text('{"last_updated": NaN, "data": {}}')
    assert_refused(
        db_url,
        run(db_url, str(tmp_path)),
        "nothing usable, nothing stored",
        "free_bike_status.json: body cannot be read: nested more than 1024 levels deep",
        "station_information.json: body is not JSON",
    )


def test_an_unreachable_or_refused_discovery_file(db_url: str, server: LocalHTTPServer) -> None:
    url = publish(server, Reply.json(bikes()))
    line = assert_refused(db_url, run(db_url, url, allow_loopback=False), "not allowed by policy")
    assert "cannot read discovery file" in line
    server.route("/gbfs.json", Reply(status=404))
    assert_refused(db_url, run(db_url, url), "HTTP 404")
    server.route("/gbfs.json", Reply.json("[" * 5000 + "]" * 5000))
    assert_refused(db_url, run(db_url, url), "invalid discovery file", "1024 levels")
    server.route("/gbfs.json", Reply.json(doc({"fr": {"feeds": []}})))
    assert_refused(db_url, run(db_url, url), "lists no feed this service ingests")


def test_a_discovery_file_whose_feeds_are_all_unusable(
    db_url: str, server: LocalHTTPServer
) -> None:
    url = publish(server, Reply(status=404), si=Reply.json('{"data": NaN}'))
    assert_refused(
        db_url,
        run(db_url, url),
        "nothing usable, nothing stored",
        "vehicle_status: HTTP 404",
        "system_information: body is not JSON",
    )


def test_a_partly_usable_source_is_stored_with_its_failures_on_record(
    db_url: str, server: LocalHTTPServer
) -> None:
    url = publish(server, Reply.json(bikes()), si=Reply(status=503))
    result = run(db_url, url, "--operator", "velo")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["files"], summary["files_ok"], summary["vehicles_stored"]) == (2, 1, 4)
    assert summary["outcomes"] == {"ok": 1, "error": 1}
    assert len(server.requests_for("/fbs.json")) == 1, "the checked fetch is the one stored"
    written = counts(db_url)
    assert (written["operator"], written["feed"], written["feed_fetch"]) == (1, 2, 2)
    assert written["outage"] == 1  # system_information: unavailable


def test_local_files_over_the_size_limit(db_url: str, tmp_path: Path) -> None:
    """A local file over ``ingest.max_decoded_mb`` is not read: alone it is nothing
    usable; beside a good file it is a failed fetch on record."""
    big = tmp_path / "station_information.json"
    big.write_text(doc({"stations": [{"station_id": "s", "name": "x" * 3000}]}))
    env = {"DATABASE_URL": db_url, "FLEET_CONFIG": None, "FLEET__INGEST__MAX_DECODED_MB": "0.002"}
    result = CliRunner().invoke(cli, ["ingest", str(tmp_path), "--json"], env=env)
    assert_refused(db_url, result, "station_information.json: file of", "exceeds the limit of 2097")
    (tmp_path / "free_bike_status.json").write_text(bikes())
    result = CliRunner().invoke(cli, ["ingest", str(tmp_path), "--json"], env=env)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["outcomes"] == {"ok": 1, "error": 1} and summary["vehicles_stored"] == 4
    engine = create_engine(db_url)
    try:
        with engine.connect() as c:
            failed = c.execute(
                text("SELECT outcome, error_kind, source FROM feed_fetch WHERE outcome <> 'ok'")
            ).one()
    finally:
        engine.dispose()
    assert tuple(failed) == ("error", "too_large", "file")


def test_an_unreachable_database_exits_3_after_the_checks(server: LocalHTTPServer) -> None:
    url = publish(server, Reply.json(bikes()))
    env = {
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:9/nowhere",
        "FLEET_CONFIG": None,
        "FLEET__INGEST__ALLOWED_PRIVATE_HOSTS": '["127.0.0.1"]',
    }
    result = CliRunner().invoke(cli, ["ingest", url], env=env)
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith("fleet-monitor: database unreachable: ")
    assert server.requests_for("/fbs.json"), "the source was checked first"
