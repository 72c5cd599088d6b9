"""Login rate limiting and request rates, stored in the database (holds across
restarts and workers).

Failures are counted per key, ``account:<email>`` and ``ip:<address>``. When a
key reaches its limit within the failure window it is locked; each further
lockout of the same key within a day doubles the duration, up to a ceiling.
While a key is locked, logins for it are refused without checking the password.
A successful login clears its account key (not its address key, which decays
with time: one's own good password must not reset the count of an address
trying others').

The per-address limit is higher than the per-account one because officers
share the city's network address.

:func:`hit` counts requests per key in fixed windows (``rate_limit`` table):
operators' API tokens, password-reset e-mails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import Connection, text

DECAY = timedelta(days=1)  # lockouts are forgotten after a day without failure


@dataclass(frozen=True, slots=True)
class Limits:
    account_max_failures: int = 5
    ip_max_failures: int = 20
    window: timedelta = timedelta(minutes=15)
    lockout_base: timedelta = timedelta(minutes=1)
    lockout_max: timedelta = timedelta(hours=1)

    @classmethod
    def from_app(cls, app: Flask) -> Limits:
        c = app.config
        return cls(
            account_max_failures=int(c["FLEET_LOGIN_ACCOUNT_MAX_FAILURES"]),
            ip_max_failures=int(c["FLEET_LOGIN_IP_MAX_FAILURES"]),
            window=timedelta(seconds=int(c["FLEET_LOGIN_FAILURE_WINDOW_S"])),
            lockout_base=timedelta(seconds=int(c["FLEET_LOGIN_LOCKOUT_BASE_S"])),
            lockout_max=timedelta(seconds=int(c["FLEET_LOGIN_LOCKOUT_MAX_S"])),
        )

    def lockout(self, n: int) -> timedelta:
        """Duration of the ``n``-th lockout (1-based): base, 2x base, 4x base... capped."""
        factor = 2 ** min(n - 1, 30)
        return min(self.lockout_base * factor, self.lockout_max)


def init_app(app: Flask) -> None:
    defaults = Limits()
    app.config.setdefault("FLEET_LOGIN_ACCOUNT_MAX_FAILURES", defaults.account_max_failures)
    app.config.setdefault("FLEET_LOGIN_IP_MAX_FAILURES", defaults.ip_max_failures)
    app.config.setdefault("FLEET_LOGIN_FAILURE_WINDOW_S", int(defaults.window.total_seconds()))
    app.config.setdefault("FLEET_LOGIN_LOCKOUT_BASE_S", int(defaults.lockout_base.total_seconds()))
    app.config.setdefault("FLEET_LOGIN_LOCKOUT_MAX_S", int(defaults.lockout_max.total_seconds()))


def account_key(email: str) -> str:
    return "account:" + email.strip().lower()[:254]


def ip_key(ip: str | None) -> str:
    return "ip:" + (ip or "unknown")[:64]


def locked_for(conn: Connection, keys: list[str], now: datetime) -> int:
    """Seconds until every one of ``keys`` is unlocked (0 if none is locked)."""
    until = conn.execute(
        text(
            "SELECT max(locked_until) FROM login_throttle"
            " WHERE key = ANY(:keys) AND locked_until > :now"
        ),
        {"keys": keys, "now": now},
    ).scalar()
    if until is None:
        return 0
    return max(1, math.ceil((until - now).total_seconds()))


def record_failure(conn: Connection, key: str, limit: int, limits: Limits, now: datetime) -> int:
    """Count a failure for ``key``; returns the lockout started (seconds), 0 if none.

    One upsert takes the row lock, so concurrent failures in several workers are
    all counted.
    """
    row = conn.execute(
        text(
            """
INSERT INTO login_throttle AS t (key, failures, lockouts, last_failure_at, locked_until)
VALUES (:key, 1, 0, :now, NULL)
ON CONFLICT (key) DO UPDATE SET
  failures = CASE WHEN t.last_failure_at < :window_start THEN 1 ELSE t.failures + 1 END,
  lockouts = CASE WHEN t.last_failure_at < :decay_start THEN 0 ELSE t.lockouts END,
  last_failure_at = :now
RETURNING failures, lockouts
"""
        ),
        {
            "key": key,
            "now": now,
            "window_start": now - limits.window,
            "decay_start": now - DECAY,
        },
    ).one()
    if row.failures < limit:
        return 0
    lockouts = row.lockouts + 1
    duration = limits.lockout(lockouts)
    conn.execute(
        text(
            "UPDATE login_throttle SET failures = 0, lockouts = :n, locked_until = :until"
            " WHERE key = :key"
        ),
        {"n": lockouts, "until": now + duration, "key": key},
    )
    return int(duration.total_seconds())


def clear(conn: Connection, key: str) -> None:
    conn.execute(text("DELETE FROM login_throttle WHERE key = :key"), {"key": key})


def purge(conn: Connection, now: datetime) -> None:
    """Forget keys whose last failure is older than a day and that are not locked."""
    conn.execute(
        text(
            "DELETE FROM login_throttle WHERE last_failure_at < :old"
            " AND (locked_until IS NULL OR locked_until < :now)"
        ),
        {"old": now - DECAY, "now": now},
    )


# --------------------------------------------------------------------------- request rates


@dataclass(frozen=True, slots=True)
class Hit:
    """One counted request: ``allowed`` unless the key is over ``limit`` in its window."""

    hits: int
    limit: int
    retry_after_s: int

    @property
    def allowed(self) -> bool:
        return self.hits <= self.limit

    @property
    def first_refusal(self) -> bool:
        return self.hits == self.limit + 1


def hit(conn: Connection, key: str, limit: int, window: timedelta, now: datetime) -> Hit:
    """Count a request for ``key`` in a fixed window that starts at its first request.

    In the database, so that the limit holds across workers and restarts; one
    upsert (row-locked), so that concurrent requests are all counted.
    """
    row = conn.execute(
        text(
            """
INSERT INTO rate_limit AS r (key, window_start, hits) VALUES (:key, :now, 1)
ON CONFLICT (key) DO UPDATE SET
  hits = CASE WHEN r.window_start <= :expired THEN 1 ELSE r.hits + 1 END,
  window_start = CASE WHEN r.window_start <= :expired THEN :now ELSE r.window_start END
RETURNING hits, window_start
"""
        ),
        {"key": key[:300], "now": now, "expired": now - window},
    ).one()
    retry = max(1, math.ceil((row.window_start + window - now).total_seconds()))
    return Hit(hits=row.hits, limit=limit, retry_after_s=retry)


def purge_rates(conn: Connection, now: datetime) -> None:
    """Forget request counts whose window started more than a day ago."""
    conn.execute(text("DELETE FROM rate_limit WHERE window_start < :old"), {"old": now - DECAY})
