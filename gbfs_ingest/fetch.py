"""Fetch one GBFS file, safely, from servers that may be broken or hostile.

:func:`fetch` never raises for network or server problems: it returns a
:class:`FetchResult` whose ``error_kind`` says what went wrong and whose
``transient`` property says whether retrying later makes sense. It is
synchronous (the scheduler runs it in a thread pool) and shares one pooled
client made by :func:`make_client`.

Safety: every URL, including each redirect hop and the OAuth2 token URL, is
checked by :mod:`gbfs_ingest.netguard` and connected to at the checked address;
bodies are streamed and cut at ``max_body_bytes`` on the wire and at
``max_decoded_bytes`` after gzip/deflate; a total deadline bounds the whole
fetch (worst-case overrun: one read timeout); cookies are never stored; auth
headers are only sent to the origins the credentials are bound to
(:attr:`FeedAuth.origins`, else the origin of the requested URL), never across
a redirect to another origin; secrets are scrubbed from every message.
"""

from __future__ import annotations

import email.utils
import http.cookiejar
import logging
import re
import ssl
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import httpx

from gbfs_ingest import netguard
from gbfs_ingest.auth import (
    DEFAULT_TOKEN_CACHE,
    AuthError,
    FeedAuth,
    Secret,
    TokenWaitTimeout,
    parse_token_response,
    redact_url,
    scrub,
)

log = logging.getLogger(__name__)

MiB = 1024 * 1024
ErrorKind = Literal[
    "timeout",
    "connect",
    "dns",
    "http_status",
    "too_large",
    "decode",
    "blocked_address",
    "too_many_redirects",
    "auth",
    "tls",
    "protocol",  # malformed HTTP or a body cut short (Content-Length not honoured)
]
_TRANSIENT_KINDS = frozenset({"timeout", "connect", "dns", "protocol"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_RETRY_AFTER_S = 24 * 3600.0
_TOKEN_MAX_BYTES = 1 * MiB
_ACCEPT_ENCODING = "gzip, deflate"  # explicit: httpx would also offer br/zstd
_SAFE_HEADER_VALUE = re.compile(r"^[\x20-\x7e]{1,1024}$")


@dataclass(frozen=True)
class FetchPolicy:
    """Limits and network rules for fetching feeds."""

    connect_timeout: float = 5.0  # seconds, like every duration here
    read_timeout: float = 15.0
    deadline: float = 30.0  # whole fetch: token, redirects, body
    max_redirects: int = 3
    max_body_bytes: int = 32 * MiB  # on the wire (compressed)
    max_decoded_bytes: int = 64 * MiB  # after gzip/deflate
    allow_private_networks: bool = False
    # Host names or IP/CIDR exceptions, e.g. ("127.0.0.1",) for tests and the demo.
    allowed_hosts_private: Sequence[str] = ()
    user_agent: str = "fleet-monitor/0.1 (GBFS ingest)"

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed_hosts_private", tuple(self.allowed_hosts_private))
        for name in ("connect_timeout", "read_timeout", "deadline"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0")
        if self.max_redirects < 0 or self.max_body_bytes <= 0 or self.max_decoded_bytes <= 0:
            raise ValueError("max_redirects must be >= 0 and size limits > 0")
        if not _SAFE_HEADER_VALUE.match(self.user_agent):
            raise ValueError("user_agent must be printable ASCII")
        netguard.validate_exceptions(self.allowed_hosts_private)


@dataclass(repr=False)
class FetchResult:
    """Outcome of one fetch. ``ok`` is True for a fresh body *and* for a 304
    (then ``not_modified`` is True and ``body`` is None)."""

    url: str
    final_url: str
    status: int | None = None
    ok: bool = False
    not_modified: bool = False
    body: bytes | None = None  # decoded
    wire_bytes: int = 0
    latency_ms: float = 0.0
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    retry_after_s: float | None = None
    error_kind: ErrorKind | None = None
    error: str | None = None
    cause_transient: bool = field(default=False)  # for 'auth': was the token failure transient?

    @property
    def transient(self) -> bool:
        """Worth retrying soon: timeouts, connection/DNS/protocol errors, 5xx, 408, 429."""
        return _is_transient(self.error_kind, self.status, self.cause_transient)

    def __repr__(self) -> str:
        body = "None" if self.body is None else f"<{len(self.body)} bytes>"
        return (
            f"FetchResult(url={redact_url(self.url)!r}, final_url={redact_url(self.final_url)!r},"
            f" status={self.status}, ok={self.ok}, not_modified={self.not_modified},"
            f" body={body}, wire_bytes={self.wire_bytes}, latency_ms={self.latency_ms:.1f},"
            f" retry_after_s={self.retry_after_s}, error_kind={self.error_kind!r},"
            f" error={self.error!r})"
        )


def _is_transient(kind: str | None, status: int | None, cause_transient: bool) -> bool:
    if kind in _TRANSIENT_KINDS:
        return True
    if kind == "http_status":
        return status is not None and (status >= 500 or status in (408, 429))
    return kind == "auth" and cause_transient


class _Failure(Exception):
    def __init__(
        self, kind: ErrorKind, message: str, *, status: int | None = None, cause: bool = False
    ) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.status = status
        self.cause_transient = cause


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP date),
    clamped to [0, 24 h]; None if absent or unparseable."""
    if not value:
        return None
    text = value.strip()
    if re.fullmatch(r"\d{1,12}", text, re.ASCII):
        return min(float(text), MAX_RETRY_AFTER_S)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(delta, 0.0), MAX_RETRY_AFTER_S)


class _BoundedDecoder:
    """Incremental identity/gzip/deflate decoding that refuses to exceed ``limit`` bytes."""

    def __init__(self, content_encoding: str, limit: int) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > 1:
            raise _Failure("decode", f"stacked Content-Encoding {content_encoding[:60]!r}")
        self.coding = codings[0] if codings else None
        if self.coding == "x-gzip":
            self.coding = "gzip"
        if self.coding not in (None, "gzip", "deflate"):
            raise _Failure("decode", f"unsupported Content-Encoding {self.coding[:32]!r}")
        self.limit = limit
        self.out = bytearray()
        self._d = zlib.decompressobj(16 + zlib.MAX_WBITS) if self.coding == "gzip" else None
        self._head = b""  # deflate: zlib-wrapped or raw is decided on the first two bytes
        self._done = False

    def _append(self, data: bytes) -> None:
        if len(self.out) + len(data) > self.limit:
            raise _Failure("too_large", f"decoded body exceeds the limit of {self.limit} bytes")
        self.out += data

    def feed(self, data: bytes) -> None:
        if self.coding is None:
            self._append(data)
            return
        if self._d is None:
            self._head += data
            if len(self._head) < 2:
                return
            data, self._head = self._head, b""
            is_zlib = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._d = zlib.decompressobj(zlib.MAX_WBITS if is_zlib else -zlib.MAX_WBITS)
        try:
            self._inflate(data)
        except zlib.error as exc:
            raise _Failure("decode", f"invalid {self.coding} data: {exc}") from None

    def _inflate(self, data: bytes) -> None:
        d = self._d
        assert d is not None
        while data and not self._done:
            # Ask for at most one byte more than allowed: output is never
            # materialised beyond the limit, whatever the compression ratio.
            out = d.decompress(data, self.limit - len(self.out) + 1)
            self._append(out)
            if not d.eof:
                data = d.unconsumed_tail  # non-empty only if max_length was reached
                continue
            data = d.unused_data
            if self.coding == "gzip" and data[:2] == b"\x1f\x8b":
                d = self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)  # next gzip member
            else:
                self._done = True  # ignore trailing garbage after the stream

    def finish(self) -> bytes:
        if self.coding is not None:
            if self._d is None and self._head:
                raise _Failure("decode", f"{self.coding} body is truncated")
            if self._d is not None and not self._d.eof:
                raise _Failure("decode", f"{self.coding} body is truncated or corrupt")
        return bytes(self.out)


def _caused_by_tls(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError | ssl.CertificateError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _classify(exc: Exception) -> ErrorKind:
    if isinstance(exc, netguard.BlockedAddress | httpx.UnsupportedProtocol | httpx.InvalidURL):
        return "blocked_address"
    if isinstance(exc, netguard.ResolutionError):
        return "dns"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if _caused_by_tls(exc):
        return "tls"
    if isinstance(exc, httpx.NetworkError | OSError):
        return "connect"
    return "protocol"


def _timeouts(policy: FetchPolicy, remaining: float) -> httpx.Timeout:
    connect = min(policy.connect_timeout, remaining)
    read = min(policy.read_timeout, remaining)
    return httpx.Timeout(connect=connect, read=read, write=read, pool=connect)


def make_client(policy: FetchPolicy | None = None, *, max_connections: int = 256) -> httpx.Client:
    """A pooled HTTP/1.1 client for ~200 feeds: guarded connections, verified TLS,
    no redirects followed by httpx, no proxies/netrc from the environment, no cookies.
    Share it across threads; close it at shutdown."""
    policy = policy or FetchPolicy()
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=min(200, max_connections),
        keepalive_expiry=30.0,
    )
    no_cookies = http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return httpx.Client(
        transport=netguard.GuardedTransport(policy, limits=limits, verify=True),
        follow_redirects=False,
        trust_env=False,  # env proxies would bypass the guarded transport
        cookies=no_cookies,
        timeout=_timeouts(policy, policy.deadline),
        headers={"User-Agent": policy.user_agent, "Accept-Encoding": _ACCEPT_ENCODING},
    )


def fetch(
    url: str,
    *,
    policy: FetchPolicy,
    auth: FeedAuth | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    client: httpx.Client | None = None,
) -> FetchResult:
    """GET ``url`` once (with conditional headers, auth, guarded redirects) and return
    the outcome. Pass the shared client from :func:`make_client`; without one, a
    client is made and closed for this call."""
    own_client = client is None
    active = make_client(policy) if client is None else client
    try:
        return _Fetch(url, policy, auth or FeedAuth.none(), active).run(etag, last_modified)
    finally:
        if own_client:
            active.close()


class _Fetch:
    def __init__(self, url: str, policy: FetchPolicy, auth: FeedAuth, client: httpx.Client):
        self.url = url
        self.final_url = url
        self.policy = policy
        self.auth = auth
        self.client = client
        self.started = time.monotonic()
        self.deadline_at = self.started + policy.deadline
        self.pins: dict[str, tuple[str, ...]] = {}
        self.status: int | None = None
        self.wire_bytes = 0
        self.token: Secret | None = None

    # -- outcome ---------------------------------------------------------------------

    def run(self, etag: str | None, last_modified: str | None) -> FetchResult:
        with netguard.guard_context(self.policy) as self.pins:
            try:
                result = self._run(etag, last_modified)
            except _Failure as failure:
                result = self._result(
                    status=failure.status if failure.status is not None else self.status,
                    error_kind=failure.kind,
                    error=scrub(failure.message, self.auth, (self.token,) if self.token else ()),
                    cause_transient=failure.cause_transient,
                )
        level = logging.DEBUG if result.ok else logging.INFO
        log.log(
            level,
            "fetch %s: status=%s kind=%s bytes=%d %.0f ms%s",
            redact_url(self.url),
            result.status,
            result.error_kind or ("not_modified" if result.not_modified else "ok"),
            result.wire_bytes,
            result.latency_ms,
            f" ({result.error})" if result.error else "",
        )
        return result

    def _result(self, **kwargs: object) -> FetchResult:
        return FetchResult(
            url=self.url,
            final_url=self.final_url,
            wire_bytes=self.wire_bytes,
            latency_ms=(time.monotonic() - self.started) * 1000.0,
            **kwargs,  # type: ignore[arg-type]
        )

    def _run(self, etag: str | None, last_modified: str | None) -> FetchResult:
        headers = {
            "User-Agent": self.policy.user_agent,
            "Accept": "application/json, */*;q=0.5",
            "Accept-Encoding": _ACCEPT_ENCODING,
        }
        # Validators come from a server: resend them only if they are sane.
        if etag and _SAFE_HEADER_VALUE.match(etag):
            headers["If-None-Match"] = etag
        if last_modified and _SAFE_HEADER_VALUE.match(last_modified):
            headers["If-Modified-Since"] = last_modified
        oauth = self.auth.kind == "oauth2_client_credentials"
        response = self._follow(headers, rejected=None)
        if response.status_code == 401 and oauth and self.token is not None:
            response.close()
            log.info("fetch %s: 401 with OAuth2 token, refreshing once", redact_url(self.url))
            response = self._follow(headers, rejected=self.token)
        try:
            return self._complete(response, etag, last_modified)
        finally:
            response.close()

    def _complete(
        self, response: httpx.Response, etag: str | None, last_modified: str | None
    ) -> FetchResult:
        status = self.status = response.status_code
        new_etag = response.headers.get("etag")
        new_last_modified = response.headers.get("last-modified")
        new_etag = new_etag if new_etag and _SAFE_HEADER_VALUE.match(new_etag) else None
        if not (new_last_modified and _SAFE_HEADER_VALUE.match(new_last_modified)):
            new_last_modified = None
        if status == 304:
            return self._result(
                status=status,
                ok=True,
                not_modified=True,
                etag=new_etag or etag,
                last_modified=new_last_modified or last_modified,
            )
        if not 200 <= status < 300:
            retry_after = None
            if status in (429, 503):
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            reason = response.reason_phrase
            return self._result(
                status=status,
                retry_after_s=retry_after,
                error_kind="http_status",
                error=f"HTTP {status} {reason[:60]} from {redact_url(self.final_url)}",
            )
        body = self._read_body(response, self.policy.max_body_bytes, self.policy.max_decoded_bytes)
        return self._result(
            status=status,
            ok=True,
            body=body,
            etag=new_etag,
            last_modified=new_last_modified,
            content_type=response.headers.get("content-type"),
        )

    # -- network -----------------------------------------------------------------------

    def _remaining(self) -> float:
        remaining = self.deadline_at - time.monotonic()
        if remaining <= 0:
            raise _Failure("timeout", f"deadline of {self.policy.deadline:g} s exceeded")
        return remaining

    def _send(
        self, method: str, url: httpx.URL, headers: dict[str, str], content: bytes | None = None
    ) -> httpx.Response:
        where = redact_url(str(url))
        try:
            timeout = min(self.policy.connect_timeout, self._remaining())
            addresses = netguard.check_url(url, self.policy, timeout=timeout)
            host, _port = netguard.host_and_port(url)
            self.pins[host] = tuple(addresses)
            request = self.client.build_request(
                method,
                url,
                headers=headers,
                content=content,
                timeout=_timeouts(self.policy, self._remaining()),
            )
            return self.client.send(request, stream=True, auth=None, follow_redirects=False)
        except (netguard.NetGuardError, httpx.HTTPError, OSError) as exc:
            raise _Failure(
                _classify(exc), f"{method} {where}: {str(exc) or type(exc).__name__}"
            ) from None

    def _follow(self, base: dict[str, str], *, rejected: Secret | None) -> httpx.Response:
        try:
            url = httpx.URL(self.url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise _Failure("blocked_address", f"invalid URL: {exc}") from None
        if self.auth.origins is not None:
            allowed = set(self.auth.origins)
        else:  # unbound credentials: only the origin this fetch starts from
            origin = netguard.origin_of(url)
            allowed = {origin} if origin is not None else set()
        auth_headers: dict[str, str] | None = None  # built on the first hop that may have them
        seen = {str(url)}
        for _hop in range(self.policy.max_redirects + 1):
            self.final_url = str(url)
            headers = dict(base)
            if self.auth.kind != "none" and netguard.origin_of(url) in allowed:
                if auth_headers is None:
                    auth_headers = self._auth_headers(rejected)
                headers.update(auth_headers)  # never leak credentials to another origin
            response = self._send("GET", url, headers)
            if response.status_code not in _REDIRECTS:
                return response
            location = response.headers.get("location", "").strip()
            response.close()
            if not location:
                raise _Failure(
                    "http_status",
                    f"redirect without Location from {redact_url(str(url))}",
                    status=response.status_code,
                )
            try:
                url = url.join(location).copy_with(fragment=None)
            except (httpx.InvalidURL, ValueError) as exc:
                raise _Failure("blocked_address", f"invalid redirect Location: {exc}") from None
            if str(url) in seen:
                raise _Failure(
                    "too_many_redirects", f"redirect loop back to {redact_url(str(url))}"
                )
            seen.add(str(url))
        raise _Failure(
            "too_many_redirects",
            f"more than {self.policy.max_redirects} redirects from {redact_url(self.url)}",
        )

    def _read_body(self, response: httpx.Response, max_wire: int, max_decoded: int) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_wire:
            raise _Failure(
                "too_large", f"Content-Length {declared} exceeds the limit of {max_wire} bytes"
            )
        decoder = _BoundedDecoder(response.headers.get("content-encoding", ""), max_decoded)
        try:
            for chunk in response.iter_raw():
                self.wire_bytes += len(chunk)
                if self.wire_bytes > max_wire:
                    raise _Failure("too_large", f"body exceeds the limit of {max_wire} bytes")
                decoder.feed(chunk)
                if time.monotonic() > self.deadline_at:
                    raise _Failure("timeout", "deadline exceeded while reading the body")
        except httpx.HTTPError as exc:
            where = redact_url(self.final_url)
            raise _Failure(
                _classify(exc), f"reading {where}: {str(exc) or type(exc).__name__}"
            ) from None
        return decoder.finish()

    # -- auth --------------------------------------------------------------------------

    def _auth_headers(self, rejected: Secret | None) -> dict[str, str]:
        if self.auth.kind != "oauth2_client_credentials":
            return self.auth.static_headers()
        try:
            self.token = DEFAULT_TOKEN_CACHE.get(
                self.auth, self._obtain_token, rejected=rejected, timeout=self._remaining()
            )
        except TokenWaitTimeout as exc:
            raise _Failure("auth", str(exc), cause=True) from None
        return {"Authorization": f"Bearer {self.token.reveal()}"}

    def _obtain_token(self) -> tuple[Secret, float | None]:
        token_url = self.auth.token_url or ""
        where = redact_url(token_url)
        try:
            headers, form = self.auth.token_request()
            headers.update(
                {"User-Agent": self.policy.user_agent, "Accept-Encoding": _ACCEPT_ENCODING}
            )
            try:
                url = httpx.URL(token_url)
            except (httpx.InvalidURL, TypeError) as exc:
                raise _Failure("blocked_address", f"invalid token URL: {exc}") from None
            response = self._send("POST", url, headers, content=form)
            try:
                status = response.status_code
                if status != 200:
                    hint = " (redirects are not followed)" if status in _REDIRECTS else ""
                    raise _Failure(
                        "http_status", f"token endpoint answered HTTP {status}{hint}", status=status
                    )
                body = self._read_body(response, _TOKEN_MAX_BYTES, _TOKEN_MAX_BYTES)
            finally:
                response.close()
            return parse_token_response(body)
        except AuthError as exc:
            raise _Failure("auth", f"OAuth2 token from {where}: {exc}") from None
        except _Failure as failure:
            transient = _is_transient(failure.kind, failure.status, failure.cause_transient)
            raise _Failure(
                "auth", f"OAuth2 token from {where} failed: {failure.message}", cause=transient
            ) from None
        finally:
            self.wire_bytes = 0  # count only the feed's own body
