"""The outbox's own HTTP client for webhooks: guarded connections, no redirects.

Delivery does not borrow the ingest's feed client (``gbfs_ingest.fetch``): the two
have different limits (a webhook is one small POST with a short timeout, never a
redirect, never a large body) and evolve separately. What they share is the
network guard (:mod:`gbfs_ingest.netguard`: no private, loopback or metadata
address unless allowed, addresses pinned after the check), which this client
uses through its ``GuardPolicy`` protocol.
"""

from __future__ import annotations

import http.cookiejar
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from gbfs_ingest import netguard


@dataclass(frozen=True)
class WebhookPolicy:
    """Network rules and limits of webhook deliveries (a ``netguard.GuardPolicy``)."""

    timeout_s: float = 10.0
    allow_private_networks: bool = False
    allowed_hosts_private: Sequence[str] = ()
    user_agent: str = "fleet-monitor/0.1 (city notices)"

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed_hosts_private", tuple(self.allowed_hosts_private))
        if not self.timeout_s > 0:
            raise ValueError("timeout_s must be > 0")
        netguard.validate_exceptions(self.allowed_hosts_private)


def make_webhook_client(policy: WebhookPolicy, *, max_connections: int = 4) -> httpx.Client:
    """A small pooled HTTP/1.1 client: guarded connections, verified TLS, redirects
    not followed, no proxies or netrc from the environment, no cookies."""
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=30.0,
    )
    no_cookies = http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    t = policy.timeout_s
    return httpx.Client(
        transport=netguard.GuardedTransport(policy, limits=limits, verify=True),
        follow_redirects=False,
        trust_env=False,  # env proxies would bypass the guarded transport
        cookies=no_cookies,
        timeout=httpx.Timeout(connect=t, read=t, write=t, pool=t),
        headers={"User-Agent": policy.user_agent},
    )
