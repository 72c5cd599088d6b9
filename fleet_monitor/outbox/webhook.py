"""Signed JSON webhooks to operators, through the same network guard as feeds.

Each request carries:

* ``X-Fleet-Event``: ``notice.issued`` or ``report.daily``;
* ``X-Fleet-Delivery``: the delivery's idempotency key (deduplicate on it);
* ``X-Fleet-Timestamp``: Unix seconds when the request was signed;
* ``X-Fleet-Signature: sha256=<hex>``: HMAC-SHA256, with the operator's
  secret, of ``<timestamp>.<body>`` (the body's exact bytes). Receivers
  recompute it, compare in constant time and refuse old timestamps.

The secret is per operator and never in ``config.toml``: the environment
variable ``FLEET_WEBHOOK_SECRET_<SLUG>`` (slug upper-cased, ``-`` as ``_``) or
the file ``<notices.webhook_secrets_dir>/<slug>``. No secret: the delivery
fails (permanent), it is never sent unsigned.

URLs are checked with :func:`gbfs_ingest.netguard.check_url` (no private,
loopback or metadata addresses unless allowed by ``[notices]``) and the
connection is pinned to the checked addresses; redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from pathlib import Path

import httpx

from fleet_monitor.outbox.http_client import WebhookPolicy, make_webhook_client
from fleet_monitor.outbox.message import DeliveryError, SendReceipt, WebhookMessageSpec
from fleet_monitor.settings import NoticeSettings
from gbfs_ingest import netguard

SIGNATURE_HEADER = "X-Fleet-Signature"
TIMESTAMP_HEADER = "X-Fleet-Timestamp"
USER_AGENT = "fleet-monitor/0.1 (city notices)"
_TRANSIENT_STATUS = frozenset({408, 425, 429})


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (used by the tests and documented for operators)."""
    try:
        expected = sign(secret, int(timestamp), body)
    except ValueError:
        return False
    return hmac.compare_digest(expected, signature)


def secret_env_name(slug: str) -> str:
    return "FLEET_WEBHOOK_SECRET_" + "".join(c if c.isalnum() else "_" for c in slug).upper()


def webhook_secret(
    slug: str, settings: NoticeSettings, env: Mapping[str, str] | None = None
) -> bytes | None:
    """The operator's webhook secret from the environment or the secrets folder."""
    env = os.environ if env is None else env
    value = env.get(secret_env_name(slug))
    if value:
        return value.encode()
    if settings.webhook_secrets_dir and all(c.isalnum() or c in "-_" for c in slug):
        path = Path(settings.webhook_secrets_dir) / slug
        try:
            content = path.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return content.encode() or None
    return None


def policy_of(settings: NoticeSettings) -> WebhookPolicy:
    return WebhookPolicy(
        timeout_s=settings.webhook_timeout_s,
        allow_private_networks=settings.webhook_allow_private_networks,
        allowed_hosts_private=settings.webhook_allowed_private_hosts,
        user_agent=USER_AGENT,
    )


def check_webhook_url(url: str, settings: NoticeSettings, *, resolve: bool = True) -> None:
    """Raise ``ValueError`` if ``url`` may not receive webhooks (scheme, address...)."""
    try:
        if resolve:
            netguard.check_url(url, policy_of(settings), timeout=5.0)
        else:
            parsed = httpx.URL(url)
            if parsed.scheme not in ("http", "https") or not parsed.host or parsed.userinfo:
                raise netguard.BlockedAddress("only http(s) URLs without credentials")
    except (netguard.NetGuardError, httpx.InvalidURL) as exc:
        raise ValueError(str(exc)) from None


def post_webhook(
    url: str,
    spec: WebhookMessageSpec,
    *,
    key: str,
    secret: bytes | None,
    settings: NoticeSettings,
    timestamp: int,
    client: httpx.Client | None = None,
) -> SendReceipt:
    """POST ``spec.body`` to ``url``; raises :class:`DeliveryError`."""
    if not secret:
        raise DeliveryError(
            "permanent",
            f"no webhook secret for operator {spec.operator_slug}: set "
            f"{secret_env_name(spec.operator_slug)} or a file in notices.webhook_secrets_dir",
        )
    policy = policy_of(settings)
    try:
        addresses = netguard.check_url(url, policy, timeout=settings.webhook_timeout_s)
    except netguard.BlockedAddress as exc:
        raise DeliveryError("permanent", f"URL refused: {exc}") from None
    except netguard.ResolutionError as exc:
        raise DeliveryError("transient", str(exc)) from None
    headers = {
        "Content-Type": "application/json",
        "X-Fleet-Event": spec.event,
        "X-Fleet-Delivery": key,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, spec.body),
        **spec.headers,
    }
    own = client is None
    http = client or make_webhook_client(policy)
    try:
        with netguard.guard_context(policy) as pins:
            pins[netguard.host_and_port(httpx.URL(url))[0]] = tuple(addresses)
            response = http.post(url, content=spec.body, headers=headers)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise DeliveryError("transient", f"cannot connect: {exc}") from None
    except (httpx.WriteError, httpx.WriteTimeout) as exc:
        raise DeliveryError("transient", f"request not sent in full: {exc}") from None
    except netguard.NetGuardError as exc:
        raise DeliveryError("permanent", f"URL refused: {exc}") from None
    except httpx.HTTPError as exc:  # read timeout, protocol error: it may have arrived
        raise DeliveryError("unknown", f"no valid answer after sending: {exc!r}") from None
    finally:
        if own:
            http.close()
    status = response.status_code
    detail = f"HTTP {status} {response.reason_phrase}".strip()
    if 200 <= status < 300:
        return SendReceipt(code=status, detail=detail)
    if status >= 500 or status in _TRANSIENT_STATUS:
        raise DeliveryError("transient", detail, status)
    raise DeliveryError("permanent", detail, status)
