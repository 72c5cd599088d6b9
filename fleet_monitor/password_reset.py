"""Password reset by e-mail: single-use links that expire.

No Flask here (``fleet_monitor.web.password_reset`` holds the pages). A link
carries a random token (32 bytes); only its SHA-256 is stored, with the
account, an expiry and the time it was used. Asking again replaces the
previous link. Using a link sets the new password, ends every session of the
account and lifts its sign-in lockout, in one transaction: a password refused
by the policy leaves the link usable.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from fleet_monitor.models.users import LoginThrottle, PasswordReset, UserAccount
from fleet_monitor.users import get_user, record_audit, set_password


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link_token(
    session: Session, email: str, *, now: datetime, ttl: timedelta, ip: str | None
) -> tuple[UserAccount, str] | None:
    """A new reset token for the active account ``email`` (None if there is none)."""
    user = get_user(session, email)
    if user is None or not user.active:
        return None
    session.execute(
        delete(PasswordReset).where(
            PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None)
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        PasswordReset(
            user_id=user.id,
            token_hash=_hash(token),
            created_at=now,
            expires_at=now + ttl,
            ip=ip[:64] if ip else None,
        )
    )
    record_audit(
        session,
        "password.reset_requested",
        actor_id=user.id,
        actor_email=user.email,
        actor_role=user.role,
        ip=ip,
        operator_id=user.operator_id,
        details={"expires_at": now + ttl},
    )
    return user, token


def account_for(session: Session, token: str, *, now: datetime) -> UserAccount | None:
    """The account a still valid (unused, unexpired) token resets, else None."""
    if not token or len(token) > 100:
        return None
    return session.scalar(
        select(UserAccount)
        .join(PasswordReset, PasswordReset.user_id == UserAccount.id)
        .where(
            PasswordReset.token_hash == _hash(token),
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > now,
            UserAccount.active,
        )
    )


def reset_password(
    session: Session, token: str, password: str, *, now: datetime, ip: str | None
) -> UserAccount | None:
    """Spend ``token`` and set ``password``; None if the token is not valid.

    Raises :class:`fleet_monitor.users.AccountError` for a password the policy
    refuses (the caller's transaction then rolls back: the token stays valid).
    """
    user = account_for(session, token, now=now)
    if user is None:
        return None
    spent = session.execute(
        update(PasswordReset)
        .where(PasswordReset.token_hash == _hash(token), PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .returning(PasswordReset.id)
    ).first()
    if spent is None:  # spent by a concurrent request
        return None
    set_password(session, user, password, actor=user, ip=ip, via="reset")
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == "account:" + user.email))
    return user
