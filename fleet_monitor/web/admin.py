"""Administration pages (admin role only): accounts and the audit log.

An administrator can disable or enable an account and reset its two-factor
sign-in (lost phone): the account then sets it up again at its next sign-in.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet_monitor import two_factor
from fleet_monitor.history.operators import Operator
from fleet_monitor.models.users import AuditEvent, UserAccount
from fleet_monitor.users import AccountError, create_user, list_users, set_active
from fleet_monitor.web.audit import client_ip
from fleet_monitor.web.auth import account_error_message
from fleet_monitor.web.db import get_engine
from fleet_monitor.web.forms import ActionForm, UserCreateForm, role_choices
from fleet_monitor.web.params import arg_choice, arg_int
from fleet_monitor.web.permissions import current_user, require_role

bp = Blueprint("admin", __name__, url_prefix="/admin")

AUDIT_PAGE = 100
EVENT_FAMILIES = (
    "login",
    "logout",
    "account",
    "password",
    "2fa",
    "session",
    "access",
    "csrf",
    "api",
    "stats",
    "notice",
    "case",
    "export",
)


def _actor(s: Session) -> UserAccount:
    user = current_user()
    account = s.get(UserAccount, user.id) if user else None
    if account is None:
        abort(403)
    return account


def _create_form() -> UserCreateForm:
    form = UserCreateForm()
    form.role.choices = role_choices()
    with Session(get_engine()) as s:
        operators = s.execute(select(Operator.slug, Operator.name).order_by(Operator.name)).all()
    form.operator.choices = [("", "—"), *((slug, f"{name} ({slug})") for slug, name in operators)]
    return form


def _users_page(form: UserCreateForm, status: int = 200) -> ResponseReturnValue:
    with Session(get_engine()) as s:
        users = list_users(s)
    return (
        render_template("admin/users.html", users=users, form=form, action_form=ActionForm()),
        status,
    )


@bp.get("/users")
@require_role("admin")
def users() -> ResponseReturnValue:
    return _users_page(_create_form())


@bp.post("/users")
@require_role("admin")
def create() -> ResponseReturnValue:
    form = _create_form()
    if not form.validate_on_submit():
        return _users_page(form, 400)
    try:
        with Session(get_engine()) as s, s.begin():
            created = create_user(
                s,
                email=form.email.data or "",
                password=form.password.data or "",
                role=form.role.data or "",
                operator_slug=form.operator.data or None,
                actor=_actor(s),
                ip=client_ip(),
                via="web",
            )
            email = created.email
    except AccountError as exc:
        field = form.password if exc.code.startswith("password") else form.email
        if exc.code in ("operator_required", "operator_not_allowed", "unknown_operator"):
            field = form.operator
        field.errors = [*field.errors, account_error_message(exc)]
        return _users_page(form, 400)
    flash(_("Account %(email)s created.", email=email), "info")
    return redirect(url_for("admin.users"))


def _set_active(user_id: int, active: bool) -> ResponseReturnValue:
    try:
        with Session(get_engine()) as s, s.begin():
            account = s.get(UserAccount, user_id)
            if account is None:
                abort(404)
            actor = _actor(s)
            if account.id == actor.id and not active:
                raise AccountError("self", "an administrator cannot disable their own account")
            changed = set_active(s, account, active, actor=actor, ip=client_ip(), via="web")
            email = account.email
    except AccountError as exc:
        message = (
            _("You cannot disable your own account.")
            if exc.code == "self"
            else account_error_message(exc)
        )
        flash(message, "error")
        return redirect(url_for("admin.users")), 303
    if changed and active:
        flash(_("Account %(email)s enabled.", email=email), "info")
    elif changed:
        flash(_("Account %(email)s disabled.", email=email), "info")
    return redirect(url_for("admin.users")), 303


@bp.post("/users/<int:user_id>/disable")
@require_role("admin")
def disable(user_id: int) -> ResponseReturnValue:
    return _set_active(user_id, False)


@bp.post("/users/<int:user_id>/enable")
@require_role("admin")
def enable(user_id: int) -> ResponseReturnValue:
    return _set_active(user_id, True)


@bp.post("/users/<int:user_id>/reset-2fa")
@require_role("admin")
def reset_two_factor(user_id: int) -> ResponseReturnValue:
    with Session(get_engine()) as s, s.begin():
        account = s.get(UserAccount, user_id)
        if account is None:
            abort(404)
        actor = _actor(s)
        if account.id == actor.id:
            flash(_("Reset your own two-factor sign-in from your account page."), "error")
            return redirect(url_for("admin.users")), 303
        done = two_factor.reset(s, account, actor=actor, ip=client_ip(), via="web")
        email = account.email
    if done:
        flash(
            _("Two-factor sign-in of %(email)s reset: set up again at next sign-in.", email=email),
            "info",
        )
    return redirect(url_for("admin.users")), 303


@bp.get("/audit")
@require_role("admin")
def audit_log() -> ResponseReturnValue:
    family = arg_choice("event", EVENT_FAMILIES) or ""
    before = arg_int("before", default=0, minimum=1)
    query = select(AuditEvent, Operator.slug).outerjoin(
        Operator, Operator.id == AuditEvent.operator_id
    )
    if family:
        query = query.where(
            (AuditEvent.event == family) | AuditEvent.event.startswith(family + ".")
        )
    if before:
        query = query.where(AuditEvent.id < before)
    query = query.order_by(AuditEvent.id.desc()).limit(AUDIT_PAGE + 1)
    with Session(get_engine()) as s:
        rows = s.execute(query).all()
    more = len(rows) > AUDIT_PAGE
    events: list[dict[str, Any]] = [
        {
            "id": e.id,
            "at": e.at,
            "event": e.event,
            "actor": e.actor_email,
            "role": e.actor_role,
            "ip": e.ip,
            "operator": slug,
            "details": sorted((e.details or {}).items()),
        }
        for e, slug in rows[:AUDIT_PAGE]
    ]
    return render_template(
        "admin/audit.html",
        events=events,
        family=family,
        families=EVENT_FAMILIES,
        next_before=events[-1]["id"] if more and events else None,
    )
