"""Accounts of the web application, their sessions, login throttling and the audit log.

* ``user_account``: one row per person (or operator staff member). ``role`` is
  one of ``officer``, ``supervisor``, ``admin`` or ``operator``; an operator
  account is bound to exactly one operator (``operator_id``), staff accounts to
  none. Accounts are disabled, never deleted, so the audit log keeps its meaning.
* ``user_session``: server-side sessions. The browser's signed cookie only
  carries a random token whose SHA-256 is the key here, so logout, disabling an
  account or changing a password ends sessions at once, in every worker.
* ``login_throttle``: failed logins per key (``account:<email>`` or ``ip:<addr>``)
  and lockouts that grow on repeat; in the database so that limits hold
  across restarts and workers.
* ``audit_log``: who did what, when, from which address.
* ``user_totp``, ``user_recovery_code``: two-factor sign-in (migration 0011);
  ``password_reset``: links sent by e-mail; ``rate_limit``: request counters.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from datastore import TS, Base

ROLES: tuple[str, ...] = ("officer", "supervisor", "admin", "operator")


class UserAccount(Base):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint("role IN ('officer', 'supervisor', 'admin', 'operator')", name="role"),
        CheckConstraint(
            "(role = 'operator') = (operator_id IS NOT NULL)", name="operator_iff_operator_role"
        ),
        CheckConstraint("email = lower(email)", name="email_lower"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    operator_id: Mapped[int | None] = mapped_column(
        ForeignKey("operator.id", ondelete="RESTRICT"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(TS, server_default=text("now()"))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    password_changed_at: Mapped[datetime] = mapped_column(TS, server_default=text("now()"))
    disabled_at: Mapped[datetime | None] = mapped_column(TS)
    last_login_at: Mapped[datetime | None] = mapped_column(TS)


class UserSession(Base):
    __tablename__ = "user_session"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(TS)
    last_seen_at: Mapped[datetime] = mapped_column(TS)
    expires_at: Mapped[datetime] = mapped_column(TS, index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class LoginThrottle(Base):
    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    lockouts: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime] = mapped_column(TS, index=True)
    locked_until: Mapped[datetime | None] = mapped_column(TS)


class AuditEvent(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_event_id", "event", "id"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(TS, server_default=text("now()"), index=True)
    event: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    actor_email: Mapped[str | None] = mapped_column(String(254))
    actor_role: Mapped[str | None] = mapped_column(String(16))
    ip: Mapped[str | None] = mapped_column(String(64))
    # the operator the event concerns (a notice, an export...), for scoped views
    operator_id: Mapped[int | None] = mapped_column(
        ForeignKey("operator.id", ondelete="SET NULL"), index=True
    )
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))


class UserTotp(Base):
    """An account's TOTP secret (RFC 6238); ``confirmed_at`` NULL while being enrolled.

    ``last_step`` is the 30-second step of the last code accepted: a code is
    accepted once (no replay within its validity window).
    """

    __tablename__ = "user_totp"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TS, server_default=text("now()"))
    confirmed_at: Mapped[datetime | None] = mapped_column(TS)
    last_step: Mapped[int | None] = mapped_column(BigInteger)


class UserRecoveryCode(Base):
    """Single-use codes that replace a TOTP code (only their SHA-256 is kept)."""

    __tablename__ = "user_recovery_code"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TS, server_default=text("now()"))
    used_at: Mapped[datetime | None] = mapped_column(TS)


class PasswordReset(Base):
    """A password-reset link sent by e-mail: single use, expiring (SHA-256 of the token)."""

    __tablename__ = "password_reset"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(TS)
    expires_at: Mapped[datetime] = mapped_column(TS)
    used_at: Mapped[datetime | None] = mapped_column(TS)
    ip: Mapped[str | None] = mapped_column(String(64))


class RateLimit(Base):
    """Requests counted per key in fixed windows (API tokens, reset e-mails)."""

    __tablename__ = "rate_limit"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(TS, index=True)
    hits: Mapped[int] = mapped_column(Integer)
