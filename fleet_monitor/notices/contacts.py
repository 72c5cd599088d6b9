"""Operators' contacts (where notices and reports go) and API tokens.

Used by the CLI (``fleet-monitor operators contacts|token``) and the web pages.
Functions work in the caller's session and transaction, and record an audit
event with the change.

API tokens: ``fmt_`` + 32 random bytes (URL-safe base64). Only the SHA-256 of
a token is stored (tokens are long random values, so a fast hash is enough and
lets every request be checked with one indexed lookup); the token itself is
shown once, when created. Every token expires (``DEFAULT_TOKEN_DAYS`` unless
said otherwise, at most ``MAX_TOKEN_DAYS``); the web API also limits the
requests of each token per minute (``fleet_monitor.web.api_tokens``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from fleet_monitor.history.operators import Operator
from fleet_monitor.models.notices import CHANNELS, OperatorApiToken, OperatorContact
from fleet_monitor.users import record_audit

TOKEN_PREFIX = "fmt_"
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 730
EMAIL_RE = re.compile(r"^[^@\s,;<>]{1,64}@[^@\s,;<>]+\.[^@\s,;<>]+$")


class ContactError(ValueError):
    """A refused change; the message says why (English, for logs and the CLI)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class ContactInfo:
    id: int
    operator_id: int
    operator_slug: str
    channel: str
    address: str
    name: str
    notices: bool
    reports: bool
    active: bool


@dataclass(frozen=True, slots=True)
class TokenOwner:
    token_id: int
    operator_id: int
    operator_slug: str
    name: str


def operator_by_slug(session: Session, slug: str) -> Operator:
    op = session.scalar(select(Operator).where(Operator.slug == slug))
    if op is None:
        raise ContactError("unknown_operator", f"unknown operator {slug!r}")
    return op


def validate_address(channel: str, address: str) -> str:
    """The address, normalised; e-mail syntax or an http(s) URL without credentials."""
    address = address.strip()
    if channel not in CHANNELS:
        raise ContactError("bad_channel", f"channel must be one of {', '.join(CHANNELS)}")
    if channel == "email":
        address = address.lower()
        if len(address) > 254 or not EMAIL_RE.match(address):
            raise ContactError("bad_email", f"not an e-mail address: {address[:80]!r}")
        return address
    if len(address) > 2000 or not re.match(r"^https?://[^/@\s]+(/\S*)?$", address):
        raise ContactError("bad_url", "a webhook needs an http(s) URL without user:password@")
    return address


def add_contact(
    session: Session,
    *,
    operator_slug: str,
    channel: str,
    address: str,
    name: str = "",
    notices: bool = True,
    reports: bool = True,
    actor: str,
    actor_id: int | None = None,
    ip: str | None = None,
    url_check: Callable[[str], None] | None = None,
) -> OperatorContact:
    """Add (or re-activate) a contact. ``url_check(url)`` may refuse a webhook URL
    by raising ``ValueError`` (the network guard, see ``outbox.webhook``)."""
    op = operator_by_slug(session, operator_slug)
    address = validate_address(channel, address)
    if channel == "webhook" and url_check is not None:
        try:
            url_check(address)
        except ValueError as exc:
            raise ContactError("url_refused", f"webhook URL refused: {exc}") from None
    contact = session.scalar(
        select(OperatorContact).where(
            OperatorContact.operator_id == op.id,
            OperatorContact.channel == channel,
            OperatorContact.address == address,
        )
    )
    if contact is not None and contact.active:
        raise ContactError("exists", f"{operator_slug} already has the {channel} {address}")
    if contact is None:
        contact = OperatorContact(operator_id=op.id, channel=channel, address=address)
        session.add(contact)
    contact.name, contact.notices, contact.reports = name.strip()[:200], notices, reports
    contact.active, contact.created_by = True, actor
    session.flush()
    record_audit(
        session,
        "operator.contact_added",
        actor_id=actor_id,
        actor_email=actor,
        ip=ip,
        operator_id=op.id,
        details={"channel": channel, "address": address, "notices": notices, "reports": reports},
    )
    return contact


def remove_contact(
    session: Session,
    contact_id: int,
    *,
    actor: str,
    actor_id: int | None = None,
    ip: str | None = None,
    operator_ids: frozenset[int] | None = None,
) -> bool:
    """Deactivate a contact (kept for the deliveries that name it)."""
    contact = session.get(OperatorContact, contact_id)
    if contact is None or not contact.active:
        return False
    if operator_ids is not None and contact.operator_id not in operator_ids:
        return False
    contact.active = False
    record_audit(
        session,
        "operator.contact_removed",
        actor_id=actor_id,
        actor_email=actor,
        ip=ip,
        operator_id=contact.operator_id,
        details={"channel": contact.channel, "address": contact.address},
    )
    return True


def list_contacts(
    session: Session, *, operator_slug: str | None = None, active_only: bool = True
) -> list[ContactInfo]:
    q = select(OperatorContact, Operator.slug).join(
        Operator, Operator.id == OperatorContact.operator_id
    )
    if operator_slug is not None:
        q = q.where(Operator.slug == operator_slug)
    if active_only:
        q = q.where(OperatorContact.active)
    q = q.order_by(Operator.slug, OperatorContact.channel, OperatorContact.address)
    return [
        ContactInfo(
            c.id, c.operator_id, slug, c.channel, c.address, c.name, c.notices, c.reports, c.active
        )
        for c, slug in session.execute(q).all()
    ]


# --------------------------------------------------------------------------- tokens


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session,
    operator_slug: str,
    *,
    name: str,
    actor: str,
    actor_id: int | None = None,
    days: int = DEFAULT_TOKEN_DAYS,
    now: datetime | None = None,
) -> tuple[OperatorApiToken, str]:
    """A new API token for the operator, valid ``days``: (row, the token, shown once)."""
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise ContactError("bad_expiry", f"a token lasts 1 to {MAX_TOKEN_DAYS} days")
    op = operator_by_slug(session, operator_slug)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = OperatorApiToken(
        operator_id=op.id,
        name=(name or "api").strip()[:100],
        token_hash=token_hash(token),
        prefix=token[:10],
        created_by=actor,
        expires_at=(now or datetime.now(UTC)) + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    record_audit(
        session,
        "operator.token_created",
        actor_id=actor_id,
        actor_email=actor,
        operator_id=op.id,
        details={"token": row.prefix + "…", "name": row.name, "expires_at": row.expires_at},
    )
    return row, token


def revoke_token(session: Session, prefix: str, *, actor: str, now: datetime) -> int:
    rows = session.execute(
        update(OperatorApiToken)
        .where(OperatorApiToken.prefix == prefix, OperatorApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(OperatorApiToken.operator_id)
    ).all()
    for (operator_id,) in rows:
        record_audit(
            session,
            "operator.token_revoked",
            actor_email=actor,
            operator_id=operator_id,
            details={"token": prefix + "…"},
        )
    return len(rows)


def authenticate_token(session: Session, token: str, now: datetime) -> TokenOwner | None:
    """The operator behind a bearer token, or None (unknown, revoked, expired, malformed)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = session.execute(
        text(
            "UPDATE operator_api_token t SET last_used_at = :now FROM operator o"
            " WHERE t.token_hash = :h AND t.revoked_at IS NULL AND t.expires_at > :now"
            " AND o.id = t.operator_id"
            " RETURNING t.id, t.operator_id, o.slug, t.name"
        ),
        {"now": now, "h": token_hash(token)},
    ).first()
    return None if row is None else TokenOwner(row[0], row[1], row[2], row[3])


def token_refusal(session: Session, token: str, now: datetime) -> tuple[str, int | None]:
    """Why a token was refused: (``malformed``/``unknown``/``revoked``/``expired``, operator)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return "malformed", None
    row = session.execute(
        select(
            OperatorApiToken.revoked_at, OperatorApiToken.expires_at, OperatorApiToken.operator_id
        ).where(OperatorApiToken.token_hash == token_hash(token))
    ).first()
    if row is None:
        return "unknown", None
    return ("revoked" if row.revoked_at is not None else "expired"), row.operator_id


def list_tokens(session: Session, operator_slug: str | None = None) -> list[dict[str, object]]:
    q = select(OperatorApiToken, Operator.slug).join(
        Operator, Operator.id == OperatorApiToken.operator_id
    )
    if operator_slug is not None:
        q = q.where(Operator.slug == operator_slug)
    return [
        {
            "operator": slug,
            "prefix": t.prefix,
            "name": t.name,
            "created_at": t.created_at,
            "last_used_at": t.last_used_at,
            "revoked_at": t.revoked_at,
            "expires_at": t.expires_at,
        }
        for t, slug in session.execute(q.order_by(OperatorApiToken.id)).all()
    ]
