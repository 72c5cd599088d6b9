"""Credentials for GBFS feeds, kept out of logs, reprs and error messages.

Secrets arrive already resolved (the settings layer reads env vars and files)
and are wrapped in :class:`Secret`, whose ``repr``/``str`` are redacted; the
clear value is only obtained with :meth:`Secret.reveal`, at the moment a
header is built. This module performs no I/O: the OAuth2 token request itself
is made by :mod:`gbfs_ingest.fetch` with the same network guard as feed
requests, and cached here in a :class:`TokenCache`.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

AuthKind = Literal["none", "bearer", "basic", "header", "oauth2_client_credentials"]

_REDACTED = "**********"
# RFC 9110 token characters, for header names.
_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_FORBIDDEN_HEADER_NAMES = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "te", "upgrade"}
)
# Query parameters whose values are masked by redact_url().
_SENSITIVE_PARAM_RE = re.compile(
    r"(key|token|secret|password|passwd|pwd|auth|sig|signature|credential|session)",
    re.IGNORECASE,
)


class AuthError(Exception):
    """Invalid credentials configuration or a failed token request (never holds secrets)."""


class TokenWaitTimeout(AuthError):
    """Another thread's token request for the same credentials took too long."""


class Secret:
    """A string that never shows itself in ``repr``, ``str``, f-strings or logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret value must be a str")
        self._value = value

    @classmethod
    def coerce(cls, value: str | Secret) -> Secret:
        return value if isinstance(value, Secret) else cls(value)

    def reveal(self) -> str:
        """The clear value: call only where it is sent on the wire."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{_REDACTED}')"

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        return repr(self)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(("Secret", hashlib.sha256(self._value.encode()).digest()))


def _check_header_value(value: str, what: str) -> None:
    # CR/LF would allow header injection, h11 would echo a bad value in its error,
    # and httpx encodes header values as ASCII: refuse anything else, without echoing it.
    if not all(" " <= c <= "~" or c == "\t" for c in value):
        raise AuthError(f"{what} must be printable ASCII (no CR, LF or other control characters)")


@dataclass(frozen=True)
class FeedAuth:
    """How to authenticate to one feed. Build with the class-method constructors."""

    kind: AuthKind = "none"
    token: Secret | None = None
    username: str | None = None
    password: Secret | None = None
    header_name: str | None = None
    header_value: Secret | None = None
    token_url: str | None = None
    client_id: str | None = None
    client_secret: Secret | None = None
    scope: str | None = None
    # RFC 6749 §2.3.1: "basic" (HTTP Basic, MUST be supported) or "post" (form fields).
    client_auth_method: Literal["basic", "post"] = "basic"
    # Where the credentials may be sent: (scheme, host, port) origins as
    # netguard.origin_of gives them. None: only to the origin of the URL a fetch
    # starts from (an ad-hoc fetch); operators' credentials are always bound (to
    # their discovery URL's origin and their credential_hosts).
    origins: tuple[tuple[str, str, int], ...] | None = None

    def __post_init__(self) -> None:
        for name in ("token", "password", "header_value", "client_secret"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, Secret(value))
        self._validate()

    def _validate(self) -> None:
        if self.kind == "none":
            return
        if self.kind == "bearer":
            if not self.token:
                raise AuthError("bearer auth needs a non-empty token")
            _check_header_value(self.token.reveal(), "bearer token")
        elif self.kind == "basic":
            if self.username is None or self.password is None:
                raise AuthError("basic auth needs a username and a password")
            if ":" in self.username:
                raise AuthError("basic auth username must not contain ':' (RFC 7617)")
            _check_header_value(self.username, "basic auth username")
        elif self.kind == "header":
            if not self.header_name or not _HEADER_NAME_RE.match(self.header_name):
                raise AuthError("header auth needs a valid header name")
            if self.header_name.lower() in _FORBIDDEN_HEADER_NAMES:
                raise AuthError(f"header auth cannot set {self.header_name!r}")
            if self.header_value is None:
                raise AuthError("header auth needs a value")
            _check_header_value(self.header_value.reveal(), "auth header value")
        elif self.kind == "oauth2_client_credentials":
            if not self.token_url or not self.client_id or not self.client_secret:
                raise AuthError(
                    "OAuth2 client credentials need token_url, client_id, client_secret"
                )
            if self.client_auth_method not in ("basic", "post"):
                raise AuthError("client_auth_method must be 'basic' or 'post'")
        else:
            raise AuthError(f"unknown auth kind {self.kind!r}")

    # -- constructors -------------------------------------------------------------

    @classmethod
    def none(cls) -> FeedAuth:
        return cls()

    @classmethod
    def bearer(cls, token: str | Secret) -> FeedAuth:
        return cls(kind="bearer", token=Secret.coerce(token))

    @classmethod
    def basic(cls, username: str, password: str | Secret) -> FeedAuth:
        return cls(kind="basic", username=username, password=Secret.coerce(password))

    @classmethod
    def header(cls, name: str, value: str | Secret) -> FeedAuth:
        return cls(kind="header", header_name=name, header_value=Secret.coerce(value))

    @classmethod
    def oauth2_client_credentials(
        cls,
        token_url: str,
        client_id: str,
        client_secret: str | Secret,
        scope: str | None = None,
        client_auth_method: Literal["basic", "post"] = "basic",
    ) -> FeedAuth:
        return cls(
            kind="oauth2_client_credentials",
            token_url=token_url,
            client_id=client_id,
            client_secret=Secret.coerce(client_secret),
            scope=scope,
            client_auth_method=client_auth_method,
        )

    def bound_to(self, origins: Iterable[tuple[str, str, int]]) -> FeedAuth:
        """The same credentials, sent only to these origins (and never across a
        redirect to another one)."""
        return dataclasses.replace(self, origins=tuple(dict.fromkeys(origins)))

    # -- use ----------------------------------------------------------------------

    def static_headers(self) -> dict[str, str]:
        """Headers for every kind except OAuth2 (whose token comes from the cache)."""
        if self.kind == "bearer" and self.token is not None:
            return {"Authorization": f"Bearer {self.token.reveal()}"}
        if self.kind == "basic" and self.username is not None and self.password is not None:
            raw = f"{self.username}:{self.password.reveal()}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
        if self.kind == "header" and self.header_name and self.header_value is not None:
            return {self.header_name: self.header_value.reveal()}
        return {}

    def token_request(self) -> tuple[dict[str, str], bytes]:
        """Headers and form body of the OAuth2 client-credentials token request."""
        if self.kind != "oauth2_client_credentials" or self.client_secret is None:
            raise AuthError("not an OAuth2 client-credentials configuration")
        form: dict[str, str] = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        secret = self.client_secret.reveal()
        if self.client_auth_method == "basic":
            # RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
            pair = f"{quote(self.client_id or '', safe='')}:{quote(secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        else:
            form["client_id"] = self.client_id or ""
            form["client_secret"] = secret
        return headers, urlencode(form).encode("ascii")

    def secret_values(self) -> Iterator[str]:
        """Every clear string that must never be shown (for scrubbing messages)."""
        for secret in (self.token, self.password, self.header_value, self.client_secret):
            if secret:
                yield secret.reveal()
        if self.kind == "basic":
            yield self.static_headers()["Authorization"].removeprefix("Basic ")
        if self.kind == "oauth2_client_credentials" and self.client_auth_method == "basic":
            yield self.token_request()[0]["Authorization"].removeprefix("Basic ")

    def cache_key(self) -> tuple[str, str, str, bytes]:
        secret = self.client_secret.reveal() if self.client_secret else ""
        digest = hashlib.sha256(secret.encode()).digest()
        return (self.token_url or "", self.client_id or "", self.scope or "", digest)


def scrub(text: str, auth: FeedAuth | None, extra: tuple[Secret, ...] = ()) -> str:
    """Replace any clear secret of ``auth`` (and ``extra``) found in ``text``."""
    values = [*(auth.secret_values() if auth else ()), *(s.reveal() for s in extra if s)]
    for value in sorted(values, key=len, reverse=True):
        if len(value) >= 4:  # don't mangle messages over trivially short values
            text = text.replace(value, _REDACTED)
    return text


def redact_url(url: str) -> str:
    """The URL with userinfo and sensitive-looking query values masked, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{_REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, _REDACTED if _SENSITIVE_PARAM_RE.search(k) else v) for k, v in pairs],
            safe="*",
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def parse_token_response(body: bytes) -> tuple[Secret, float | None]:
    """``(access_token, expires_in)`` from a token endpoint's JSON (RFC 6749 §5.1)."""
    try:
        data: Any = json.loads(body)
    except ValueError as exc:
        raise AuthError("token endpoint returned invalid JSON") from exc
    if not isinstance(data, dict):
        raise AuthError("token endpoint returned JSON that is not an object")
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise AuthError("token endpoint response has no access_token")
    _check_header_value(token, "access token")
    token_type = data.get("token_type", "bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise AuthError(f"unsupported token_type {str(token_type)[:40]!r} (expected bearer)")
    expires_in = data.get("expires_in")
    if isinstance(expires_in, str) and expires_in.strip().isdigit():
        expires_in = int(expires_in)  # seen in the wild
    if not isinstance(expires_in, int | float) or isinstance(expires_in, bool):
        expires_in = None
    return Secret(token), (float(expires_in) if expires_in is not None else None)


@dataclass
class _CachedToken:
    token: Secret
    refresh_at: float  # monotonic time after which a new token is requested


@dataclass
class TokenCache:
    """Thread-safe OAuth2 token cache keyed by (token_url, client_id, scope, secret digest).

    One lock per key: when many feeds of one operator need a token at once,
    one thread requests it and the others wait and reuse it.
    """

    default_lifetime_s: float = 300.0  # when the server omits expires_in
    max_refresh_margin_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    _tokens: dict[tuple[str, str, str, bytes], _CachedToken] = field(default_factory=dict)
    _locks: dict[tuple[str, str, str, bytes], threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def get(
        self,
        auth: FeedAuth,
        obtain: Callable[[], tuple[Secret, float | None]],
        *,
        rejected: Secret | None = None,
        timeout: float | None = None,
    ) -> Secret:
        """A valid token, calling ``obtain`` if none is cached, it is about to expire,
        or it equals ``rejected`` (the token a server just answered 401 to).

        ``timeout`` bounds the wait for another thread's request of the same token.
        """
        key = auth.cache_key()
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        if not lock.acquire(timeout=-1 if timeout is None else max(timeout, 0.0)):
            raise TokenWaitTimeout("timed out waiting for a concurrent OAuth2 token request")
        try:
            cached = self._tokens.get(key)
            if (
                cached is not None
                and self.clock() < cached.refresh_at
                and (rejected is None or cached.token != rejected)
            ):
                return cached.token
            self._tokens.pop(key, None)
            token, expires_in = obtain()
            lifetime = self.default_lifetime_s if expires_in is None else max(expires_in, 0.0)
            margin = min(self.max_refresh_margin_s, lifetime / 5)
            self._tokens[key] = _CachedToken(token, self.clock() + lifetime - margin)
            return token
        finally:
            lock.release()

    def clear(self) -> None:
        with self._guard:
            self._tokens.clear()


DEFAULT_TOKEN_CACHE = TokenCache()
