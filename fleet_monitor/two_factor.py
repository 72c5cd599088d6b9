"""Two-factor sign-in: TOTP codes (RFC 6238, an authenticator app) and recovery codes.

No Flask here: the web (``fleet_monitor.web.two_factor``) and the CLI
(``fleet-monitor users reset-2fa``) use these functions in the caller's
transaction; each change is recorded in the audit log.

* Enrolment: :func:`begin_enrolment` gives a new secret (kept unconfirmed);
  :func:`confirm_enrolment` checks a first code from the app, confirms it and
  returns ``RECOVERY_CODES`` fresh recovery codes, shown once.
* Sign-in: :func:`verify` accepts a current code (one 30-second step of clock
  drift either way), each code once only, or an unused recovery code, which is
  then spent.
* :func:`reset` (an administrator, or the CLI) removes both, so that the
  account enrols again at its next sign-in.

Secrets are stored as they are (base32) in ``user_totp``: the server must read
them to check codes. Recovery codes have 79 random bits (16 characters of 31) and only their SHA-256
is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

import pyotp
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from fleet_monitor.models.users import UserAccount, UserRecoveryCode, UserSession, UserTotp
from fleet_monitor.users import record_audit

RECOVERY_CODES = 10
DRIFT_STEPS = 1
_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def is_enrolled(session: Session, user_id: int) -> bool:
    confirmed = session.scalar(select(UserTotp.confirmed_at).where(UserTotp.user_id == user_id))
    return confirmed is not None


def provisioning_uri(secret: str, email: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def begin_enrolment(session: Session, user: UserAccount) -> str:
    """The secret to enrol (kept until confirmed; the same one on each call)."""
    row = session.get(UserTotp, user.id, with_for_update=True)
    if row is not None and row.confirmed_at is not None:
        raise ValueError("two-factor sign-in is already set up")
    if row is None:
        row = UserTotp(user_id=user.id, secret=pyotp.random_base32(), created_at=datetime.now(UTC))
        session.add(row)
        session.flush()
    return row.secret


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def confirm_enrolment(
    session: Session, user: UserAccount, code: str, *, now: datetime, ip: str | None
) -> list[str] | None:
    """Confirm with a first code: the recovery codes to show, or None if the code is wrong."""
    row = session.get(UserTotp, user.id, with_for_update=True)
    if row is None or row.confirmed_at is not None:
        return None
    step = _matching_step(row.secret, code, now)
    if step is None:
        return None
    row.confirmed_at = now
    row.last_step = step
    codes = _new_recovery_codes(session, user.id)
    record_audit(session, "2fa.enrolled", actor=user, ip=ip, operator_id=user.operator_id)
    return codes


def verify(session: Session, user_id: int, code: str, *, now: datetime) -> str | None:
    """``totp`` or ``recovery`` when ``code`` signs ``user_id`` in, else None.

    A TOTP code is accepted once: its step must be after the last accepted one.
    """
    row = session.get(UserTotp, user_id, with_for_update=True)
    if row is None or row.confirmed_at is None:
        return None
    step = _matching_step(row.secret, code, now)
    if step is not None:
        if row.last_step is not None and step <= row.last_step:
            return None  # replayed
        row.last_step = step
        return "totp"
    spent = session.execute(
        update(UserRecoveryCode)
        .where(
            UserRecoveryCode.user_id == user_id,
            UserRecoveryCode.code_hash == _code_hash(code),
            UserRecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .returning(UserRecoveryCode.id)
    ).first()
    return "recovery" if spent is not None else None


def recovery_codes_left(session: Session, user_id: int) -> int:
    rows = session.scalars(
        select(UserRecoveryCode.id).where(
            UserRecoveryCode.user_id == user_id, UserRecoveryCode.used_at.is_(None)
        )
    ).all()
    return len(rows)


def regenerate_recovery_codes(session: Session, user: UserAccount, *, ip: str | None) -> list[str]:
    """New recovery codes replacing the old ones (shown once)."""
    codes = _new_recovery_codes(session, user.id)
    record_audit(
        session, "2fa.recovery_codes_renewed", actor=user, ip=ip, operator_id=user.operator_id
    )
    return codes


def reset(
    session: Session,
    user: UserAccount,
    *,
    actor: UserAccount | None,
    ip: str | None,
    via: str,
) -> bool:
    """Remove the account's two-factor set-up and end its sessions; False if it had none."""
    found = session.execute(
        delete(UserTotp).where(UserTotp.user_id == user.id).returning(UserTotp.user_id)
    ).first()
    session.execute(delete(UserRecoveryCode).where(UserRecoveryCode.user_id == user.id))
    if found is None:
        return False
    session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    record_audit(
        session,
        "2fa.reset",
        actor=actor,
        ip=ip,
        operator_id=user.operator_id,
        details={"account": user.email, "via": via},
    )
    return True


def _new_recovery_codes(session: Session, user_id: int) -> list[str]:
    session.execute(delete(UserRecoveryCode).where(UserRecoveryCode.user_id == user_id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(16))
        code = "-".join(raw[i : i + 4] for i in range(0, 16, 4))
        codes.append(code)
        session.add(UserRecoveryCode(user_id=user_id, code_hash=_code_hash(code)))
    session.flush()
    return codes


def _code_hash(code: str) -> str:
    """Recovery codes are compared without case, spaces or dashes."""
    canonical = "".join(c for c in code.lower() if c.isalnum())
    return hashlib.sha256(canonical.encode()).hexdigest()
