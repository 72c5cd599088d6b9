"""``/account/sessions``: one's signed-in sessions, and signing them out.

Each session shows its device (from the browser's User-Agent), the address it
signed in from, when it started and when it was last used (to the minute).
One session can be ended, or all of them ("sign out everywhere", this one
included). Sessions are identified in forms by the SHA-256 of their token,
never the token; only the owner's own sessions can be ended here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from fleet_monitor.users import record_audit
from fleet_monitor.web.audit import client_ip
from fleet_monitor.web.auth import restart_session
from fleet_monitor.web.db import get_engine
from fleet_monitor.web.forms import ActionForm
from fleet_monitor.web.permissions import current_user
from fleet_monitor.web.sessions import CurrentUser, end_sessions, list_sessions

bp = Blueprint("account_sessions", __name__, url_prefix="/account/sessions")


def _me() -> CurrentUser:
    user = current_user()
    assert user is not None  # not a public page
    return user


@bp.get("")
def index() -> ResponseReturnValue:
    me = _me()
    with get_engine().connect() as conn:
        sessions = list_sessions(conn, me.id, datetime.now(UTC))
    return render_template(
        "account_sessions.html", sessions=sessions, current=me.session_hash, form=ActionForm()
    )


def _audit(s: Session, me: CurrentUser, event: str, **details: object) -> None:
    record_audit(
        s,
        event,
        actor_id=me.id,
        actor_email=me.email,
        actor_role=me.role,
        ip=client_ip(),
        operator_id=me.operator_id,
        details=details,
    )


@bp.post("/<handle>/end")
def end_one(handle: str) -> ResponseReturnValue:
    me = _me()
    if not ActionForm().validate_on_submit():
        return redirect(url_for(".index")), 303
    with Session(get_engine()) as s, s.begin():
        ended = end_sessions(s.connection(), me.id, handle[:64])
        if ended:
            _audit(s, me, "session.ended", session=handle[:8])
    if ended and handle == me.session_hash:
        restart_session(None)
        flash(_("You are signed out."), "info")
        return redirect(url_for("auth.login")), 303
    if ended:
        flash(_("The session is signed out."), "info")
    return redirect(url_for(".index")), 303


@bp.post("/end-all")
def end_all() -> ResponseReturnValue:
    me = _me()
    if not ActionForm().validate_on_submit():
        return redirect(url_for(".index")), 303
    with Session(get_engine()) as s, s.begin():
        ended = end_sessions(s.connection(), me.id)
        _audit(s, me, "session.ended_all", sessions=ended)
    restart_session(None)
    flash(_("You are signed out everywhere."), "info")
    return redirect(url_for("auth.login")), 303
