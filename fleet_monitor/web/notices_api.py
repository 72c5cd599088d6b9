"""JSON API for operators' systems: their notices, and acknowledging or disputing one.

Authentication, either:

* ``Authorization: Bearer <token>``: an operator's API token (created with
  ``fleet-monitor operators token create SLUG``). No cookie is involved, so
  these calls need no CSRF token: a browser never adds this header by itself;
* a signed-in session (an operator account; staff may read): state-changing
  calls then need the ``X-CSRFToken`` header, like every form of the app.

Endpoints:

* ``GET /api/notices``: the caller's notices (an operator's own only);
* ``GET /api/notices/<reference>``: one notice, with its document (payload);
* ``POST /api/notices/<reference>/acknowledge`` and ``/dispute``, with an
  optional JSON body ``{"note": "..."}``;
* ``POST /api/notices/<reference>/vehicles/<violation_id>/dispute``: dispute one
  vehicle, ``{"reason": "...", "attachments": [{"filename": "trips.csv",
  "content_base64": "..."}]}`` (the files checked as on the respond page).

An operator reading a notice here counts as the operator having read it.

A notice of another operator answers 404, as an unknown reference does.
Every response is audited with the token's prefix or the account.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Blueprint, abort, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.orm import Session

from fleet_monitor.notices import queries
from fleet_monitor.notices.actions import ActionError, Actor, respond
from fleet_monitor.notices.disputes import Upload, open_dispute
from fleet_monitor.notices.printed import notice_pdf
from fleet_monitor.notices.reading import mark_read
from fleet_monitor.outbox.documents import iso_z
from fleet_monitor.web.api_tokens import authenticate_bearer
from fleet_monitor.web.audit import client_ip
from fleet_monitor.web.cases import now
from fleet_monitor.web.db import get_engine, get_settings
from fleet_monitor.web.notice_forms import NOTE_MAX
from fleet_monitor.web.params import has_control
from fleet_monitor.web.permissions import bearer_token, current_user, visible_operator_ids

bp = Blueprint("notices_api", __name__, url_prefix="/api/notices")
bp.record_once(lambda state: exempt_from_csrf(state.app.extensions["csrf"]))


@dataclass(frozen=True, slots=True)
class Caller:
    actor: Actor
    scope: frozenset[int] | None  # operator ids; None = all (staff)
    can_respond: bool
    operator_id: int | None


def _caller() -> Caller:
    token = bearer_token()
    if token is not None:
        owner = authenticate_bearer(token)  # 401/429 on refusal (expiry, rate per token)
        actor = Actor(name=f"token:{token[:10]}", role="operator", ip=client_ip())
        return Caller(actor, frozenset({owner.operator_id}), True, owner.operator_id)
    user = current_user()
    if user is None:
        abort(401)
    if request.method == "POST":  # a session: cookies are sent cross-site, CSRF applies
        current_app.extensions["csrf"].protect()
    actor = Actor(name=user.email, id=user.id, role=user.role, ip=client_ip())
    return Caller(actor, visible_operator_ids(user), user.role == "operator", user.operator_id)


def token_or_session(
    view: Callable[..., ResponseReturnValue],
) -> Callable[..., ResponseReturnValue]:
    """Authenticate with a bearer token or the session (see the module docstring)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        g.api_caller = _caller()
        return view(*args, **kwargs)

    wrapped.authenticates_bearer = True  # type: ignore[attr-defined]
    return wrapped


def _visible(caller: Caller, operator_id: int) -> bool:
    return caller.scope is None or operator_id in caller.scope


SUMMARY_FIELDS = ("status", "urgent", "response", "outcome")


def _summary(n: Any) -> dict[str, Any]:
    """A notice (a row mapping or a ``Notice``) as the API shows it."""
    if not isinstance(n, dict):
        n = {
            k: getattr(n, k)
            for k in (
                *SUMMARY_FIELDS,
                "reference",
                "operator_slug",
                "issued_at",
                "deadline_at",
                "sent_at",
                "responded_at",
            )
        }
    return {
        "reference": n["reference"],
        "operator": n.get("operator") or n.get("operator_slug"),
        "status": n["status"],
        "urgent": n["urgent"],
        "issued_at": iso_z(n["issued_at"]),
        "deadline_at": iso_z(n["deadline_at"]),
        "sent_at": iso_z(n["sent_at"]),
        "response": n["response"],
        "responded_at": iso_z(n["responded_at"]),
        "outcome": n["outcome"],
    }


@bp.get("")
@token_or_session
def index() -> ResponseReturnValue:
    caller: Caller = g.api_caller
    scope = None if caller.scope is None else sorted(caller.scope)
    with Session(get_engine()) as s:
        rows = queries.list_notices(s, scope=scope, limit=200)
    return jsonify(notices=[_summary(r) for r in rows if r["reference"]])


@bp.get("/<reference>")
@token_or_session
def show(reference: str) -> ResponseReturnValue:
    caller: Caller = g.api_caller
    with Session(get_engine()) as s, s.begin():
        found = queries.notice_id_by_reference(s, reference)
        if found is None or not _visible(caller, found[1]):
            abort(404)
        # the act's hash is part of the answer: print the act if nothing needed it yet
        notice_pdf(s, found[0], get_settings().letterhead.logo_path, why="api")
        notice = queries.notice_detail(s, found[0])
    assert notice is not None
    if caller.can_respond:
        with Session(get_engine()) as s, s.begin():
            mark_read(s, found[0], caller.actor.name, now(), found[1])
    disputes = [
        {
            "violation_id": d["violation_id"],
            "status": d["status"],
            "reason": d["reason"],
            "submitted_at": iso_z(d["submitted_at"]),
            "decided_at": iso_z(d["decided_at"]),
            "decision_reason": d["decision_reason"],
            "attachments": [
                {"filename": a["filename"], "sha256": a["sha256"], "size": a["size_bytes"]}
                for a in d["attachments"]
            ],
        }
        for d in notice["disputes"]
    ]
    return jsonify(
        notice=_summary(notice),
        document=notice["payload"],
        pdf_sha256=notice["pdf_sha256"],
        disputes=disputes,
    )


def _respond(reference: str, response: str) -> ResponseReturnValue:
    caller: Caller = g.api_caller
    if not caller.can_respond:
        abort(403)
    body = request.get_json(silent=True) if request.data else {}
    if body is None or not isinstance(body, dict):
        return jsonify(error='the body must be a JSON object such as {"note": "..."}'), 400
    note = body.get("note") or ""
    if not isinstance(note, str):
        return jsonify(error="note must be a string"), 400
    if len(note) > NOTE_MAX:
        return jsonify(error=f"note is too long (at most {NOTE_MAX} characters)"), 400
    if has_control(note, form=True):
        return jsonify(error="note holds a control character (such as NUL)"), 400
    try:
        with Session(get_engine()) as s, s.begin():
            found = queries.notice_id_by_reference(s, reference)
            if found is None or not _visible(caller, found[1]):
                abort(404)
            notice = respond(s, found[0], response, note, caller.actor, now())
            result = _summary(notice)
    except ActionError as exc:
        status = 409 if exc.code in ("already", "not_issued") else 400
        return jsonify(error=str(exc), code=exc.code), status
    return jsonify(notice=result)


@bp.post("/<reference>/acknowledge")
@token_or_session
def acknowledge(reference: str) -> ResponseReturnValue:
    return _respond(reference, "acknowledged")


@bp.post("/<reference>/dispute")
@token_or_session
def dispute(reference: str) -> ResponseReturnValue:
    return _respond(reference, "disputed")


@bp.post("/<reference>/vehicles/<int:violation_id>/dispute")
@token_or_session
def dispute_vehicle(reference: str, violation_id: int) -> ResponseReturnValue:
    caller: Caller = g.api_caller
    if not caller.can_respond:
        abort(403)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(error='the body must be a JSON object such as {"reason": "..."}'), 400
    reason, files = body.get("reason"), body.get("attachments") or []
    if not isinstance(reason, str) or not reason.strip() or len(reason) > NOTE_MAX:
        return jsonify(error=f"reason: a text of 1 to {NOTE_MAX} characters"), 400
    if has_control(reason, form=True):
        return jsonify(error="reason holds a control character (such as NUL)"), 400
    uploads = _uploads(files)
    if uploads is None:
        return jsonify(
            error='attachments: a list of {"filename": "...", "content_base64": "..."}'
        ), 400
    try:
        with Session(get_engine()) as s, s.begin():
            found = queries.notice_id_by_reference(s, reference)
            if found is None or not _visible(caller, found[1]):
                abort(404)
            item = s.execute(
                text(
                    "SELECT id FROM notice_item WHERE notice_id = :n AND violation_id = :v"
                    " AND active"
                ),
                {"n": found[0], "v": violation_id},
            ).scalar()
            if item is None:
                abort(404)
            d = open_dispute(s, found[0], int(item), reason, uploads, caller.actor, now())
            result = {"violation_id": d.violation_id, "status": d.status}
    except ActionError as exc:
        status = 409 if exc.code in ("already", "statement_issued") else 400
        return jsonify(error=str(exc), code=exc.code), status
    return jsonify(dispute=result), 201


def _uploads(files: Any) -> list[Upload] | None:
    if not isinstance(files, list) or len(files) > 20:
        return None
    out = []
    for f in files:
        if not isinstance(f, dict):
            return None
        name, content = f.get("filename"), f.get("content_base64")
        if not isinstance(name, str) or not isinstance(content, str) or len(name) > 200:
            return None
        try:
            out.append(Upload(name, base64.b64decode(content, validate=True)))
        except (binascii.Error, ValueError):
            return None
    return out


def exempt_from_csrf(csrf: Any) -> None:
    """Token calls carry no cookie: the views check CSRF themselves for session calls."""
    for view in (acknowledge, dispute, dispute_vehicle):
        csrf.exempt(view)
