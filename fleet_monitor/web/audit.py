"""``audit(event, **details)``: record who did what, when, from where, in a request.

Other blueprints call it for notices sent, status changes, exports::

    from fleet_monitor.web.audit import audit
    audit("notice.sent", operator_id=op_id, notice="N-2026-0042", channel="email")

The actor is the signed-in account and the address the client's (``request.remote_addr``,
made right behind a reverse proxy by ``FLEET_TRUSTED_PROXIES``). Pass ``session=``
(a SQLAlchemy Session) to write in the caller's transaction, so that the action
and its record commit or roll back together; otherwise the record is committed
on its own at once. Outside a request (scheduler jobs, CLI) use
:func:`fleet_monitor.users.record_audit` directly.
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from sqlalchemy.orm import Session

from fleet_monitor.users import record_audit
from fleet_monitor.web.db import get_engine
from fleet_monitor.web.permissions import current_user


def client_ip() -> str | None:
    return request.remote_addr if has_request_context() else None


def audit(
    event: str,
    /,
    *,
    session: Session | None = None,
    operator_id: int | None = None,
    actor_email: str | None = None,
    **details: Any,
) -> None:
    """Record ``event`` by the current account with JSON-serialisable ``details``.

    ``actor_email`` names the actor when nobody is signed in (a failed login).
    """
    user = current_user() if has_request_context() else None
    kwargs: dict[str, Any] = {
        "actor_id": user.id if user else None,
        "actor_email": user.email if user else actor_email,
        "actor_role": user.role if user else None,
        "ip": client_ip(),
        "operator_id": operator_id,
        "details": details,
    }
    if session is not None:
        record_audit(session, event, **kwargs)
        return
    with Session(get_engine()) as own, own.begin():
        record_audit(own, event, **kwargs)
