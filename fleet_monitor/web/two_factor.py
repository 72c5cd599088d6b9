"""Two-factor sign-in pages (service: ``fleet_monitor.two_factor``).

* ``/login/2fa``: after a right password, the code of the authenticator app
  (or a recovery code) finishes signing in;
* ``/login/2fa/setup``: an account that must use two-factor sign-in and has
  not set it up does so before its first session (QR code made here, the
  secret also shown as text), then sees its recovery codes once;
* ``/account/2fa``: one's own set-up: enrol (any role), new recovery codes,
  turn it off (only for roles that do not require it).

Codes are throttled like passwords (``fleet_monitor.web.throttle``: per
account and per address) and every attempt is in the audit log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import segno
from flask import Blueprint, current_app, flash, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from fleet_monitor import two_factor
from fleet_monitor.models.users import UserAccount
from fleet_monitor.users import record_audit
from fleet_monitor.web import throttle
from fleet_monitor.web.account_forms import CodeForm
from fleet_monitor.web.audit import client_ip
from fleet_monitor.web.auth import PENDING_KEY, PENDING_S, open_session, restart_session
from fleet_monitor.web.db import get_engine, get_settings
from fleet_monitor.web.permissions import current_user

bp = Blueprint("two_factor", __name__)


def qr_image(uri: str) -> tuple[str, int]:
    """The QR code of ``uri`` as an SVG ``data:`` URI and its size in pixels (made
    here: no outside service sees the secret)."""
    qr = segno.make(uri, error="m")
    size, _ = qr.symbol_size(scale=5, border=4)
    return str(qr.svg_data_uri(scale=5, border=4)), int(size)


def _pending(now: datetime) -> tuple[int, str | None] | None:
    """(account id, where to go next) of a sign-in waiting for its second factor."""
    data: Any = session.get(PENDING_KEY)
    if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
        return None
    started = data.get("at")
    if not isinstance(started, int | float) or not 0 <= now.timestamp() - started <= PENDING_S:
        session.pop(PENDING_KEY, None)
        return None
    target = data.get("next")
    return data["uid"], target if isinstance(target, str) else None


def _pending_account(s: Session, now: datetime) -> tuple[UserAccount, str | None] | None:
    pending = _pending(now)
    if pending is None:
        return None
    account = s.get(UserAccount, pending[0])
    if account is None or not account.active:
        return None
    return account, pending[1]


def _throttle_keys(account: UserAccount) -> list[str]:
    return [throttle.account_key(account.email), throttle.ip_key(client_ip())]


def _failed(s: Session, account: UserAccount, reason: str, now: datetime) -> int:
    """Count a wrong code (as a wrong password); returns the lockout started, if any."""
    limits = throttle.Limits.from_app(current_app)
    conn = s.connection()
    keys = _throttle_keys(account)
    locked = max(
        throttle.record_failure(conn, keys[0], limits.account_max_failures, limits, now),
        throttle.record_failure(conn, keys[1], limits.ip_max_failures, limits, now),
    )
    record_audit(
        s,
        "login.failure",
        actor_email=account.email,
        ip=client_ip(),
        operator_id=account.operator_id,
        details={"reason": reason, **({"locked_for_s": locked} if locked else {})},
    )
    return locked


@bp.route("/login/2fa", methods=["GET", "POST"])
def verify() -> ResponseReturnValue:
    now = datetime.now(UTC)
    form = CodeForm()
    error = None
    status = 200
    with Session(get_engine()) as s, s.begin():
        found = _pending_account(s, now)
        if found is None:
            return redirect(url_for("auth.login"))
        account, target = found
        if not two_factor.is_enrolled(s, account.id):
            return redirect(url_for("two_factor.setup"))
        if form.validate_on_submit():
            if throttle.locked_for(s.connection(), _throttle_keys(account), now):
                error, status = _("Too many failed attempts. Try again later."), 429
            else:
                kind = two_factor.verify(s, account.id, form.code.data or "", now=now)
                if kind is not None:
                    throttle.clear(s.connection(), _throttle_keys(account)[0])
                    token = open_session(s, account, ip=client_ip(), now=now, second_factor=kind)
                else:
                    token = None
                    locked = _failed(s, account, "bad_code", now)
                    error, status = _("Wrong code."), 429 if locked else 400
                if token is not None:
                    left = two_factor.recovery_codes_left(s, account.id)
                    restart_session(token)
                    if kind == "recovery":
                        flash(_("Recovery code used: %(n)s left.", n=left), "info")
                    return redirect(target or url_for("map.index"))
        elif form.is_submitted():
            status = 400
    return render_template("two_factor/verify.html", form=form, error=error), status


def _setup_page(
    account: UserAccount, secret: str, form: CodeForm, error: str | None, action: str
) -> str:
    issuer = f"Fleet oversight {get_settings().city.name}"
    uri = two_factor.provisioning_uri(secret, account.email, issuer)
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    qr, qr_size = qr_image(uri)
    return render_template(
        "two_factor/setup.html",
        form=form,
        error=error,
        qr=qr,
        qr_size=qr_size,
        secret=grouped,
        action=action,
        required=account.role in get_settings().web.totp_roles,
    )


@bp.route("/login/2fa/setup", methods=["GET", "POST"])
def setup() -> ResponseReturnValue:
    """First set-up of an account that must use two-factor sign-in, while signing in."""
    now = datetime.now(UTC)
    form = CodeForm()
    with Session(get_engine()) as s, s.begin():
        found = _pending_account(s, now)
        if found is None:
            return redirect(url_for("auth.login"))
        account, target = found
        if two_factor.is_enrolled(s, account.id):
            return redirect(url_for("two_factor.verify"))
        secret = two_factor.begin_enrolment(s, account)
        if not form.validate_on_submit():
            status = 400 if form.is_submitted() else 200
            return _setup_page(account, secret, form, None, url_for(".setup")), status
        if throttle.locked_for(s.connection(), _throttle_keys(account), now):
            error = _("Too many failed attempts. Try again later.")
            return _setup_page(account, secret, form, error, url_for(".setup")), 429
        code = form.code.data or ""
        codes = two_factor.confirm_enrolment(s, account, code, now=now, ip=client_ip())
        if codes is None:
            _failed(s, account, "bad_enrolment_code", now)
            error = _("Wrong code.")
            return _setup_page(account, secret, form, error, url_for(".setup")), 400
        token = open_session(s, account, ip=client_ip(), now=now, second_factor="enrolment")
    restart_session(token)
    return render_template(
        "two_factor/codes.html", codes=codes, target=target or url_for("map.index")
    )


def _own_account(s: Session) -> UserAccount:
    user = current_user()
    assert user is not None  # not a public page
    account = s.get(UserAccount, user.id)
    assert account is not None
    return account


@bp.get("/account/2fa")
def account() -> ResponseReturnValue:
    with Session(get_engine()) as s:
        me = _own_account(s)
        enrolled = two_factor.is_enrolled(s, me.id)
        left = two_factor.recovery_codes_left(s, me.id) if enrolled else 0
        required = me.role in get_settings().web.totp_roles
    return render_template(
        "two_factor/account.html", enrolled=enrolled, left=left, required=required, form=CodeForm()
    )


@bp.route("/account/2fa/setup", methods=["GET", "POST"])
def account_setup() -> ResponseReturnValue:
    now = datetime.now(UTC)
    form = CodeForm()
    with Session(get_engine()) as s, s.begin():
        me = _own_account(s)
        if two_factor.is_enrolled(s, me.id):
            return redirect(url_for(".account"))
        secret = two_factor.begin_enrolment(s, me)
        if form.validate_on_submit():
            codes = two_factor.confirm_enrolment(
                s, me, form.code.data or "", now=now, ip=client_ip()
            )
            if codes is not None:
                page = render_template(
                    "two_factor/codes.html", codes=codes, target=url_for(".account")
                )
                return page
            record_audit(s, "2fa.enrolment_failed", actor=me, ip=client_ip())
            return _setup_page(me, secret, form, _("Wrong code."), url_for(".account_setup")), 400
        status = 400 if form.is_submitted() else 200
        return _setup_page(me, secret, form, None, url_for(".account_setup")), status


def _check_own_code(s: Session, me: UserAccount, form: CodeForm, now: datetime) -> bool:
    if not form.validate_on_submit():
        return False
    if two_factor.verify(s, me.id, form.code.data or "", now=now) is not None:
        return True
    record_audit(s, "2fa.code_refused", actor=me, ip=client_ip())
    return False


@bp.post("/account/2fa/recovery-codes")
def renew_codes() -> ResponseReturnValue:
    now = datetime.now(UTC)
    form = CodeForm()
    with Session(get_engine()) as s, s.begin():
        me = _own_account(s)
        if _check_own_code(s, me, form, now):
            codes = two_factor.regenerate_recovery_codes(s, me, ip=client_ip())
            return render_template("two_factor/codes.html", codes=codes, target=url_for(".account"))
    flash(_("Wrong code."), "error")
    return redirect(url_for(".account")), 303


@bp.post("/account/2fa/disable")
def disable() -> ResponseReturnValue:
    now = datetime.now(UTC)
    form = CodeForm()
    with Session(get_engine()) as s, s.begin():
        me = _own_account(s)
        if me.role in get_settings().web.totp_roles:
            flash(_("Your role requires two-factor sign-in."), "error")
            return redirect(url_for(".account")), 303
        done = _check_own_code(s, me, form, now)
        if done:
            two_factor.reset(s, me, actor=me, ip=client_ip(), via="web")
    if not done:
        flash(_("Wrong code."), "error")
        return redirect(url_for(".account")), 303
    restart_session(None)  # reset ended every session, this one too
    flash(_("Two-factor sign-in is off. Sign in again."), "info")
    return redirect(url_for("auth.login")), 303
