"""Feed credentials go only to the origins they are bound to, and are never shown.

Two local HTTP servers on different ports are two origins: A publishes the
operator's discovery file, B is somewhere else. B must never receive a
credential, whether the discovery file is redirected to B or lists feeds on B,
unless the operator's ``credential_hosts`` names B.
"""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from fleet_monitor.settings import ConfigError, settings_from_dict
from gbfs_ingest.auth import DEFAULT_TOKEN_CACHE, FeedAuth
from gbfs_ingest.config import IngestSettings, OperatorSettings
from gbfs_ingest.model import FeedType
from gbfs_ingest.pipeline import DiscoveryError, Ingestor
from tests.httpserver import LocalHTTPServer, RecordedRequest, Reply

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
SECRET = "s3cret-SUPERSECRET"
CLIENT_SECRET = "client-SUPERSECRET"
SETTINGS = IngestSettings(allowed_private_hosts=("127.0.0.1",))


def doc(data: dict[str, Any]) -> str:
    return json.dumps(
        {"last_updated": int(NOW.timestamp()), "ttl": 0, "version": "2.3", "data": data}
    )


def discovery(feeds: dict[str, str]) -> Reply:
    listed = [{"name": name, "url": url} for name, url in feeds.items()]
    return Reply.json(doc({"fr": {"feeds": listed}}))


def split_discovery(a: LocalHTTPServer, b: LocalHTTPServer) -> Reply:
    """A discovery file listing system_information on A and free_bike_status on B."""
    return discovery(
        {"system_information": a.url("/si.json"), "free_bike_status": b.url("/fbs.json")}
    )


SYSTEM = doc({"system_id": "op", "language": "fr", "name": "Op", "timezone": "Europe/Paris"})
BIKES = doc(
    {
        "bikes": [
            {"bike_id": f"b{i}", "lat": 45.9, "lon": 6.1 + i / 1000, "is_reserved": False}
            | {"is_disabled": False}
            for i in range(5)
        ]
    }
)


def serve_feeds(server: LocalHTTPServer) -> None:
    server.route("/si.json", Reply.json(SYSTEM))
    server.route("/fbs.json", Reply.json(BIKES))


@pytest.fixture
def origin_a() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as server:
        serve_feeds(server)
        yield server


@pytest.fixture
def origin_b() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as server:
        serve_feeds(server)
        yield server


def token_endpoint(server: LocalHTTPServer) -> None:
    def token(request: RecordedRequest) -> Reply:
        expected = "Basic " + base64.b64encode(f"client-1:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return Reply(status=401)
        return Reply.json(json.dumps({"access_token": SECRET, "token_type": "Bearer"}))

    server.route("/token", token)


def auth_of(kind: str, a: LocalHTTPServer) -> FeedAuth:
    if kind == "bearer":
        return FeedAuth.bearer(SECRET)
    if kind == "basic":
        return FeedAuth.basic("city", SECRET)
    if kind == "header":
        return FeedAuth.header("X-Api-Key", SECRET)
    token_endpoint(a)
    return FeedAuth.oauth2_client_credentials(a.url("/token"), "client-1", CLIENT_SECRET)


KINDS = ["bearer", "basic", "header", "oauth2"]


def carries_credentials(request: RecordedRequest) -> bool:
    """Whether a request carries any form of the secret."""
    encoded = base64.b64encode(f"city:{SECRET}".encode()).decode()
    return any(
        SECRET in value or encoded in value or CLIENT_SECRET in value
        for value in request.headers.values()
    ) or (SECRET.encode() in request.body or CLIENT_SECRET.encode() in request.body)


def ingest_all(engine: Any, op: OperatorSettings) -> dict[FeedType, str]:
    ingestor = Ingestor(engine, SETTINGS, clock=lambda: NOW)
    try:
        feed_ids = ingestor.discover(op).feed_ids
        return {ft: ingestor.poll(fid, op.auth).outcome for ft, fid in feed_ids.items()}
    finally:
        ingestor.close()


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    DEFAULT_TOKEN_CACHE.clear()
    yield
    DEFAULT_TOKEN_CACHE.clear()


@pytest.mark.parametrize("kind", KINDS)
def test_feeds_listed_on_another_origin_get_no_credentials(
    engine: Any, origin_a: LocalHTTPServer, origin_b: LocalHTTPServer, kind: str
) -> None:
    origin_a.route("/gbfs.json", split_discovery(origin_a, origin_b))
    op = OperatorSettings("op", "Op", origin_a.url("/gbfs.json"), auth=auth_of(kind, origin_a))
    outcomes = ingest_all(engine, op)
    assert outcomes == {FeedType.SYSTEM_INFORMATION: "ok", FeedType.VEHICLE_STATUS: "ok"}
    assert origin_b.requests_for("/fbs.json"), "the feed on B was fetched"
    assert not any(carries_credentials(r) for r in origin_b.requests)
    for path in ("/gbfs.json", "/si.json"):
        assert all(carries_credentials(r) for r in origin_a.requests_for(path)), path


@pytest.mark.parametrize("kind", KINDS)
def test_a_discovery_file_redirected_to_another_origin_gets_no_credentials(
    engine: Any, origin_a: LocalHTTPServer, origin_b: LocalHTTPServer, kind: str
) -> None:
    origin_a.route("/gbfs.json", Reply.redirect(origin_b.url("/gbfs.json")))
    origin_b.route("/gbfs.json", split_discovery(origin_a, origin_b))
    op = OperatorSettings("op", "Op", origin_a.url("/gbfs.json"), auth=auth_of(kind, origin_a))
    assert set(ingest_all(engine, op).values()) == {"ok"}
    assert origin_b.requests_for("/gbfs.json") and origin_b.requests_for("/fbs.json")
    assert not any(carries_credentials(r) for r in origin_b.requests)
    # the feed on the configured origin still gets them
    assert all(carries_credentials(r) for r in origin_a.requests_for("/si.json"))


def test_a_redirect_from_a_feed_to_another_origin_gets_no_credentials(
    engine: Any, origin_a: LocalHTTPServer, origin_b: LocalHTTPServer
) -> None:
    origin_a.route("/gbfs.json", discovery({"free_bike_status": origin_a.url("/fbs.json")}))
    origin_a.route("/fbs.json", Reply.redirect(origin_b.url("/fbs.json"), status=307))
    op = OperatorSettings("op", "Op", origin_a.url("/gbfs.json"), auth=FeedAuth.bearer(SECRET))
    assert ingest_all(engine, op) == {FeedType.VEHICLE_STATUS: "ok"}
    assert carries_credentials(origin_a.requests_for("/fbs.json")[0])
    assert origin_b.requests_for("/fbs.json")
    assert not any(carries_credentials(r) for r in origin_b.requests)


def test_credential_hosts_extend_the_binding(
    engine: Any, origin_a: LocalHTTPServer, origin_b: LocalHTTPServer
) -> None:
    origin_a.route("/gbfs.json", split_discovery(origin_a, origin_b))
    settings = settings_from_dict(
        {
            "operators": [
                {
                    "slug": "op",
                    "name": "Op",
                    "discovery_url": origin_a.url("/gbfs.json"),
                    "credential_hosts": [origin_b.base_url],
                    "auth": {"kind": "bearer", "token_env": "OP_TOKEN"},
                }
            ]
        },
        env={"OP_TOKEN": SECRET},
    )
    (op,) = settings.operators
    assert set(ingest_all(engine, op).values()) == {"ok"}
    assert all(carries_credentials(r) for r in origin_b.requests_for("/fbs.json"))


def test_credentials_given_to_a_poll_unbound_stay_with_the_discovery_origin(
    engine: Any, origin_a: LocalHTTPServer, origin_b: LocalHTTPServer
) -> None:
    origin_a.route("/gbfs.json", split_discovery(origin_a, origin_b))
    ingestor = Ingestor(engine, SETTINGS, clock=lambda: NOW)
    try:
        op = OperatorSettings("op", "Op", origin_a.url("/gbfs.json"))
        feed_ids = ingestor.discover(op).feed_ids
        unbound = FeedAuth.bearer(SECRET)
        assert unbound.origins is None
        for fid in feed_ids.values():
            assert ingestor.poll(fid, unbound).outcome == "ok"
    finally:
        ingestor.close()
    assert carries_credentials(origin_a.requests_for("/si.json")[0])
    assert not any(carries_credentials(r) for r in origin_b.requests)


def test_a_cli_url_elsewhere_does_not_take_a_configured_operators_credentials(
    origin_a: LocalHTTPServer, origin_b: LocalHTTPServer
) -> None:
    """``fleet-monitor ingest URL --operator op`` with a URL on another origin than
    the configured one: the credentials stay bound to the configured origin."""
    import dataclasses

    op = OperatorSettings("op", "Op", origin_a.url("/gbfs.json"), auth=FeedAuth.bearer(SECRET))
    moved = dataclasses.replace(op, discovery_url=origin_b.url("/gbfs.json"))
    assert moved.auth.origins == op.auth.origins == (("http", "127.0.0.1", origin_a.port),)


# --------------------------------------------------------------------------- never shown


def config_error(raw_operator: dict[str, Any]) -> ConfigError:
    base = {"slug": "op", "name": "Op", "discovery_url": "https://gbfs.op.example/gbfs.json"}
    with pytest.raises(ConfigError) as caught:
        settings_from_dict({"operators": [base | raw_operator]}, env={"T": "x"})
    return caught.value


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"discovery_url": f"https://city:{SECRET}@gbfs.op.example/gbfs.json"}, "discovery_url"),
        ({"discovery_url": f"https://{SECRET}@gbfs.op.example/gbfs.json"}, "discovery_url"),
        (
            {
                "auth": {
                    "kind": "oauth2_client_credentials",
                    "token_url": f"https://id:{SECRET}@id.op.example/token",
                    "client_id": "c",
                    "client_secret_env": "T",
                }
            },
            "auth.token_url",
        ),
        ({"credential_hosts": [f"https://u:{SECRET}@files.op.example"]}, "credential_hosts[0]"),
    ],
    ids=["user and password", "token as user", "token_url", "credential host"],
)
def test_urls_with_credentials_are_refused_by_the_settings(raw: dict[str, Any], key: str) -> None:
    error = config_error(raw)
    assert error.key == f"operators[0].{key}"
    assert "credentials (user:password@)" in str(error)
    assert SECRET not in str(error)


@pytest.mark.parametrize(
    "host",
    [
        "files.op.example",
        "https://files.op.example/feeds/",
        "ftp://files.op.example",
        "https://f?x",
    ],
)
def test_credential_hosts_must_be_origins(host: str) -> None:
    error = config_error({"credential_hosts": [host]})
    assert error.key == "operators[0].credential_hosts[0]" and "origin" in error.problem


def test_config_check_exits_2_naming_the_key_without_the_secret(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        "[[operators]]\n"
        'slug = "op"\nname = "Op"\n'
        f'discovery_url = "https://city:{SECRET}@gbfs.op.example/gbfs.json"\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "fleet_monitor.cli", "--config", str(config), "config", "check"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "", "FLEET_CONFIG": str(config)},
    )
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "operators[0].discovery_url" in line and "credentials" in line
    assert SECRET not in proc.stderr + proc.stdout


def test_url_credentials_from_a_feed_are_never_stored_or_logged(
    engine: Any,
    origin_a: LocalHTTPServer,
    origin_b: LocalHTTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.WARNING, logger="httpcore")  # as the CLI sets it (raw headers)
    with_userinfo = origin_b.url("/fbs.json").replace("://", f"://city:{SECRET}@")
    origin_a.route(
        "/gbfs.json",
        discovery(
            {
                "free_bike_status": origin_a.url("/fbs.json"),
                "station_information": with_userinfo,  # refused by the boundary
            }
        ),
    )
    origin_a.route("/fbs.json", Reply.redirect(with_userinfo))  # refused by the fetch
    op = OperatorSettings("op", "Op", origin_a.url("/gbfs.json"))
    assert ingest_all(engine, op) == {FeedType.VEHICLE_STATUS: "error"}
    assert origin_b.requests == []
    with engine.connect() as c:
        stored = c.execute(
            text(
                "SELECT string_agg(coalesce(f.error, '') || coalesce(f.findings::text, '')"
                " || coalesce(o.detail, '') || feed.url, ' ')"
                " FROM feed_fetch f JOIN feed ON feed.id = f.feed_id"
                " LEFT JOIN outage o ON o.feed_id = f.feed_id"
            )
        ).scalar()
        urls = c.execute(text("SELECT string_agg(url, ' ') FROM feed")).scalar()
    assert "embedded credentials" in stored
    assert SECRET not in stored and SECRET not in urls and SECRET not in caplog.text


def test_a_discovery_url_with_credentials_is_not_echoed(engine: Any) -> None:
    """Settings refuse such a URL; an OperatorSettings made in code is refused by
    the fetch, and the error names the URL redacted."""
    op = OperatorSettings("op", "Op", f"https://city:{SECRET}@127.0.0.1:9/gbfs.json")
    ingestor = Ingestor(engine, SETTINGS)
    try:
        with pytest.raises(DiscoveryError) as caught:
            ingestor.discover(op)
    finally:
        ingestor.close()
    assert "embedded credentials" in str(caught.value) and SECRET not in str(caught.value)
