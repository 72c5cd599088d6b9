"""Notices to operators: list, detail, PDF, responses, and the supervisors' actions.

* ``GET /notices/``, ``GET /notices/<id>``, ``GET /notices/<id>/pdf`` (audited);
* ``POST /notices/<id>/respond``: the operator acknowledges or disputes;
* ``POST /notices/<id>/issue`` (a draft), ``/cancel``, and
  ``POST /notices/deliveries/<id>/retry``: supervisors and admins;
* ``GET|POST /notices/contacts``: operators' contacts (supervisors, admins).

Operator accounts see their own notices only (another operator's id: 404).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet_monitor.history.operators import Operator
from fleet_monitor.models.notices import Delivery, Notice
from fleet_monitor.notices import queries
from fleet_monitor.notices.actions import ActionError, cancel_notice, respond, retry
from fleet_monitor.notices.contacts import ContactError, add_contact, list_contacts, remove_contact
from fleet_monitor.notices.document_html import page_html
from fleet_monitor.notices.legal import make_respond_token
from fleet_monitor.notices.planner import NoticeError, issue_notice
from fleet_monitor.notices.printed import notice_pdf
from fleet_monitor.notices.reading import mark_read
from fleet_monitor.outbox.webhook import check_webhook_url, secret_env_name
from fleet_monitor.web.audit import audit
from fleet_monitor.web.cases import SUPERVISORS, actor, now
from fleet_monitor.web.db import get_engine, get_settings
from fleet_monitor.web.dispute_forms import DecisionForm
from fleet_monitor.web.forms import ActionForm
from fleet_monitor.web.notice_forms import CancelForm, ContactForm, ResponseForm
from fleet_monitor.web.params import arg_choice, arg_offset
from fleet_monitor.web.permissions import (
    current_user,
    ensure_operator_visible,
    require_role,
    scope_param,
)

bp = Blueprint("notices", __name__, url_prefix="/notices")

PAGE = 50
STATUSES = ("draft", "issued", "closed", "cancelled")


def load_notice(s: Session, notice_id: int) -> dict[str, Any]:
    notice = queries.notice_detail(s, notice_id)
    if notice is None:
        abort(404)
    ensure_operator_visible(notice["operator_id"])
    return notice


@bp.get("/")
def index() -> ResponseReturnValue:
    status = arg_choice("status", STATUSES)
    offset = arg_offset()
    with Session(get_engine()) as s:
        rows = queries.list_notices(
            s, scope=scope_param(), status=status, limit=PAGE + 1, offset=offset
        )
    return render_template(
        "notices/list.html",
        notices=rows[:PAGE],
        status=status,
        statuses=STATUSES,
        more=len(rows) > PAGE,
        offset=offset,
        page=PAGE,
    )


def render_notice(notice_id: int, status: int = 200, **forms: object) -> ResponseReturnValue:
    user = current_user()
    with Session(get_engine()) as s:
        notice = load_notice(s, notice_id)
    link = None
    secret = get_settings().web.secret_key
    if user is not None and user.role == "operator" and notice["reference"] and secret:
        # the operator's own way to dispute vehicle by vehicle: the respond page
        expires = (notice["deadline_at"] or now()) + timedelta(
            seconds=get_settings().letterhead.respond_link_ttl_s
        )
        token = make_respond_token(secret.reveal(), notice["id"], notice["reference"], expires)
        link = url_for("respond.page", token=token)
    page = render_template(
        "notices/detail.html",
        respond_url=link,
        n=notice,
        document=page_html(notice["payload"]) if notice.get("payload") else None,
        is_operator=user is not None and user.role == "operator",
        supervisor=user is not None and user.role in SUPERVISORS,
        response_form=forms.get("response_form") or ResponseForm(),
        cancel_form=forms.get("cancel_form") or CancelForm(),
        action_form=ActionForm(),
        decision_form=DecisionForm(),
    )
    return page, status


@bp.get("/<int:notice_id>")
def detail(notice_id: int) -> ResponseReturnValue:
    user = current_user()
    if user is not None and user.role == "operator":  # the operator read it
        with Session(get_engine()) as s, s.begin():
            mark_read(s, load_notice(s, notice_id)["id"], user.email, now(), user.operator_id)
    return render_notice(notice_id)


@bp.get("/<int:notice_id>/pdf")
def pdf(notice_id: int) -> ResponseReturnValue:
    with Session(get_engine()) as s, s.begin():
        notice = s.get(Notice, notice_id)
        if notice is None:
            abort(404)
        ensure_operator_visible(notice.operator_id)
        reference, operator_id = notice.reference, notice.operator_id
        printed = notice_pdf(s, notice_id, get_settings().letterhead.logo_path, why="download")
        if printed is None:
            abort(404)
        data = printed[0]
    audit("export.notice_pdf", operator_id=operator_id, notice=reference)
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{reference}.pdf"'
    return response


@bp.post("/<int:notice_id>/respond")
@require_role("operator")
def respond_form(notice_id: int) -> ResponseReturnValue:
    form = ResponseForm()
    if not form.validate_on_submit():
        return render_notice(notice_id, 400, response_form=form)
    try:
        with Session(get_engine()) as s, s.begin():
            load_notice(s, notice_id)
            respond(s, notice_id, form.action.data or "", form.note.data or "", actor(), now())
    except ActionError as exc:
        flash(_("This notice cannot be answered: %(why)s", why=_response_error(exc.code)), "error")
        return redirect(url_for("notices.detail", notice_id=notice_id))
    flash(_("Your response was recorded."), "info")
    return redirect(url_for("notices.detail", notice_id=notice_id))


def _response_error(code: str) -> str:
    return {
        "already": _("it was already answered"),
        "not_issued": _("it is not issued or was cancelled"),
    }.get(code, code)


@bp.post("/<int:notice_id>/issue")
@require_role(*SUPERVISORS)
def issue(notice_id: int) -> ResponseReturnValue:
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    who = actor()
    try:
        with Session(get_engine()) as s, s.begin():
            load_notice(s, notice_id)
            reference = issue_notice(
                s, notice_id, now(), get_settings(), by=who.name, actor_id=who.id, ip=who.ip
            )
    except NoticeError as exc:
        flash(str(exc), "error")
        return redirect(url_for("notices.detail", notice_id=notice_id))
    flash(_("Notice %(reference)s issued.", reference=reference), "info")
    return redirect(url_for("notices.detail", notice_id=notice_id))


@bp.post("/<int:notice_id>/cancel")
@require_role(*SUPERVISORS)
def cancel(notice_id: int) -> ResponseReturnValue:
    form = CancelForm()
    if not form.validate_on_submit():
        return render_notice(notice_id, 400, cancel_form=form)
    try:
        with Session(get_engine()) as s, s.begin():
            load_notice(s, notice_id)
            cancel_notice(s, notice_id, form.reason.data or "", actor(), now())
    except ActionError:
        flash(_("This notice is already cancelled."), "error")
        return redirect(url_for("notices.detail", notice_id=notice_id))
    flash(_("Notice cancelled."), "info")
    return redirect(url_for("notices.detail", notice_id=notice_id))


@bp.post("/deliveries/<int:delivery_id>/retry")
@require_role(*SUPERVISORS)
def retry_delivery(delivery_id: int) -> ResponseReturnValue:
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    with Session(get_engine()) as s, s.begin():
        delivery = s.get(Delivery, delivery_id)
        if delivery is None or delivery.notice_id is None:
            abort(404)
        notice_id = delivery.notice_id
        done = retry(s, delivery_id, actor(), now())
    if done:
        flash(_("The message will be sent again."), "info")
    return redirect(url_for("notices.detail", notice_id=notice_id) + "#deliveries")


# --------------------------------------------------------------------------- contacts


def _contact_form() -> ContactForm:
    form = ContactForm()
    with Session(get_engine()) as s:
        ops = s.execute(select(Operator.slug, Operator.name).order_by(Operator.name)).all()
    form.operator.choices = [(slug, f"{name} ({slug})") for slug, name in ops]
    return form


def _contacts_page(form: ContactForm, status: int = 200) -> ResponseReturnValue:
    with Session(get_engine()) as s:
        contacts = list_contacts(s)
    return (
        render_template(
            "notices/contacts.html",
            contacts=contacts,
            form=form,
            action_form=ActionForm(),
            secret_env_name=secret_env_name,
        ),
        status,
    )


@bp.get("/contacts")
@require_role(*SUPERVISORS)
def contacts() -> ResponseReturnValue:
    return _contacts_page(_contact_form())


@bp.post("/contacts")
@require_role(*SUPERVISORS)
def contact_add() -> ResponseReturnValue:
    form = _contact_form()
    if not form.validate_on_submit():
        return _contacts_page(form, 400)
    who = actor()
    settings = get_settings()
    try:
        with Session(get_engine()) as s, s.begin():
            add_contact(
                s,
                operator_slug=form.operator.data or "",
                channel=form.channel.data or "",
                address=form.address.data or "",
                name=form.name.data or "",
                notices=bool(form.notices.data),
                reports=bool(form.reports.data),
                actor=who.name,
                actor_id=who.id,
                ip=who.ip,
                url_check=lambda url: check_webhook_url(url, settings.notices),
            )
    except ContactError as exc:
        messages = {
            "bad_email": _("This is not an e-mail address."),
            "bad_url": _("A webhook needs an https:// or http:// URL without a password."),
            "url_refused": _("This webhook address is not allowed (private or unreachable)."),
            "exists": _("This contact already exists."),
        }
        form.address.errors = [messages.get(exc.code, str(exc))]
        return _contacts_page(form, 400)
    flash(_("Contact added."), "info")
    return redirect(url_for("notices.contacts"))


@bp.post("/contacts/<int:contact_id>/remove")
@require_role(*SUPERVISORS)
def contact_remove(contact_id: int) -> ResponseReturnValue:
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    who = actor()
    with Session(get_engine()) as s, s.begin():
        done = remove_contact(s, contact_id, actor=who.name, actor_id=who.id, ip=who.ip)
    if not done:
        abort(404)
    flash(_("Contact removed."), "info")
    return redirect(url_for("notices.contacts"))
