"""Password reset by e-mail (service: ``fleet_monitor.password_reset``).

* ``/password/forgot``: the e-mail address; the answer is the same whether an
  account exists or not, and the e-mail is sent by a background thread so
  that the time taken does not tell either. At most ``PER_ACCOUNT`` e-mails
  per account and ``PER_ADDRESS`` requests per client address per hour.
* ``/password/reset/<token>``: the link of the e-mail. The token is moved into
  the (signed) session cookie at once and the browser sent to
  ``/password/reset``, so that it leaves the address bar, the history and
  any Referer;
* ``/password/reset``: the new password (same policy as everywhere).

Needs ``[mail] smtp_host`` and a public address (``web.public_url``, else
``notices.public_url``): the link is never built from the request's Host
header, which a client chooses. Without them the page says to ask an
administrator (``fleet-monitor users password``).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import make_msgid

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from fleet_monitor import password_reset
from fleet_monitor.outbox.message import DeliveryError, EmailMessageSpec
from fleet_monitor.outbox.smtp import build_message, send_email
from fleet_monitor.settings import MailSettings, Settings
from fleet_monitor.users import AccountError, record_audit
from fleet_monitor.web import throttle
from fleet_monitor.web.account_forms import ForgotForm, NewPasswordForm
from fleet_monitor.web.audit import client_ip
from fleet_monitor.web.auth import account_error_message
from fleet_monitor.web.db import get_engine, get_settings

log = logging.getLogger(__name__)

bp = Blueprint("password_reset", __name__, url_prefix="/password")
TOKEN_KEY = "reset_token"
PER_ACCOUNT = 3
PER_ADDRESS = 10
HOUR = timedelta(hours=1)
MAILER_KEY = "fleet_monitor.reset_mailer"
_mailer_lock = threading.Lock()


def public_url(settings: Settings) -> str:
    return (settings.web.public_url or settings.notices.public_url).rstrip("/")


def available(settings: Settings) -> bool:
    return bool(settings.mail.smtp_host and public_url(settings))


def _mailer(app: Flask) -> ThreadPoolExecutor:
    with _mailer_lock:
        mailer: ThreadPoolExecutor | None = app.extensions.get(MAILER_KEY)
        if mailer is None:
            mailer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reset-mail")
            app.extensions[MAILER_KEY] = mailer
    return mailer


def _send(mail: MailSettings, to: str, spec: EmailMessageSpec) -> None:
    msg = build_message(
        mail, to, spec, message_id=make_msgid(domain=mail.from_address.rpartition("@")[2]),
        date=datetime.now(UTC).timestamp(),
    )  # fmt: skip
    try:
        send_email(mail, to, msg)
    except DeliveryError as exc:  # the link is never logged
        log.warning("password reset e-mail to %s not sent (%s): %s", to, exc.kind, exc)


@bp.route("/forgot", methods=["GET", "POST"])
def forgot() -> ResponseReturnValue:
    settings = get_settings()
    if not available(settings):
        return render_template("password/forgot.html", form=None, sent=False)
    form = ForgotForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("password/forgot.html", form=form, sent=False), status
    email = (form.email.data or "").strip().lower()[:254]
    ip = client_ip()
    now = datetime.now(UTC)
    found = None
    with Session(get_engine()) as s, s.begin():
        conn = s.connection()
        by_address = throttle.hit(conn, "reset-ip:" + (ip or "unknown"), PER_ADDRESS, HOUR, now)
        by_account = throttle.hit(conn, "reset-account:" + email, PER_ACCOUNT, HOUR, now)
        throttle.purge_rates(conn, now)
        if by_address.allowed and by_account.allowed:
            ttl = timedelta(seconds=settings.web.password_reset_ttl_s)
            created = password_reset.create_link_token(s, email, now=now, ttl=ttl, ip=ip)
            found = (created[0].email, created[1]) if created is not None else None
        elif by_address.first_refusal or by_account.first_refusal:
            record_audit(s, "password.reset_throttled", actor_email=email, ip=ip)
    if found is not None:
        address, token = found
        link = public_url(settings) + url_for(".link", token=token)
        minutes = settings.web.password_reset_ttl_s // 60
        context = {"link": link, "minutes": minutes, "city": settings.city.name}
        spec = EmailMessageSpec(
            subject=_("Reset your password · Fleet oversight %(city)s", city=settings.city.name),
            text=render_template("password/email.txt", **context),
            html=render_template("password/email.html", **context),
        )
        _mailer(current_app._get_current_object()).submit(  # type: ignore[attr-defined]
            _send, settings.mail, address, spec
        )
    return render_template("password/forgot.html", form=None, sent=True)


@bp.get("/reset/<token>")
def link(token: str) -> ResponseReturnValue:
    session[TOKEN_KEY] = token[:100]
    return redirect(url_for(".reset"))


def _invalid(s: Session, reason: str) -> None:
    record_audit(s, "password.reset_failed", ip=client_ip(), details={"reason": reason})


@bp.route("/reset", methods=["GET", "POST"])
def reset() -> ResponseReturnValue:
    token = session.get(TOKEN_KEY)
    now = datetime.now(UTC)
    form = NewPasswordForm()
    with Session(get_engine()) as s, s.begin():
        account = password_reset.account_for(s, token, now=now) if isinstance(token, str) else None
        if account is None:
            session.pop(TOKEN_KEY, None)
            if form.is_submitted() or isinstance(token, str):
                _invalid(s, "invalid_or_expired_link")
            return render_template("password/reset.html", form=None, email=None), 400
        email = account.email
        if not form.validate_on_submit():
            status = 400 if form.is_submitted() else 200
            return render_template("password/reset.html", form=form, email=email), status
    assert isinstance(token, str)
    try:
        with Session(get_engine()) as s, s.begin():
            done = password_reset.reset_password(
                s, token, form.new.data or "", now=now, ip=client_ip()
            )
    except AccountError as exc:  # rolled back: the link is still valid
        form.new.errors = [*form.new.errors, account_error_message(exc)]
        with Session(get_engine()) as s, s.begin():
            _invalid(s, exc.code)
        return render_template("password/reset.html", form=form, email=email), 400
    session.pop(TOKEN_KEY, None)
    if done is None:
        return render_template("password/reset.html", form=None, email=None), 400
    flash(_("Your password has been changed. Sign in with it."), "info")
    return redirect(url_for("auth.login")), 303
