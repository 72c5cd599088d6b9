"""The fetch stage against a real local HTTP server (127.0.0.1 only)."""

from __future__ import annotations

import base64
import gzip
import json
import logging
import shutil
import ssl
import subprocess
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpcore
import httpx
import pytest

from gbfs_ingest import auth as auth_module
from gbfs_ingest.auth import AuthError, FeedAuth, Secret, redact_url
from gbfs_ingest.fetch import FetchPolicy, FetchResult, fetch, make_client, parse_retry_after
from tests.httpserver import LocalHTTPServer, RecordedRequest, Reply

LOCAL = FetchPolicy(
    allowed_hosts_private=["127.0.0.1"], connect_timeout=2.0, read_timeout=2.0, deadline=5.0
)
FEED = '{"last_updated": 1700000000, "ttl": 0, "data": {"bikes": []}}'


@pytest.fixture(autouse=True)
def only_loopback_connections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Safety net: fail any test that would open a socket to anything but 127.0.0.1."""
    seen: list[str] = []
    real = httpcore.SyncBackend.connect_tcp

    def spy(self: Any, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        seen.append(host)
        assert host == "127.0.0.1", f"attempted connection to {host}"
        return real(self, host, port, *args, **kwargs)

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", spy)
    return seen


@pytest.fixture(autouse=True)
def fresh_token_cache() -> Iterator[None]:
    auth_module.DEFAULT_TOKEN_CACHE.clear()
    yield
    auth_module.DEFAULT_TOKEN_CACHE.clear()


@pytest.fixture
def server() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as srv:
        yield srv


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_client(LOCAL) as shared:
        yield shared


def get(url: str, **kwargs: Any) -> FetchResult:
    kwargs.setdefault("policy", LOCAL)
    return fetch(url, **kwargs)


# -- conditional requests, encodings -----------------------------------------------------


def test_etag_then_304(server: LocalHTTPServer, client: httpx.Client) -> None:
    def handler(request: RecordedRequest) -> Reply:
        if request.headers.get("if-none-match") == '"v1"':
            return Reply(status=304, headers={"ETag": '"v1"'})
        return Reply.json(FEED, headers={"ETag": '"v1"'})

    server.route("/free_bike_status.json", handler)
    url = server.url("/free_bike_status.json")
    first = get(url, client=client)
    assert first.ok and first.status == 200 and not first.not_modified
    assert first.body == FEED.encode() and first.etag == '"v1"'
    assert first.content_type == "application/json" and first.final_url == url
    assert first.error_kind is None and not first.transient and first.latency_ms > 0

    second = get(url, client=client, etag=first.etag)
    assert second.status == 304 and second.not_modified and second.ok
    assert second.body is None and second.etag == '"v1"'
    sent = server.requests_for("/free_bike_status.json")
    assert "if-none-match" not in sent[0].headers
    assert sent[1].headers["if-none-match"] == '"v1"'
    assert sent[1].headers["user-agent"] == LOCAL.user_agent


def test_last_modified_conditional(server: LocalHTTPServer) -> None:
    stamp = "Wed, 01 Jan 2025 10:00:00 GMT"

    def handler(request: RecordedRequest) -> Reply:
        if request.headers.get("if-modified-since") == stamp:
            return Reply(status=304)
        return Reply.json(FEED, headers={"Last-Modified": stamp})

    server.route("/f.json", handler)
    first = get(server.url("/f.json"))
    assert first.ok and first.last_modified == stamp and first.etag is None
    second = get(server.url("/f.json"), last_modified=first.last_modified)
    assert second.not_modified and second.last_modified == stamp  # kept from the request


def test_hostile_validators_are_not_resent(server: LocalHTTPServer) -> None:
    server.route("/f.json", Reply.json(FEED, headers={"ETag": "x" * 5000}))
    assert get(server.url("/f.json")).etag is None
    get(server.url("/f.json"), etag="bad\r\nX-Injected: 1")
    assert "if-none-match" not in server.requests[-1].headers


def test_gzip_body(server: LocalHTTPServer) -> None:
    body = FEED * 200
    server.route("/f.json", Reply.json(body, gzip=True))
    result = get(server.url("/f.json"))
    assert result.ok and result.body == body.encode()
    assert 0 < result.wire_bytes < len(body) / 5
    assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
def test_deflate_body_both_flavours(server: LocalHTTPServer, wbits: int) -> None:
    packer = zlib.compressobj(wbits=wbits)
    data = packer.compress(FEED.encode()) + packer.flush()
    server.route("/f.json", Reply(body=data, headers={"Content-Encoding": "deflate"}))
    assert get(server.url("/f.json")).body == FEED.encode()


def test_multi_member_gzip(server: LocalHTTPServer) -> None:
    data = gzip.compress(b'{"a": ') + gzip.compress(b"1}")
    server.route("/f.json", Reply(body=data, headers={"Content-Encoding": "gzip"}))
    assert get(server.url("/f.json")).body == b'{"a": 1}'


@pytest.mark.parametrize(
    ("body", "encoding", "message"),
    [
        (b"this is not gzip at all", "gzip", "invalid gzip data"),
        (gzip.compress(FEED.encode(), mtime=0)[:-12], "gzip", "truncated"),
        (b"{}", "br", "unsupported Content-Encoding 'br'"),
        (b"{}", "gzip, gzip", "stacked"),
    ],
    # Explicit ids: pytest-xdist requires every worker to collect the same
    # test names, and a body-derived id must never depend on the clock.
    ids=["not-gzip", "truncated-gzip", "brotli", "stacked-gzip"],
)
def test_undecodable_bodies(
    server: LocalHTTPServer, body: bytes, encoding: str, message: str
) -> None:
    server.route("/f.json", Reply(body=body, headers={"Content-Encoding": encoding}))
    result = get(server.url("/f.json"))
    assert not result.ok and result.error_kind == "decode" and message in (result.error or "")
    assert result.body is None and not result.transient


# -- limits --------------------------------------------------------------------------------


def test_gzip_bomb_refused_without_inflating_it(server: LocalHTTPServer) -> None:
    bomb = gzip.compress(bytes(10 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 20_000
    server.route("/bomb.json", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    policy = FetchPolicy(allowed_hosts_private=["127.0.0.1"], max_decoded_bytes=1024 * 1024)
    tracemalloc.start()
    try:
        result = get(server.url("/bomb.json"), policy=policy)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.error_kind == "too_large" and "decoded body exceeds" in (result.error or "")
    assert result.body is None and not result.transient
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes: the bomb was inflated"


def test_body_over_limit_by_content_length(server: LocalHTTPServer) -> None:
    server.route("/big.json", Reply(body=b"x" * 50_000))
    policy = FetchPolicy(allowed_hosts_private=["127.0.0.1"], max_body_bytes=10_000)
    result = get(server.url("/big.json"), policy=policy)
    assert result.error_kind == "too_large" and "Content-Length 50000" in (result.error or "")
    assert result.wire_bytes == 0 and not result.transient and result.status == 200


def test_body_over_limit_chunked_without_length(server: LocalHTTPServer) -> None:
    server.route("/big.json", Reply(body=b"x" * (2 * 1024 * 1024), chunked=True))
    policy = FetchPolicy(allowed_hosts_private=["127.0.0.1"], max_body_bytes=64 * 1024)
    result = get(server.url("/big.json"), policy=policy)
    assert result.error_kind == "too_large" and result.body is None
    assert 64 * 1024 < result.wire_bytes <= 64 * 1024 + 65536  # stopped within one read


def test_identity_body_over_decoded_limit(server: LocalHTTPServer) -> None:
    server.route("/big.json", Reply(body=b"x" * 5000, chunked=True))
    policy = FetchPolicy(allowed_hosts_private=["127.0.0.1"], max_decoded_bytes=1000)
    assert get(server.url("/big.json"), policy=policy).error_kind == "too_large"


def test_truncated_body(server: LocalHTTPServer) -> None:
    server.route("/f.json", Reply(body=FEED[:20], content_length=len(FEED)))
    result = get(server.url("/f.json"))
    assert not result.ok and result.error_kind == "protocol" and result.transient
    assert result.body is None and "reading http://127.0.0.1" in (result.error or "")


# -- timeouts and HTTP errors ----------------------------------------------------------


def test_read_timeout(server: LocalHTTPServer) -> None:
    server.route("/slow.json", Reply.json(FEED, delay_s=3.0))
    policy = FetchPolicy(allowed_hosts_private=["127.0.0.1"], read_timeout=0.3)
    started = time.monotonic()
    result = get(server.url("/slow.json"), policy=policy)
    assert time.monotonic() - started < 1.5
    assert result.error_kind == "timeout" and result.transient and result.status is None


def test_total_deadline_against_a_trickling_server(server: LocalHTTPServer) -> None:
    server.route("/drip.json", Reply(body=[b"x"] * 50, chunked=True, chunk_delay_s=0.05))
    policy = FetchPolicy(allowed_hosts_private=["127.0.0.1"], read_timeout=1.0, deadline=0.5)
    started = time.monotonic()
    result = get(server.url("/drip.json"), policy=policy)
    assert result.error_kind == "timeout" and "deadline" in (result.error or "")
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize(
    ("status", "transient"), [(500, True), (502, True), (404, False), (403, False), (410, False)]
)
def test_http_errors(server: LocalHTTPServer, status: int, transient: bool) -> None:
    server.route("/f.json", Reply(status=status, body=b"nope"))
    result = get(server.url("/f.json"))
    assert not result.ok and result.status == status and result.error_kind == "http_status"
    assert result.transient is transient and result.body is None
    assert f"HTTP {status}" in (result.error or "")


def test_connection_refused() -> None:
    with LocalHTTPServer() as gone:
        url = gone.url("/f.json")
    result = get(url)
    assert result.error_kind == "connect" and result.transient


def test_429_retry_after_seconds(server: LocalHTTPServer) -> None:
    server.route("/f.json", Reply(status=429, headers={"Retry-After": "120"}))
    result = get(server.url("/f.json"))
    assert result.error_kind == "http_status" and result.transient
    assert result.retry_after_s == 120.0


def test_503_retry_after_http_date(server: LocalHTTPServer) -> None:
    when = datetime.now(UTC) + timedelta(seconds=90)
    server.route("/f.json", Reply(status=503, headers={"Retry-After": format_datetime(when, True)}))
    result = get(server.url("/f.json"))
    assert result.status == 503 and result.transient
    assert result.retry_after_s is not None and 85 <= result.retry_after_s <= 91


def test_parse_retry_after_edge_cases() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None
    assert parse_retry_after("99999999999") == 24 * 3600.0
    assert parse_retry_after("Tue, 31 Dec 2024 23:00:00 GMT", now) == 0.0
    assert parse_retry_after("Wed, 01 Jan 2025 00:01:00 GMT", now) == 60.0


# -- redirects -------------------------------------------------------------------------


def test_redirects_are_followed_up_to_the_limit(server: LocalHTTPServer) -> None:
    server.route("/r1", Reply.redirect("/r2", 301))
    server.route("/r2", Reply.redirect(server.url("/r3"), 307))
    server.route("/r3", Reply.redirect("/final.json#frag", 308))
    server.route("/final.json", Reply.json(FEED))
    result = get(server.url("/r1"))
    assert result.ok and result.body == FEED.encode()
    assert result.url == server.url("/r1") and result.final_url == server.url("/final.json")

    strict = FetchPolicy(allowed_hosts_private=["127.0.0.1"], max_redirects=2)
    too_many = get(server.url("/r1"), policy=strict)
    assert too_many.error_kind == "too_many_redirects" and not too_many.transient
    assert len(server.requests_for("/final.json")) == 1


def test_redirect_loop(server: LocalHTTPServer) -> None:
    server.route("/a", Reply.redirect("/b"))
    server.route("/b", Reply.redirect("/a"))
    result = get(server.url("/a"))
    assert result.error_kind == "too_many_redirects" and "loop" in (result.error or "")
    assert len(server.requests) == 2


def test_redirect_without_location(server: LocalHTTPServer) -> None:
    server.route("/a", Reply(status=302))
    result = get(server.url("/a"))
    assert result.error_kind == "http_status" and result.status == 302


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/gbfs.json",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/",
        "http://[::ffff:192.168.0.1]/",
        "file:///etc/passwd",
        "http://127.0.0.2/",
    ],
)
def test_redirect_to_a_forbidden_address_is_refused_before_connecting(
    server: LocalHTTPServer, only_loopback_connections: list[str], target: str
) -> None:
    server.route("/go", Reply.redirect(target))
    result = get(server.url("/go"), auth=FeedAuth.bearer("tok-123456"))
    assert result.error_kind == "blocked_address" and not result.transient
    assert result.final_url.startswith(target.split("/", 3)[0])
    assert set(only_loopback_connections) == {"127.0.0.1"}


def test_credentials_are_not_sent_to_another_origin(server: LocalHTTPServer) -> None:
    with LocalHTTPServer() as other:
        other.route("/f.json", Reply.json(FEED))
        server.route("/go", Reply.redirect(other.url("/f.json")))
        result = get(server.url("/go"), auth=FeedAuth.bearer("tok-123456"))
        assert result.ok
        assert server.requests[0].headers["authorization"] == "Bearer tok-123456"
        assert "authorization" not in other.requests[0].headers


# -- network policy ----------------------------------------------------------------------


def test_loopback_refused_by_default(server: LocalHTTPServer) -> None:
    server.route("/f.json", Reply.json(FEED))
    result = fetch(server.url("/f.json"), policy=FetchPolicy())
    assert result.error_kind == "blocked_address" and "loopback" in (result.error or "")
    assert server.requests == []


@pytest.mark.parametrize(
    "policy",
    [
        FetchPolicy(allowed_hosts_private=["127.0.0.1"]),
        FetchPolicy(allowed_hosts_private=["127.0.0.0/8"]),
        FetchPolicy(allow_private_networks=True),
    ],
)
def test_loopback_allowed_by_policy(server: LocalHTTPServer, policy: FetchPolicy) -> None:
    server.route("/f.json", Reply.json(FEED))
    assert fetch(server.url("/f.json"), policy=policy).ok


def test_environment_proxies_are_ignored(
    server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://10.9.9.9:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    server.route("/f.json", Reply.json(FEED))
    with make_client(LOCAL) as shared:
        assert get(server.url("/f.json"), client=shared).ok


def test_cookies_are_not_kept(server: LocalHTTPServer, client: httpx.Client) -> None:
    server.route("/f.json", Reply.json(FEED, headers={"Set-Cookie": "session=abc; Path=/"}))
    get(server.url("/f.json"), client=client)
    get(server.url("/f.json"), client=client)
    assert "cookie" not in server.requests[1].headers


def test_shared_client_from_many_threads(server: LocalHTTPServer, client: httpx.Client) -> None:
    server.route("/f.json", Reply.json(FEED, delay_s=0.02))
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: get(server.url("/f.json"), client=client), range(48)))
    assert all(r.ok and r.body == FEED.encode() for r in results)


# -- TLS -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not available")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_server(tls_files: tuple[Path, Path]) -> Iterator[LocalHTTPServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls_files)
    with LocalHTTPServer(ssl_context=context) as srv:
        srv.route("/f.json", Reply.json(FEED))
        yield srv


def test_untrusted_certificate_is_a_tls_error(tls_server: LocalHTTPServer) -> None:
    result = get(tls_server.url("/f.json"))
    assert result.error_kind == "tls" and not result.transient
    assert "CERTIFICATE_VERIFY_FAILED" in (result.error or "")


def test_tls_with_pinned_address_keeps_sni_and_hostname_check(
    tls_server: LocalHTTPServer, tls_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files[0]))  # trust our CA for this client
    policy = FetchPolicy(allowed_hosts_private=["localhost", "127.0.0.1"])
    with make_client(policy) as shared:
        named = get(f"https://localhost:{tls_server.port}/f.json", policy=policy, client=shared)
        by_ip = get(tls_server.url("/f.json"), policy=policy, client=shared)
    assert named.ok and named.body == FEED.encode()
    assert by_ip.error_kind == "tls"  # certificate is for "localhost", not 127.0.0.1


# -- authentication ------------------------------------------------------------------------


def _requires(header: str, expected: str) -> Any:
    def handler(request: RecordedRequest) -> Reply:
        if request.headers.get(header.lower()) == expected:
            return Reply.json(FEED)
        return Reply(status=401, headers={"WWW-Authenticate": "Bearer"})

    return handler


@pytest.mark.parametrize(
    ("auth", "header", "expected"),
    [
        (FeedAuth.bearer("tok-abcdef"), "Authorization", "Bearer tok-abcdef"),
        (
            FeedAuth.basic("city", "pa:ss-wörd"),
            "Authorization",
            "Basic " + base64.b64encode("city:pa:ss-wörd".encode()).decode(),
        ),
        (FeedAuth.header("X-Api-Key", "key-123456"), "X-Api-Key", "key-123456"),
    ],
    ids=["bearer", "basic", "header"],
)
def test_static_auth(server: LocalHTTPServer, auth: FeedAuth, header: str, expected: str) -> None:
    server.route("/f.json", _requires(header, expected))
    anonymous = get(server.url("/f.json"))
    assert anonymous.status == 401 and anonymous.error_kind == "http_status"
    assert not anonymous.transient
    assert "authorization" not in server.requests[0].headers
    assert get(server.url("/f.json"), auth=auth).ok


def test_wrong_credentials_give_401(server: LocalHTTPServer) -> None:
    server.route("/f.json", _requires("Authorization", "Bearer right-token"))
    result = get(server.url("/f.json"), auth=FeedAuth.bearer("wrong-token"))
    assert result.status == 401 and result.error_kind == "http_status" and not result.transient
    assert len(server.requests) == 1  # static credentials: no retry


class TokenEndpoint:
    """A local OAuth2 token endpoint and a feed that accepts only its latest token."""

    def __init__(self, server: LocalHTTPServer, expires_in: Any = 3600) -> None:
        self.issued = 0
        self.expires_in = expires_in
        self.lock = threading.Lock()
        server.route("/token", self.token)
        server.route("/f.json", self.feed)

    @property
    def current(self) -> str:
        return f"access-{self.issued}"

    def token(self, request: RecordedRequest) -> Reply:
        expected = "Basic " + base64.b64encode(b"client-1:client%2Fsecret%3A1").decode()
        form = parse_qs(request.body.decode())
        if request.headers.get("authorization") != expected or form != {
            "grant_type": ["client_credentials"],
            "scope": ["gbfs:read"],
        }:
            return Reply(status=400, body=b'{"error": "invalid_client"}')
        with self.lock:
            self.issued += 1
            time.sleep(0.01)
            body = {"access_token": self.current, "token_type": "Bearer"}
            if self.expires_in is not None:
                body["expires_in"] = self.expires_in
        return Reply.json(json.dumps(body))

    def feed(self, request: RecordedRequest) -> Reply:
        if request.headers.get("authorization") == f"Bearer {self.current}":
            return Reply.json(FEED)
        return Reply(status=401)

    def revoke(self) -> None:
        self.issued += 1  # the feed now wants a token it has not handed out yet


def oauth(server: LocalHTTPServer, secret: str = "client/secret:1") -> FeedAuth:
    return FeedAuth.oauth2_client_credentials(server.url("/token"), "client-1", secret, "gbfs:read")


def test_oauth2_token_is_cached_and_refreshed_on_401(
    server: LocalHTTPServer, client: httpx.Client
) -> None:
    endpoint = TokenEndpoint(server)
    auth = oauth(server)
    assert get(server.url("/f.json"), auth=auth, client=client).ok
    assert get(server.url("/f.json"), auth=auth, client=client).ok
    assert endpoint.issued == 1  # cached
    endpoint.revoke()
    refreshed = get(server.url("/f.json"), auth=auth, client=client)
    assert refreshed.ok and endpoint.issued == 3
    assert refreshed.wire_bytes == len(FEED)  # the token response is not counted
    assert len(server.requests_for("/f.json")) == 4


def test_oauth2_refreshes_only_once(server: LocalHTTPServer) -> None:
    TokenEndpoint(server)
    server.route("/f.json", Reply(status=401))
    result = get(server.url("/f.json"), auth=oauth(server))
    assert result.error_kind == "http_status" and result.status == 401
    assert len(server.requests_for("/token")) == 2 and len(server.requests_for("/f.json")) == 2


def test_oauth2_token_refreshed_shortly_before_expiry(
    server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = TokenEndpoint(server, expires_in="100")  # a string, as some servers send
    now = [1000.0]
    monkeypatch.setattr(auth_module.DEFAULT_TOKEN_CACHE, "clock", lambda: now[0])
    auth = oauth(server)
    assert get(server.url("/f.json"), auth=auth).ok
    now[0] += 75  # 100 s lifetime, refreshed 20 s early
    assert get(server.url("/f.json"), auth=auth).ok and endpoint.issued == 1
    now[0] += 6
    assert get(server.url("/f.json"), auth=auth).ok and endpoint.issued == 2


def test_oauth2_one_token_request_for_concurrent_fetches(
    server: LocalHTTPServer, client: httpx.Client
) -> None:
    endpoint = TokenEndpoint(server)
    auth = oauth(server)
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(lambda _: get(server.url("/f.json"), auth=auth, client=client), range(16))
        )
    assert all(r.ok for r in results) and endpoint.issued == 1


@pytest.mark.parametrize(
    ("reply", "transient", "message"),
    [
        (Reply(status=400, body=b'{"error": "invalid_client"}'), False, "HTTP 400"),
        (Reply(status=503), True, "HTTP 503"),
        (Reply.json('{"token_type": "Bearer"}'), False, "no access_token"),
        (Reply.json('{"access_token": "x", "token_type": "mac"}'), False, "token_type"),
        (Reply.json("not json"), False, "invalid JSON"),
        (Reply.redirect("/elsewhere"), False, "redirects are not followed"),
        (Reply.redirect("http://169.254.169.254/"), False, "HTTP 302"),
    ],
)
def test_oauth2_token_endpoint_failures(
    server: LocalHTTPServer, reply: Reply, transient: bool, message: str
) -> None:
    server.route("/token", reply)
    server.route("/f.json", Reply.json(FEED))
    result = get(server.url("/f.json"), auth=oauth(server))
    assert result.error_kind == "auth" and result.transient is transient
    assert message in (result.error or "") and "OAuth2 token" in (result.error or "")
    assert server.requests_for("/f.json") == []


def test_oauth2_token_url_is_guarded(server: LocalHTTPServer) -> None:
    auth = FeedAuth.oauth2_client_credentials("http://10.1.1.1/token", "id", "secret-value")
    server.route("/f.json", Reply.json(FEED))
    result = get(server.url("/f.json"), auth=auth)
    assert result.error_kind == "auth" and "private" in (result.error or "")


# -- secrets ---------------------------------------------------------------------------


def test_secret_wrapper() -> None:
    secret = Secret("hunter2-password")
    for shown in (repr(secret), str(secret), f"{secret}", f"{secret!r}", "{}".format(secret)):  # noqa: UP032
        assert "hunter2" not in shown
    assert secret.reveal() == "hunter2-password"
    assert secret == Secret("hunter2-password") and secret != Secret("other")
    assert len({secret, Secret("hunter2-password")}) == 1


@pytest.mark.parametrize("value", ["abc-secret\r\nX-Evil: 1", "abc-secret-é", "abc-secret\0"])
def test_invalid_secret_errors_do_not_echo_it(value: str) -> None:
    for build in (FeedAuth.bearer, lambda v: FeedAuth.header("X-Key", v)):
        with pytest.raises(AuthError) as info:
            build(value)
        assert "abc-secret" not in str(info.value)


def test_redact_url() -> None:
    url = "https://u:p@feeds.example/gbfs.json?key=K123&lang=fr&access_token=T9"
    shown = redact_url(url)
    assert "K123" not in shown and "T9" not in shown and "u:p" not in shown
    assert "lang=fr" in shown and "feeds.example/gbfs.json" in shown


def test_secrets_never_shown(server: LocalHTTPServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    TokenEndpoint(server)
    secrets = ["tok-SUPERSECRET", "pw-SUPERSECRET", "hdr-SUPERSECRET", "client/secret:1"]
    auths = [
        FeedAuth.bearer(secrets[0]),
        FeedAuth.basic("city", secrets[1]),
        FeedAuth.header("X-Api-Key", secrets[2]),
        oauth(server, secrets[3]),
        FeedAuth.oauth2_client_credentials(server.url("/nope"), "client-1", secrets[3]),
    ]
    server.route("/500", Reply(status=500))
    server.route("/cut", Reply(body=b"{", content_length=99))
    server.route("/private", Reply.redirect("http://10.0.0.1/"))
    outputs: list[str] = []
    for auth in auths:
        outputs += [repr(auth), str(auth)]
        for path in ("/f.json", "/500", "/cut", "/private"):
            result = get(server.url(path), auth=auth)
            outputs += [repr(result), result.error or ""]
    text = "\n".join(outputs) + caplog.text
    assert "error_kind='http_status'" in text and "fetch http://127.0.0.1" in caplog.text
    for secret in [*secrets, "access-1", "access-2"]:
        assert secret not in text
    basic = base64.b64encode(f"city:{secrets[1]}".encode()).decode()
    assert basic not in text


def test_token_cache_bounds_the_wait_for_a_concurrent_request() -> None:
    cache = auth_module.TokenCache()
    auth = FeedAuth.oauth2_client_credentials("https://id.example/token", "c", "s-123456")
    release = threading.Event()

    def slow() -> tuple[Secret, float | None]:
        release.wait(5)
        return Secret("tok"), 60.0

    holder = threading.Thread(target=cache.get, args=(auth, slow))
    holder.start()
    time.sleep(0.05)
    with pytest.raises(auth_module.TokenWaitTimeout):
        cache.get(auth, slow, timeout=0.05)
    release.set()
    holder.join()
    assert cache.get(auth, slow, timeout=0.05).reveal() == "tok"  # cached meanwhile
