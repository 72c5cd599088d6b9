"""The ``delivery`` rows: enqueue, claim, record the outcome, sweep, retry, cancel.

Every function takes the caller's session and does not commit, except
:func:`claim`, which must commit on its own before anything is sent (see the
package docstring); the worker calls it with a session of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import text
from sqlalchemy.orm import Session

from datastore.connection import rowcount

Subject = Literal["notice", "report"]
_SUBJECT_COLUMN = {"notice": "notice_id", "report": "report_id"}


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    id: int
    subject: Subject
    subject_id: int
    contact_id: int | None
    channel: str
    recipient: str
    idempotency_key: str
    attempts: int  # including this one


def enqueue(
    session: Session,
    *,
    subject: Subject,
    subject_id: int,
    channel: str,
    recipient: str,
    key: str,
    now: datetime,
    contact_id: int | None = None,
) -> int | None:
    """Add a pending delivery; None if one with this idempotency key already exists."""
    column = _SUBJECT_COLUMN[subject]
    return session.execute(
        text(
            f"INSERT INTO delivery ({column}, contact_id, channel, recipient, idempotency_key,"
            " status, attempts, next_attempt_at, created_at)"
            " VALUES (:sid, :cid, :channel, :recipient, :key, 'pending', 0, :now, :now)"
            " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
        ),
        {
            "sid": subject_id,
            "cid": contact_id,
            "channel": channel,
            "recipient": recipient,
            "key": key,
            "now": now,
        },
    ).scalar()


def claim(
    session: Session,
    *,
    subject: Subject,
    now: datetime,
    worker: str,
    lease: timedelta,
    limit: int = 20,
    channels: tuple[str, ...] = ("email", "webhook"),
) -> list[ClaimedDelivery]:
    """Take up to ``limit`` due pending rows of ``subject`` for ``worker``.

    Rows locked by another sender are skipped; a row is re-checked to still be
    pending once locked. Only ``channels`` are claimed (e-mail waits, untouched,
    while no SMTP server is configured). The caller must commit before sending.
    """
    column = _SUBJECT_COLUMN[subject]
    rows = session.execute(
        text(
            "UPDATE delivery d SET status = 'sending', attempts = d.attempts + 1,"
            " claimed_by = :worker, claimed_until = :until, last_attempt_at = :now"
            " WHERE d.id IN (SELECT id FROM delivery"
            f"   WHERE status = 'pending' AND next_attempt_at <= :now AND {column} IS NOT NULL"
            "   AND channel = ANY(:channels)"
            "   ORDER BY next_attempt_at, id LIMIT :limit FOR UPDATE SKIP LOCKED)"
            " AND d.status = 'pending'"
            f" RETURNING d.id, d.{column}, d.contact_id, d.channel, d.recipient,"
            " d.idempotency_key, d.attempts"
        ),
        {
            "worker": worker,
            "until": now + lease,
            "now": now,
            "limit": limit,
            "channels": list(channels),
        },
    ).all()
    return [
        ClaimedDelivery(r[0], subject, r[1], r[2], r[3], r[4], r[5], r[6])
        for r in sorted(rows, key=lambda r: r[0])
    ]


# The outcome of an attempt is recorded even if the row was swept to ``unknown``
# meanwhile (a sender slower than its lease): it is now known.


def mark_sent(
    session: Session,
    delivery_id: int,
    worker: str,
    *,
    now: datetime,
    code: int | None,
    detail: str,
    message_id: str | None,
) -> bool:
    return bool(
        rowcount(
            session.execute(
                text(
                    "UPDATE delivery SET status = 'sent', sent_at = :now, response_code = :code,"
                    " last_error = NULL, message_id = :mid, claimed_until = NULL"
                    " WHERE id = :id AND status IN ('sending', 'unknown') AND claimed_by = :worker"
                ),
                {"now": now, "code": code, "mid": message_id, "id": delivery_id, "worker": worker},
            )
        )
    )


def backoff(attempts: int, base_s: int, max_s: int) -> timedelta:
    """Delay before the next attempt after ``attempts`` failed ones: base, 2 base, 4 base..."""
    return timedelta(seconds=min(max_s, base_s * 2 ** max(0, attempts - 1)))


def mark_failed(
    session: Session,
    delivery_id: int,
    worker: str,
    *,
    now: datetime,
    kind: str,
    error: str,
    code: int | None,
    attempts: int,
    max_attempts: int,
    base_s: int,
    max_s: int,
) -> str:
    """Record a failed attempt; returns the new status (pending, failed or unknown)."""
    if kind == "transient" and attempts < max_attempts:
        status, next_at = "pending", now + backoff(attempts, base_s, max_s)
    else:
        status, next_at = ("unknown" if kind == "unknown" else "failed"), now
        if kind == "transient":
            error = f"gave up after {attempts} attempts: {error}"
    session.execute(
        text(
            "UPDATE delivery SET status = :status, next_attempt_at = :next, last_error = :error,"
            " response_code = :code, claimed_until = NULL"
            " WHERE id = :id AND status IN ('sending', 'unknown') AND claimed_by = :worker"
        ),
        {
            "status": status,
            "next": next_at,
            "error": error[:2000],
            "code": code,
            "id": delivery_id,
            "worker": worker,
        },
    )
    return status


def sweep_stale(session: Session, now: datetime) -> int:
    """Rows still ``sending`` past their lease: their sender died mid-send. They may
    have been delivered, so they become ``unknown`` (never retried automatically)."""
    return rowcount(
        session.execute(
            text(
                "UPDATE delivery SET status = 'unknown', claimed_until = NULL,"
                " last_error = 'the sender stopped while sending: the message may have been sent'"
                " WHERE status = 'sending' AND claimed_until < :now"
            ),
            {"now": now},
        )
    )


def retry_delivery(session: Session, delivery_id: int, now: datetime) -> bool:
    """A person asks for a failed or unknown delivery to be sent again (it keeps its
    idempotency key, so the receiver can tell it is the same message)."""
    return bool(
        rowcount(
            session.execute(
                text(
                    "UPDATE delivery SET status = 'pending', next_attempt_at = :now, attempts = 0"
                    " WHERE id = :id AND status IN ('failed', 'unknown')"
                ),
                {"id": delivery_id, "now": now},
            )
        )
    )


def cancel_deliveries(session: Session, *, subject: Subject, subject_id: int) -> int:
    """Cancel the deliveries of a subject that were not sent (nor being sent)."""
    column = _SUBJECT_COLUMN[subject]
    return rowcount(
        session.execute(
            text(
                "UPDATE delivery SET status = 'cancelled'"
                f" WHERE {column} = :sid AND status IN ('pending', 'failed', 'unknown')"
            ),
            {"sid": subject_id},
        )
    )
