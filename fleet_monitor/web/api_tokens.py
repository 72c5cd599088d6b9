"""Operators' API tokens on the web side: expiry, a request rate per token, audit.

:func:`authenticate_bearer` is what an API view calls with the bearer token of
the request (``fleet_monitor.web.notices_api``):

* an unknown, revoked, expired or malformed token answers 401 and is recorded
  (``api.token_refused``, with the reason and the token's first characters);
  one address sending more than ``FAILED_PER_ADDRESS`` bad tokens in
  ``FAILED_WINDOW`` gets 429 without further checks (the audit log records the
  first of these refusals, not each);
* a valid token may make ``web.api_token_requests_per_minute`` requests per
  minute (all workers together); beyond, 429 with ``Retry-After``
  (``api.rate_limited``, once per window);
* every request made with a valid token is recorded by ``fleet_monitor.web.audit``
  (``g.api_token`` says which token it was).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import abort, g, jsonify
from sqlalchemy.orm import Session

from fleet_monitor.notices.contacts import TokenOwner, authenticate_token, token_refusal
from fleet_monitor.users import record_audit
from fleet_monitor.web import throttle
from fleet_monitor.web.audit import client_ip
from fleet_monitor.web.db import get_engine, get_settings

WINDOW = timedelta(minutes=1)
FAILED_PER_ADDRESS = 30
FAILED_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class TokenUse:
    prefix: str
    operator_id: int
    token_id: int


def _refuse(status: int, message: str, retry_after_s: int | None = None) -> None:
    response = jsonify(error=message)
    response.status_code = status
    if retry_after_s is not None:
        response.headers["Retry-After"] = str(retry_after_s)
    abort(response)


def authenticate_bearer(token: str, now: datetime | None = None) -> TokenOwner:
    """The owner of ``token``, or the request ends (401 or 429, see the module docstring)."""
    now = now or datetime.now(UTC)
    ip = client_ip()
    prefix = token[:10]
    per_minute = get_settings().web.api_token_requests_per_minute
    with Session(get_engine()) as s, s.begin():
        conn = s.connection()
        failed_key = "api-token-failures:" + (ip or "unknown")
        locked = throttle.locked_for(conn, [failed_key], now)
        owner = None if locked else authenticate_token(s, token, now)
        if owner is None:
            if locked:
                retry = locked
            else:
                reason, operator_id = token_refusal(s, token, now)
                record_audit(
                    s,
                    "api.token_refused",
                    ip=ip,
                    operator_id=operator_id,
                    details={"reason": reason, "token": prefix + "…"},
                )
                limits = throttle.Limits(window=FAILED_WINDOW, lockout_base=FAILED_WINDOW)
                retry = throttle.record_failure(conn, failed_key, FAILED_PER_ADDRESS, limits, now)
        else:
            rate = throttle.hit(conn, f"api-token:{owner.token_id}", per_minute, WINDOW, now)
            retry = 0 if rate.allowed else rate.retry_after_s
            if rate.first_refusal:
                record_audit(
                    s,
                    "api.rate_limited",
                    ip=ip,
                    operator_id=owner.operator_id,
                    details={"token": prefix + "…", "limit_per_minute": per_minute},
                )
    if owner is None and not retry:
        _refuse(401, "invalid, revoked or expired API token")
    if retry:
        _refuse(429, "too many requests", retry)
    assert owner is not None
    g.api_token = TokenUse(prefix=prefix, operator_id=owner.operator_id, token_id=owner.token_id)
    return owner
