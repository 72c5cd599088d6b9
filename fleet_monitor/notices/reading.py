"""Whether a notice reached the operator, said truthfully.

``delivery_state`` sums up a notice's deliveries for the lists and pages:

* ``read``: the operator opened it (its signed link, its account page or the API);
* ``delivered``: a webhook was answered 2xx by the operator's own system;
* ``sent``: an e-mail was accepted by the mail server (that is all SMTP tells);
* ``pending``: a delivery is waiting or being sent;
* ``failed``: every delivery failed or was cancelled; ``unknown``: one may have
  arrived (the connection was lost after the message was handed over);
* ``no_contact``: the operator has no contact for notices: nothing was sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from fleet_monitor.users import record_audit

STATES: tuple[str, ...] = (
    "read",
    "delivered",
    "sent",
    "pending",
    "unknown",
    "failed",
    "no_contact",
)


def delivery_state(read_at: datetime | None, deliveries: Iterable[Mapping[str, Any]]) -> str:
    rows = list(deliveries)
    if read_at is not None:
        return "read"
    statuses = {(d["channel"], d["status"]) for d in rows}
    if ("webhook", "sent") in statuses:
        return "delivered"
    if ("email", "sent") in statuses:
        return "sent"
    if any(s in ("pending", "sending") for _c, s in statuses):
        return "pending"
    if any(s == "unknown" for _c, s in statuses):
        return "unknown"
    return "failed" if rows else "no_contact"


def mark_read(
    session: Session, notice_id: int, by: str, now: datetime, operator_id: int | None
) -> bool:
    """Record the operator's first reading of a notice (audited). True the first time."""
    done = session.execute(
        text(
            "UPDATE notice SET read_at = :now, read_by = :by"
            " WHERE id = :id AND read_at IS NULL AND status IN ('issued', 'closed')"
            " RETURNING reference"
        ),
        {"now": now, "by": by, "id": notice_id},
    ).first()
    if done is not None:
        record_audit(
            session,
            "notice.read",
            actor_email=by,
            operator_id=operator_id,
            details={"notice": done[0]},
        )
    return done is not None
