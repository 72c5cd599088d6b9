"""Sign in, sign out, and one's own account (password change).

Signing in is one step (e-mail and password) for most accounts. Accounts with
two-factor sign-in set up, and every account of a role in ``web.totp_roles``
(admins and supervisors by default), get no session at that point: the signed
cookie only remembers, for ``PENDING_S`` seconds, whose password was right,
and ``fleet_monitor.web.two_factor`` asks for a code (or has the account set
two-factor sign-in up first) before :func:`open_session`.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet_monitor import two_factor
from fleet_monitor.models.users import UserAccount
from fleet_monitor.users import (
    AccountError,
    check_credentials,
    record_audit,
    set_password,
    verify_password,
)
from fleet_monitor.web import throttle
from fleet_monitor.web.audit import client_ip
from fleet_monitor.web.db import get_engine, get_settings
from fleet_monitor.web.forms import LoginForm, PasswordChangeForm
from fleet_monitor.web.permissions import current_user, safe_next, session_max_age
from fleet_monitor.web.sessions import end_session, start_session

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

PENDING_KEY = "mfa_pending"
PENDING_S = 300


def restart_session(token: str | None) -> None:
    """A brand-new session (new cookie, new CSRF token), keeping only the language."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    if token:
        session["sid"] = token
        session.permanent = True


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    target = safe_next(request.args.get("next"))
    if current_user() is not None and request.method == "GET":
        return redirect(target or url_for("map.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("login.html", form=form, error=None)

    email = (form.email.data or "").strip().lower()
    password = form.password.data or ""
    ip = client_ip()
    now = datetime.now(UTC)
    limits = throttle.Limits.from_app(current_app)
    keys = [throttle.account_key(email), throttle.ip_key(ip)]
    token: str | None = None
    pending: int | None = None
    locked = 0
    with Session(get_engine()) as s, s.begin():
        conn = s.connection()
        locked = throttle.locked_for(conn, keys, now)
        if locked:
            record_audit(
                s,
                "login.refused",
                actor_email=email[:254],
                ip=ip,
                details={"reason": "locked", "retry_after_s": locked},
            )
        else:
            user, reason = check_credentials(s, email, password)
            if user is None:
                account_limit, ip_limit = limits.account_max_failures, limits.ip_max_failures
                locked = max(
                    throttle.record_failure(conn, keys[0], account_limit, limits, now),
                    throttle.record_failure(conn, keys[1], ip_limit, limits, now),
                )
                throttle.purge(conn, now)
                details: dict[str, object] = {"reason": reason}
                if locked:
                    details["locked_for_s"] = locked
                    log.warning("sign-in locked for %s s: %s from %s", locked, email[:254], ip)
                record_audit(s, "login.failure", actor_email=email[:254], ip=ip, details=details)
            else:
                throttle.clear(conn, keys[0])
                roles = get_settings().web.totp_roles
                if user.role in roles or two_factor.is_enrolled(s, user.id):
                    pending = user.id
                else:
                    token = open_session(s, user, ip=ip, now=now)
    if token is not None:
        restart_session(token)
        return redirect(target or url_for("map.index"))
    if pending is not None:
        restart_session(None)
        session[PENDING_KEY] = {"uid": pending, "at": now.timestamp(), "next": target}
        return redirect(url_for("two_factor.verify"))
    if locked:
        minutes = math.ceil(locked / 60)
        error = _("Too many failed attempts. Try again in %(minutes)s min.", minutes=minutes)
        page = render_template("login.html", form=form, error=error)
        return page, 429, {"Retry-After": str(locked)}
    return render_template("login.html", form=form, error=_("Wrong e-mail address or password."))


def open_session(
    s: Session,
    user: UserAccount,
    *,
    ip: str | None,
    now: datetime,
    second_factor: str | None = None,
) -> str:
    """Start a signed-in session for ``user`` (audited); returns the cookie's token."""
    user.last_login_at = now
    token = start_session(
        s.connection(),
        user.id,
        ip=ip,
        user_agent=request.user_agent.string,
        max_age=session_max_age(current_app),
        now=now,
    )
    details = {"second_factor": second_factor} if second_factor else None
    record_audit(
        s, "login.success", actor=user, ip=ip, operator_id=user.operator_id, details=details
    )
    return token


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    # CSRFProtect has checked the token: nobody can be signed out by another site
    user = current_user()
    token = session.get("sid")
    with Session(get_engine()) as s, s.begin():
        if isinstance(token, str):
            end_session(s.connection(), token)
        if user is not None:
            record_audit(
                s,
                "logout",
                actor_id=user.id,
                actor_email=user.email,
                actor_role=user.role,
                ip=client_ip(),
                operator_id=user.operator_id,
            )
    restart_session(None)
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
def account() -> ResponseReturnValue:
    user = current_user()
    assert user is not None  # every page but the login needs an account
    form = PasswordChangeForm()
    status = 200
    if form.validate_on_submit():
        now = datetime.now(UTC)
        limits = throttle.Limits.from_app(current_app)
        key = throttle.account_key(user.email)
        with Session(get_engine()) as s, s.begin():
            account = s.scalar(select(UserAccount).where(UserAccount.id == user.id))
            assert account is not None
            conn = s.connection()
            if throttle.locked_for(conn, [key], now):
                form.current.errors.append(_("Too many failed attempts. Try again later."))
                status = 429
                _password_change_failed(s, account, "locked")
            elif not verify_password(account.password_hash, form.current.data or ""):
                throttle.record_failure(conn, key, limits.account_max_failures, limits, now)
                form.current.errors.append(_("Wrong password."))
                status = 400
                _password_change_failed(s, account, "wrong_current_password")
            else:
                try:
                    set_password(
                        s,
                        account,
                        form.new.data or "",
                        actor=account,
                        ip=client_ip(),
                        keep_session=user.session_hash,
                    )
                except AccountError as exc:  # refused before anything changed
                    form.new.errors.append(account_error_message(exc))
                    status = 400
                    _password_change_failed(s, account, exc.code)
        if status == 200:
            flash(_("Your password has been changed."), "info")
            return redirect(url_for("auth.account"))
    elif request.method == "POST":
        status = 400
        with Session(get_engine()) as s, s.begin():
            account = s.get(UserAccount, user.id)
            assert account is not None
            _password_change_failed(s, account, "invalid_form")
    return render_template("account.html", form=form), status


def _password_change_failed(s: Session, account: UserAccount, reason: str) -> None:
    record_audit(
        s,
        "password.change_failed",
        actor=account,
        ip=client_ip(),
        operator_id=account.operator_id,
        details={"reason": reason},
    )


def account_error_message(exc: AccountError) -> str:
    """A refused account operation in the user's language."""
    messages = {
        "password_too_short": _("The password is too short."),
        "password_too_long": _("The password is too long."),
        "password_is_email": _("The password must not be the e-mail address."),
        "password_common": _(
            "This password is too common: it appears in lists of leaked passwords."
        ),
        "password_repetitive": _("This password repeats too few different characters."),
        "bad_email": _("This is not an e-mail address."),
        "bad_role": _("Unknown role."),
        "operator_required": _("An operator staff account needs an operator."),
        "operator_not_allowed": _("Only operator staff accounts are bound to an operator."),
        "unknown_operator": _("Unknown operator."),
        "exists": _("An account with this e-mail address already exists."),
        "last_admin": _("The last active administrator cannot be disabled."),
    }
    return messages.get(exc.code, str(exc))
