"""What people do with notices and case files: respond, cancel, comment, confirm, set status.

Every function works in the caller's transaction and records an audit event
in it, so the change and its record commit together. ``actor`` is who acted
(an account's e-mail, ``token:<prefix>`` for an API token, ``cli:<user>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from datastore.connection import rowcount
from fleet_monitor.models.notices import CASE_STATUSES, RESPONSES, CaseFile, CaseNote, Notice
from fleet_monitor.outbox.store import cancel_deliveries, retry_delivery
from fleet_monitor.users import record_audit

MAX_NOTE = 4000


class ActionError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    id: int | None = None
    role: str | None = None
    ip: str | None = None


def _audit(
    session: Session, event: str, actor: Actor, operator_id: int | None, **details: object
) -> None:
    record_audit(
        session,
        event,
        actor_id=actor.id,
        actor_email=actor.name,
        actor_role=actor.role,
        ip=actor.ip,
        operator_id=operator_id,
        details=dict(details),
    )


def _locked_notice(session: Session, notice_id: int) -> Notice:
    notice = session.execute(
        select(Notice).where(Notice.id == notice_id).with_for_update()
    ).scalar_one_or_none()
    if notice is None:
        raise ActionError("not_found", f"no notice {notice_id}")
    return notice


def respond(
    session: Session, notice_id: int, response: str, note: str, actor: Actor, now: datetime
) -> Notice:
    """The operator acknowledges or disputes an issued notice (once)."""
    if response not in RESPONSES:
        raise ActionError("bad_response", f"response must be one of {', '.join(RESPONSES)}")
    notice = _locked_notice(session, notice_id)
    if notice.status not in ("issued", "closed"):
        raise ActionError(
            "not_issued", f"notice {notice.reference or notice_id} is {notice.status}"
        )
    if notice.response is not None:
        raise ActionError("already", f"notice {notice.reference} was already {notice.response}")
    notice.response, notice.responded_at = response, now
    notice.responded_by, notice.response_note = actor.name, note.strip()[:MAX_NOTE] or None
    _audit(
        session,
        f"notice.{response}",
        actor,
        notice.operator_id,
        notice=notice.reference,
        note=(notice.response_note or "")[:200],
    )
    return notice


def cancel_notice(
    session: Session, notice_id: int, reason: str, actor: Actor, now: datetime
) -> Notice:
    """Withdraw a notice: deliveries not sent are cancelled, its violations may be noticed
    again, and its penalties are void."""
    notice = _locked_notice(session, notice_id)
    if notice.status == "cancelled":
        raise ActionError("already", "this notice is already cancelled")
    if not reason.strip():
        raise ActionError("reason_required", "a reason is required to cancel a notice")
    notice.status, notice.cancelled_at = "cancelled", now
    notice.cancelled_by, notice.cancel_reason = actor.name, reason.strip()[:MAX_NOTE]
    session.execute(
        text("UPDATE notice_item SET active = false WHERE notice_id = :n"), {"n": notice_id}
    )
    void = rowcount(
        session.execute(
            text("UPDATE penalty SET status = 'void' WHERE notice_id = :n AND status = 'due'"),
            {"n": notice_id},
        )
    )
    cancelled = cancel_deliveries(session, subject="notice", subject_id=notice_id)
    _audit(
        session,
        "notice.cancelled",
        actor,
        notice.operator_id,
        notice=notice.reference or f"draft {notice_id}",
        reason=notice.cancel_reason,
        deliveries_cancelled=cancelled,
        penalties_void=void,
    )
    return notice


def retry(session: Session, delivery_id: int, actor: Actor, now: datetime) -> bool:
    row = session.execute(
        text(
            "SELECT d.recipient, d.channel, n.reference, n.operator_id, n.status"
            " FROM delivery d JOIN notice n ON n.id = d.notice_id WHERE d.id = :id"
        ),
        {"id": delivery_id},
    ).first()
    if row is None or row[4] == "cancelled":
        return False
    if not retry_delivery(session, delivery_id, now):
        return False
    _audit(
        session,
        "notice.delivery_retried",
        actor,
        row[3],
        notice=row[2],
        channel=row[1],
        recipient=row[0],
    )
    return True


# --------------------------------------------------------------------------- case files


def case_status(session: Session, violation_id: int) -> str:
    row = session.get(CaseFile, violation_id)
    return row.status if row is not None else "open"


def set_case_status(
    session: Session,
    violation_id: int,
    status: str,
    note: str,
    actor: Actor,
    now: datetime,
    operator_id: int | None,
) -> bool:
    """Change a case file's status (supervisors). False if it already had it."""
    if status not in CASE_STATUSES:
        raise ActionError("bad_status", f"status must be one of {', '.join(CASE_STATUSES)}")
    row = session.execute(
        select(CaseFile).where(CaseFile.violation_id == violation_id).with_for_update()
    ).scalar_one_or_none()
    before = row.status if row is not None else "open"
    if before == status:
        return False
    if row is None:
        row = CaseFile(violation_id=violation_id, status=status, updated_at=now)
        session.add(row)
    row.status, row.updated_at, row.updated_by_id, row.updated_by = (
        status,
        now,
        actor.id,
        actor.name,
    )
    session.add(
        CaseNote(
            violation_id=violation_id,
            at=now,
            author_id=actor.id,
            author=actor.name,
            kind="status",
            body=note.strip()[:MAX_NOTE],
            details={"from": before, "to": status},
        )
    )
    _audit(
        session,
        "case.status_changed",
        actor,
        operator_id,
        violation=violation_id,
        before=before,
        after=status,
    )
    return True


def add_note(
    session: Session,
    violation_id: int,
    body: str,
    actor: Actor,
    now: datetime,
    operator_id: int | None,
    *,
    present: bool | None = None,
) -> CaseNote:
    """An officer's comment, or an on-site confirmation (``present``: found there or not)."""
    body = body.strip()[:MAX_NOTE]
    kind = "comment" if present is None else "on_site"
    if kind == "comment" and not body:
        raise ActionError("empty", "a comment cannot be empty")
    note = CaseNote(
        violation_id=violation_id,
        at=now,
        author_id=actor.id,
        author=actor.name,
        kind=kind,
        body=body,
        present=present,
    )
    session.add(note)
    if present is True and case_status(session, violation_id) == "open":
        set_case_status(session, violation_id, "confirmed", "", actor, now, operator_id)
    _audit(
        session,
        "case.on_site" if kind == "on_site" else "case.comment",
        actor,
        operator_id,
        violation=violation_id,
        present=present,
    )
    return note
