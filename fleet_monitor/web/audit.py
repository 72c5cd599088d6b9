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

:func:`init_app` also records, after each request:

* ``access.refused``: a 403 or 404 answered to a signed-in account or an API
  token (anonymous visitors are sent to the login page before any of these);
* ``csrf.failed``: a form or API call refused for its CSRF token;
* ``api.token_read``: every other request made with an operator's API token;
* ``stats.api_read``: every call of the statistics JSON API (``/api/stats``).

These records are written in their own transaction; if that fails (database
down), the failure is logged and the response goes out unchanged.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from fleet_monitor.users import record_audit
from fleet_monitor.web.db import get_engine
from fleet_monitor.web.params import printable
from fleet_monitor.web.permissions import current_user

log = logging.getLogger(__name__)

REFUSED = frozenset({403, 404})
MAX_QUERY_CHARS = 500


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


def _request_details(response: Response) -> dict[str, Any]:
    details: dict[str, Any] = {
        "method": request.method,
        # control characters (a NUL in a refused path) cannot be stored: shown as "?"
        "path": printable(request.path[:300]),
        "status": response.status_code,
    }
    if request.query_string:
        query = request.query_string.decode("utf-8", "replace")[:MAX_QUERY_CHARS]
        details["query"] = printable(query)
    token = g.get("api_token")
    if token is not None:
        details["token"] = token.prefix + "…"
    return details


def access_event(response: Response) -> str | None:
    """The event to record for this finished request, if any."""
    if request.endpoint == "static":
        return None
    if g.get("csrf_failure") is not None:
        return "csrf.failed"
    token = g.get("api_token")
    if response.status_code in REFUSED and (token is not None or current_user() is not None):
        return "access.refused"
    if token is not None:  # state changes made with a token have their own records
        return "api.token_read" if request.method in ("GET", "HEAD") else None
    if request.blueprint == "stats_api":
        return "stats.api_read"
    return None


def init_app(app: Flask) -> None:
    @app.after_request
    def _audit_access(response: Response) -> Response:
        event = access_event(response)
        if event is None:
            return response
        details = _request_details(response)
        if event == "csrf.failed":
            details["reason"] = str(g.csrf_failure)[:200]
        token = g.get("api_token")
        operator_id = token.operator_id if token is not None else None
        actor = f"token:{token.prefix}…" if token is not None else None
        try:
            audit(event, operator_id=operator_id, actor_email=actor, **details)
        except SQLAlchemyError as exc:
            log.error("audit record %s not written: %s", event, exc.__class__.__name__)
        return response
