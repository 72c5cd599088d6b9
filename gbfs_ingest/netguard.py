"""Network guard: refuse to fetch from addresses a feed URL must never reach (SSRF).

Feed URLs come from operators, catalogues and redirects, so they are untrusted:
a URL (or a redirect, or a DNS answer) pointing at ``127.0.0.1``, the LAN or a
cloud metadata endpoint must not make this service talk to it.

* :func:`check_url` refuses non-http(s) schemes and URLs with userinfo,
  resolves the host (``getaddrinfo``, every address, bounded by a timeout) and
  refuses the URL if *any* address is not public, unless the policy allows it.
* DNS rebinding: a hostile DNS server can answer a public address to the check
  and a private one to the connect. We therefore never let the HTTP stack
  resolve names itself: :class:`GuardedNetworkBackend` (plugged into httpcore
  by :class:`GuardedTransport`) connects to the very addresses that were
  checked, "pinned" for the current fetch in a context variable, or, with no
  pin, resolves and checks them itself just before connecting. The URL keeps
  its host name, so the ``Host`` header, TLS SNI and certificate verification
  are unchanged.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud instance metadata / platform endpoints (AWS, AWS ECS, GCP, Azure, Alibaba,
# AWS IPv6). Blocked even when private networks are allowed, unless an explicit
# IP/CIDR exception covers them. 168.63.129.16 is Azure's (public) wire server.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",
        "169.254.169.123",
        "100.100.100.200",
        "168.63.129.16",
        "fd00:ec2::254",
    )
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
# Problems only an explicit IP/CIDR exception can lift (not allow_private_networks,
# not a host-name exception).
_STRICT = ("cloud metadata", "unspecified", "multicast")

_DNS_WORKERS = 32
_dns_executor: ThreadPoolExecutor | None = None
_dns_executor_lock = threading.Lock()


class GuardPolicy(Protocol):
    """The part of a fetch policy the guard reads (``FetchPolicy`` satisfies it)."""

    @property
    def allow_private_networks(self) -> bool: ...

    @property
    def allowed_hosts_private(self) -> Sequence[str]: ...


class NetGuardError(Exception):
    """Base class of the guard's errors."""


class BlockedAddress(NetGuardError):
    """The URL or one of its addresses is not allowed by the policy."""


class ResolutionError(NetGuardError):
    """The host name could not be resolved (or resolution timed out)."""


def normalise_host(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, "IPv4-mapped"
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "NAT64"
    if ip.sixtofour is not None:
        return ip.sixtofour, "6to4"
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "IPv4-compatible"
    return None


def address_problem(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public unicast address, or None if it is."""
    if ip in METADATA_ADDRESSES:
        return "cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            problem = address_problem(embedded[0])
            if problem is not None:
                return f"{problem} ({embedded[1]} {embedded[0]})"
            if embedded[1] in ("IPv4-mapped", "NAT64"):
                return None  # a public IPv4 address in disguise
    if ip.is_unspecified:
        return "unspecified address"
    if ip.is_loopback:
        return "loopback address"
    if ip.is_multicast:
        return "multicast address"
    if ip.is_link_local:
        return "link-local address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "shared address space (CGNAT 100.64.0.0/10)"
    if ip.is_private:
        return "private or special-purpose address"
    if ip.is_reserved:
        return "reserved address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "site-local address"
    if not ip.is_global:
        return "address that is not globally routable"
    return None


@dataclass(frozen=True)
class _Exceptions:
    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = field(default_factory=frozenset)


@lru_cache(maxsize=128)
def _parse_exceptions(entries: tuple[str, ...]) -> _Exceptions:
    networks: list[IPNetwork] = []
    hosts: set[str] = set()
    for entry in entries:
        text = entry.strip()
        if not text:
            raise ValueError("empty entry in allowed_hosts_private")
        try:
            networks.append(ipaddress.ip_network(text.strip("[]"), strict=False))
        except ValueError:
            if "/" in text or ":" in text or " " in text:
                raise ValueError(
                    f"invalid host or CIDR in allowed_hosts_private: {text!r}"
                ) from None
            hosts.add(normalise_host(text))
    return _Exceptions(tuple(networks), frozenset(hosts))


def validate_exceptions(entries: Sequence[str]) -> None:
    """Raise ValueError if an ``allowed_hosts_private`` entry is neither a host nor a CIDR."""
    _parse_exceptions(tuple(entries))


def _in_networks(ip: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    candidates: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        candidates.append(ip.ipv4_mapped)
    return any(c.version == n.version and c in n for c in candidates for n in networks)


def check_address(address: str | IPAddress, policy: GuardPolicy, *, host: str = "") -> IPAddress:
    """Return the parsed address, or raise :class:`BlockedAddress` if the policy refuses it."""
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        raise BlockedAddress(f"not an IP address: {str(address)[:64]!r}") from None
    problem = address_problem(ip)
    if problem is None:
        return ip
    exceptions = _parse_exceptions(tuple(policy.allowed_hosts_private))
    if _in_networks(ip, exceptions.networks):
        return ip
    if not problem.startswith(_STRICT) and (
        policy.allow_private_networks or (host and normalise_host(host) in exceptions.hosts)
    ):
        return ip
    shown = f"{host!r} ({ip})" if host and normalise_host(host) != str(ip) else str(ip)
    raise BlockedAddress(f"refusing to connect to {shown}: {problem}, not allowed by policy")


def _executor() -> ThreadPoolExecutor:
    global _dns_executor
    with _dns_executor_lock:
        if _dns_executor is None:
            _dns_executor = ThreadPoolExecutor(_DNS_WORKERS, thread_name_prefix="netguard-dns")
        return _dns_executor


def resolve(host: str, port: int, timeout: float | None = None) -> list[str]:
    """All addresses of ``host`` (IP literals returned as is), in getaddrinfo order.

    ``getaddrinfo`` has no timeout of its own; with ``timeout`` it runs in a
    small worker pool and a slow resolver gives :class:`ResolutionError`.
    """
    name = normalise_host(host)
    try:
        return [str(ipaddress.ip_address(name))]
    except ValueError:
        pass

    def lookup() -> list[tuple]:
        return socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)

    try:
        if timeout is None:
            infos = lookup()
        else:
            infos = _executor().submit(lookup).result(timeout=max(timeout, 0.001))
    except FutureTimeout:
        raise ResolutionError(f"DNS resolution of {name!r} timed out") from None
    except (OSError, UnicodeError) as exc:
        raise ResolutionError(f"cannot resolve {name!r}: {exc}") from None
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise ResolutionError(f"cannot resolve {name!r}: no address")
    return addresses


def resolve_and_check(
    host: str, port: int, policy: GuardPolicy, timeout: float | None = None
) -> list[str]:
    """Resolve ``host`` and check every address; all must be allowed."""
    addresses = resolve(host, port, timeout)
    for address in addresses:
        check_address(address, policy, host=host)
    return addresses


def host_and_port(url: httpx.URL) -> tuple[str, int]:
    host = normalise_host(url.raw_host.decode("ascii"))
    return host, url.port or (443 if url.scheme == "https" else 80)


Origin = tuple[str, str, int]  # scheme, host (as httpx sends it: IDNA, lower case), port


def origin_of(url: str | httpx.URL) -> Origin | None:
    """The origin (scheme, host, port) of an absolute http(s) URL without
    credentials, parsed by httpx like the requests it sends; None otherwise."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return None
    if parsed.scheme not in ("http", "https") or parsed.userinfo:
        return None
    host, port = host_and_port(parsed)
    return (parsed.scheme, host, port) if host and 0 < port < 65536 else None


def check_url(
    url: str | httpx.URL, policy: GuardPolicy, *, timeout: float | None = None
) -> list[str]:
    """Check a URL before any connection; return its resolved, allowed addresses.

    Raises :class:`BlockedAddress` (scheme, userinfo, address class) or
    :class:`ResolutionError`. The URL is parsed by httpx, the same parser that
    will send the request, so both agree on the host.
    """
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise BlockedAddress(f"invalid URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise BlockedAddress(f"URL scheme {parsed.scheme!r} is not allowed (only http, https)")
    if parsed.userinfo:
        raise BlockedAddress("URLs with embedded credentials (user:password@) are refused")
    host, port = host_and_port(parsed)
    if not host:
        raise BlockedAddress("URL has no host")
    return resolve_and_check(host, port, policy, timeout)


# -- pinning: connect only to checked addresses ---------------------------------


@dataclass
class _GuardContext:
    policy: GuardPolicy
    pins: dict[str, tuple[str, ...]]


_CONTEXT: contextvars.ContextVar[_GuardContext | None] = contextvars.ContextVar(
    "gbfs_netguard_context", default=None
)


@contextlib.contextmanager
def guard_context(policy: GuardPolicy) -> Iterator[dict[str, tuple[str, ...]]]:
    """Within this block, guarded connections use ``policy`` and the yielded pins.

    Put ``pins[normalise_host(host)] = tuple(addresses)`` after :func:`check_url`
    so that the connection goes to exactly those addresses, with no new lookup.
    """
    pins: dict[str, tuple[str, ...]] = {}
    token = _CONTEXT.set(_GuardContext(policy, pins))
    try:
        yield pins
    finally:
        _CONTEXT.reset(token)


class GuardedNetworkBackend(httpcore.NetworkBackend):
    """An httpcore backend that connects only to pinned or freshly checked IP addresses."""

    def __init__(self, policy: GuardPolicy, backend: httpcore.NetworkBackend | None = None):
        self._policy = policy
        self._backend = backend or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        started = time.monotonic()
        context = _CONTEXT.get()
        addresses = context.pins.get(normalise_host(host)) if context else None
        if addresses is None:
            policy = context.policy if context else self._policy
            addresses = tuple(resolve_and_check(host, port, policy, timeout))
        last_error: Exception | None = None
        for address in addresses:
            remaining = None if timeout is None else timeout - (time.monotonic() - started)
            if remaining is not None and remaining <= 0:
                break
            try:
                # An IP literal: the inner backend does no DNS lookup of its own.
                return self._backend.connect_tcp(
                    address,
                    port,
                    timeout=remaining,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        if last_error is not None:
            raise last_error
        raise httpcore.ConnectTimeout(f"connect to {host!r} timed out")

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise BlockedAddress("unix sockets are not allowed")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` (HTTP/1.1, verified TLS) whose connections go through
    :class:`GuardedNetworkBackend`.

    httpx has no public hook for the network backend, so the connection pool
    built by ``HTTPTransport`` is replaced by an equivalent one (same SSL
    context and limits). That pool attribute has been ``_pool`` in every httpx
    release since 0.18; the check below fails loudly if it ever changes, and
    ``tests/ingest/test_netguard.py`` checks the backend is really used.
    """

    def __init__(
        self,
        policy: GuardPolicy,
        *,
        limits: httpx.Limits,
        verify: bool = True,
        retries: int = 0,
    ) -> None:
        super().__init__(verify=verify, limits=limits, http1=True, http2=False, retries=retries)
        if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):
            raise RuntimeError("unsupported httpx version: HTTPTransport has no _pool")
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            retries=retries,
            network_backend=GuardedNetworkBackend(policy),
        )
