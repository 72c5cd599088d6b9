"""Server-side login sessions.

The signed session cookie carries only a random token (``session["sid"]``); the
database keeps its SHA-256 with the account, creation, last use and expiry. A
session ends at logout, after ``FLEET_SESSION_IDLE_S`` without a request, after
``FLEET_SESSION_MAX_AGE_S`` in all, or when the account is disabled or its
password changed. Logging in always starts a new token and a new cookie.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, text

LAST_SEEN_RESOLUTION = timedelta(seconds=60)  # at most one write per minute per session


@dataclass(frozen=True, slots=True)
class CurrentUser:
    """The signed-in account, as the request sees it."""

    id: int
    email: str
    role: str
    operator_id: int | None
    operator_slug: str | None
    session_hash: str

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    conn: Connection,
    user_id: int,
    *,
    ip: str | None,
    user_agent: str | None,
    max_age: timedelta,
    now: datetime | None = None,
) -> str:
    """Create a session for ``user_id``; returns the token to put in the cookie."""
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    conn.execute(
        text(
            "INSERT INTO user_session"
            " (token_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent)"
            " VALUES (:h, :uid, :now, :now, :exp, :ip, :ua)"
        ),
        {
            "h": token_hash(token),
            "uid": user_id,
            "now": now,
            "exp": now + max_age,
            "ip": ip[:64] if ip else None,
            "ua": user_agent[:300] if user_agent else None,
        },
    )
    # expired sessions of anyone are dropped here, a cheap indexed delete
    conn.execute(text("DELETE FROM user_session WHERE expires_at < :now"), {"now": now})
    return token


def load_session(
    conn: Connection, token: str, *, idle: timedelta, now: datetime | None = None
) -> CurrentUser | None:
    """The account of a live session, refreshing its last use; None if ended."""
    now = now or datetime.now(UTC)
    row = conn.execute(
        text(
            "SELECT u.id, u.email, u.role, u.operator_id, o.slug, s.token_hash, s.last_seen_at"
            " FROM user_session s"
            " JOIN user_account u ON u.id = s.user_id"
            " LEFT JOIN operator o ON o.id = u.operator_id"
            " WHERE s.token_hash = :h AND s.expires_at > :now"
            " AND s.last_seen_at > :idle_since AND u.active"
        ),
        {"h": token_hash(token), "now": now, "idle_since": now - idle},
    ).one_or_none()
    if row is None:
        return None
    if now - row.last_seen_at >= LAST_SEEN_RESOLUTION:
        conn.execute(
            text("UPDATE user_session SET last_seen_at = :now WHERE token_hash = :h"),
            {"now": now, "h": row.token_hash},
        )
    return CurrentUser(
        id=row.id,
        email=row.email,
        role=row.role,
        operator_id=row.operator_id,
        operator_slug=row.slug,
        session_hash=row.token_hash,
    )


def end_session(conn: Connection, token: str) -> None:
    conn.execute(text("DELETE FROM user_session WHERE token_hash = :h"), {"h": token_hash(token)})


# --------------------------------------------------------------------------- one's sessions


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A live session as its owner sees it (``handle``: the token's hash, never the token)."""

    handle: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None

    @property
    def device(self) -> str:
        return describe_user_agent(self.user_agent)


def list_sessions(conn: Connection, user_id: int, now: datetime | None = None) -> list[SessionInfo]:
    """The account's sessions not yet expired, most recently used first."""
    rows = conn.execute(
        text(
            "SELECT token_hash, created_at, last_seen_at, expires_at, ip, user_agent"
            " FROM user_session WHERE user_id = :uid AND expires_at > :now"
            " ORDER BY last_seen_at DESC"
        ),
        {"uid": user_id, "now": now or datetime.now(UTC)},
    ).all()
    return [SessionInfo(*row) for row in rows]


def end_sessions(conn: Connection, user_id: int, handle: str | None = None) -> int:
    """End one session of ``user_id`` (by handle) or all of them; returns how many."""
    query = "DELETE FROM user_session WHERE user_id = :uid"
    if handle is not None:
        query += " AND token_hash = :h"
    result = conn.execute(text(query), {"uid": user_id, "h": handle})
    return int(result.rowcount or 0)


_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
    ("python-", "Python"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def describe_user_agent(user_agent: str | None) -> str:
    """A short "Browser · System" for a User-Agent header ("?" parts when unknown)."""
    ua = user_agent or ""
    browser = next((name for mark, name in _BROWSERS if mark in ua), None)
    system = next((name for mark, name in _SYSTEMS if mark in ua), None)
    if browser is None and system is None:
        return ua[:60] or "?"
    return f"{browser or '?'} · {system or '?'}"
