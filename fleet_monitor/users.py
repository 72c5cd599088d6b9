"""Account service: create, list, disable accounts, check passwords, record audit events.

Used by the CLI (``fleet-monitor users ...``) and the web application; no Flask
here. Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's
second recommended option) and re-hashed at login when the parameters change.

Every function works inside the caller's SQLAlchemy session and transaction,
so an action and its audit record commit together.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from fleet_monitor.history.operators import Operator
from fleet_monitor.models.users import ROLES, AuditEvent, UserAccount, UserSession, UserTotp
from fleet_monitor.passwords import (
    MAX_PASSWORD_LENGTH,
    PasswordRejected,
    check_password,
)

log = logging.getLogger(__name__)

STAFF_ROLES: tuple[str, ...] = ("officer", "supervisor", "admin")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")

_hasher = PasswordHasher(type=Type.ID)


class AccountError(ValueError):
    """A refused account operation; the message says why (in English, for logs and CLI)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class UserInfo:
    """An account as shown in lists (never the password hash)."""

    id: int
    email: str
    role: str
    operator_slug: str | None
    operator_name: str | None
    active: bool
    created_at: datetime
    last_login_at: datetime | None
    two_factor: bool = False


# --------------------------------------------------------------------------- passwords


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    # verified against when the account does not exist, so that the answer takes
    # as long as for a real account (no account enumeration by timing)
    return _hasher.hash("not a password of anyone")


def check_password_policy(password: str, email: str | None = None) -> None:
    """Raise AccountError ``password_<reason>`` (see :mod:`fleet_monitor.passwords`)."""
    try:
        check_password(password, email)
    except PasswordRejected as exc:
        raise AccountError(f"password_{exc.code}", str(exc)) from None


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise AccountError("bad_email", f"not an e-mail address: {email[:80]!r}")
    return email


# --------------------------------------------------------------------------- accounts


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    role: str,
    operator_slug: str | None = None,
    actor: UserAccount | None = None,
    ip: str | None = None,
    via: str = "web",
) -> UserAccount:
    """Create an active account; operator accounts need ``operator_slug``, staff none."""
    email = normalise_email(email)
    if role not in ROLES:
        raise AccountError("bad_role", f"role must be one of {', '.join(ROLES)}")
    check_password_policy(password, email)
    operator_id: int | None = None
    if role == "operator":
        if not operator_slug:
            raise AccountError("operator_required", "an operator account needs --operator SLUG")
        operator_id = session.scalar(select(Operator.id).where(Operator.slug == operator_slug))
        if operator_id is None:
            raise AccountError("unknown_operator", f"unknown operator {operator_slug!r}")
    elif operator_slug:
        raise AccountError("operator_not_allowed", f"a {role} account is not bound to an operator")
    if session.scalar(select(UserAccount.id).where(UserAccount.email == email)) is not None:
        raise AccountError("exists", f"an account {email} already exists")
    user = UserAccount(
        email=email,
        password_hash=hash_password(password),
        role=role,
        operator_id=operator_id,
        active=True,
        created_by_id=actor.id if actor else None,
        password_changed_at=datetime.now(UTC),
    )
    session.add(user)
    session.flush()
    record_audit(
        session,
        "account.created",
        actor=actor,
        ip=ip,
        operator_id=operator_id,
        details={"account": email, "role": role, "operator": operator_slug, "via": via},
    )
    return user


def get_user(session: Session, email: str) -> UserAccount | None:
    try:
        email = normalise_email(email)
    except AccountError:
        return None
    return session.scalar(select(UserAccount).where(UserAccount.email == email))


def list_users(session: Session) -> list[UserInfo]:
    rows = session.execute(
        select(UserAccount, Operator.slug, Operator.name, UserTotp.confirmed_at)
        .outerjoin(Operator, Operator.id == UserAccount.operator_id)
        .outerjoin(UserTotp, UserTotp.user_id == UserAccount.id)
        .order_by(UserAccount.active.desc(), UserAccount.email)
    ).all()
    return [
        UserInfo(
            id=u.id,
            email=u.email,
            role=u.role,
            operator_slug=slug,
            operator_name=name,
            active=u.active,
            created_at=u.created_at,
            last_login_at=u.last_login_at,
            two_factor=confirmed is not None,
        )
        for u, slug, name, confirmed in rows
    ]


def set_active(
    session: Session,
    user: UserAccount,
    active: bool,
    *,
    actor: UserAccount | None = None,
    ip: str | None = None,
    via: str = "web",
) -> bool:
    """Enable or disable an account; disabling ends its sessions. False if nothing changed."""
    if user.active == active:
        return False
    if not active and user.role == "admin" and user.active and _active_admins(session) <= 1:
        raise AccountError("last_admin", "the last active admin account cannot be disabled")
    user.active = active
    user.disabled_at = None if active else datetime.now(UTC)
    if not active:
        session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    record_audit(
        session,
        "account.enabled" if active else "account.disabled",
        actor=actor,
        ip=ip,
        operator_id=user.operator_id,
        details={"account": user.email, "via": via},
    )
    return True


def set_password(
    session: Session,
    user: UserAccount,
    password: str,
    *,
    actor: UserAccount | None = None,
    ip: str | None = None,
    via: str = "web",
    keep_session: str | None = None,
) -> None:
    """Set a new password and end the account's other sessions."""
    check_password_policy(password, user.email)
    user.password_hash = hash_password(password)
    user.password_changed_at = datetime.now(UTC)
    ended = delete(UserSession).where(UserSession.user_id == user.id)
    if keep_session is not None:
        ended = ended.where(UserSession.token_hash != keep_session)
    session.execute(ended)
    record_audit(
        session,
        "password.changed",
        actor=actor,
        ip=ip,
        operator_id=user.operator_id,
        details={"account": user.email, "via": via},
    )


def _active_admins(session: Session) -> int:
    count = session.scalar(
        select(func.count()).where(UserAccount.role == "admin", UserAccount.active)
    )
    return int(count or 0)


def check_credentials(
    session: Session, email: str, password: str
) -> tuple[UserAccount | None, str]:
    """The account if the password is right and the account active, and a reason code.

    Reasons: ``ok``, ``unknown_account``, ``bad_password``, ``disabled``. Takes the
    same time whether the account exists or not. A hash made with older
    parameters is upgraded.
    """
    user = get_user(session, email) if len(password) <= MAX_PASSWORD_LENGTH else None
    if user is None:
        verify_password(_dummy_hash(), password[:MAX_PASSWORD_LENGTH])
        return None, "unknown_account"
    if not verify_password(user.password_hash, password):
        return None, "bad_password"
    if not user.active:
        return None, "disabled"
    if _hasher.check_needs_rehash(user.password_hash):
        session.execute(
            update(UserAccount)
            .where(UserAccount.id == user.id)
            .values(password_hash=hash_password(password))
        )
    return user, "ok"


# --------------------------------------------------------------------------- audit


def record_audit(
    session: Session,
    event: str,
    *,
    actor: UserAccount | None = None,
    actor_id: int | None = None,
    actor_email: str | None = None,
    actor_role: str | None = None,
    ip: str | None = None,
    operator_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add one audit record in the session's transaction (no commit here).

    ``event`` is a dotted name (``login.success``, ``notice.sent``,
    ``case.status_changed``, ``export.downloaded``...); ``details`` must be JSON
    serialisable (other values are stored as their string) and never hold a
    secret. ``operator_id`` names the operator the event concerns, if any.
    """
    if actor is not None:
        actor_id, actor_email, actor_role = actor.id, actor.email, actor.role
    session.add(
        AuditEvent(
            event=event[:64],
            actor_id=actor_id,
            actor_email=actor_email,
            actor_role=actor_role,
            ip=ip[:64] if ip else None,
            operator_id=operator_id,
            details=_jsonable(details or {}),
        )
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
