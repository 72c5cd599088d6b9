"""The client's real address and scheme behind trusted reverse proxies (nginx, Traefik).

``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed only when the
connection comes from a trusted proxy (``web.trusted_proxies``: addresses or
networks; loopback by default, for a proxy on the same host). The client is
then the right-most address of ``X-Forwarded-For`` that is not itself a trusted
proxy: entries further left were written by the client and may be anything.
A request that does not come from a trusted proxy keeps its own peer address
and scheme whatever headers it sends, so that nobody can pick the address
that login limits and the audit log see.

``X-Forwarded-Host`` is never used: links sent by e-mail are built from the
configured ``web.public_url``, never from a header.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # 192.0.2.1:8080
        text = text.partition(":")[0]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


class TrustedProxies:
    """WSGI middleware setting ``REMOTE_ADDR`` and ``wsgi.url_scheme`` from trusted proxies."""

    def __init__(self, app: WSGIApplication, networks: Iterable[str]) -> None:
        self.app = app
        self.networks = parse_networks(networks)
        self._warned = False

    def trusted(self, text: str | None) -> bool:
        addr = _address(text) if text else None
        return addr is not None and any(addr in net for net in self.networks)

    def client(self, peer: str, forwarded_for: str) -> str:
        """The client address: right-most entry that is not a trusted proxy."""
        client = peer
        for entry in reversed([e for e in forwarded_for.split(",") if e.strip()]):
            addr = _address(entry)
            if addr is None:
                break  # garbage: keep the last address we could believe
            client = str(addr)
            if not self.trusted(client):
                break
        return client

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        peer = environ.get("REMOTE_ADDR") or ""
        forwarded_for = environ.get("HTTP_X_FORWARDED_FOR", "")
        proto = environ.get("HTTP_X_FORWARDED_PROTO", "")
        if self.trusted(peer):
            if forwarded_for:
                environ["REMOTE_ADDR"] = self.client(peer, forwarded_for)
            scheme = proto.split(",")[-1].strip().lower()
            if scheme in ("http", "https"):
                environ["wsgi.url_scheme"] = scheme
        elif (forwarded_for or proto) and not self._warned:
            self._warned = True
            log.warning(
                "X-Forwarded-* headers from %s ignored: not a trusted proxy. If it is your "
                "reverse proxy, add its address to web.trusted_proxies "
                '(docs/security.md, "Behind a reverse proxy")',
                peer,
            )
        return self.app(environ, start_response)
