"""The operator's respond page, reached through the signed link printed in each notice.

* ``GET /respond/<token>``: the notice (its act, vehicles, deadline, document);
  the first visit records that the operator read it;
* ``POST /respond/<token>/acknowledge``: acknowledge the notice;
* ``POST /respond/<token>/dispute``: dispute one vehicle, with reasons and files;
* ``GET /respond/<token>/pdf``: the notice's PDF.

No account is needed: the link is the credential. It names one notice, is
signed with the web secret and expires (``letterhead.respond_link_ttl_s``
after the deadline; ``notices.legal``). A bad signature is a 404, an expired
link a 410 that says whom to contact. Forms carry CSRF tokens; every action is
audited as ``link:<reference>`` with the client's address.
"""

from __future__ import annotations

from typing import cast

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from fleet_monitor.models.notices import Notice
from fleet_monitor.notices import queries
from fleet_monitor.notices.actions import ActionError, Actor, respond
from fleet_monitor.notices.disputes import MAX_TOTAL_BYTES, Upload, disputes_of, open_dispute
from fleet_monitor.notices.document_html import page_html
from fleet_monitor.notices.legal import KIND_NAMES, LinkError, read_respond_token
from fleet_monitor.notices.printed import notice_pdf
from fleet_monitor.notices.reading import mark_read
from fleet_monitor.web import dispute_labels
from fleet_monitor.web.audit import audit, client_ip
from fleet_monitor.web.cases import now
from fleet_monitor.web.db import get_engine, get_settings
from fleet_monitor.web.dispute_forms import AcknowledgeForm, DisputeForm

bp = Blueprint("respond", __name__, url_prefix="/respond")
bp.record_once(lambda state: dispute_labels.init_app(cast(Flask, state.app)))

PUBLIC = frozenset({"respond.page", "respond.acknowledge", "respond.dispute", "respond.pdf"})
#: endpoints taking files: their body may exceed the app's 1 MB limit
UPLOAD_ENDPOINTS = frozenset({"respond.dispute", "notices_api.dispute_vehicle"})
UPLOAD_LIMIT = MAX_TOTAL_BYTES * 4 // 3 + 256 * 1024  # base64 in the API's JSON


def init_upload_limit(app: Flask) -> None:
    """Raise the body limit for the upload endpoints (before anything reads the form)."""

    @app.before_request
    def _upload_limit() -> None:
        if request.endpoint in UPLOAD_ENDPOINTS:
            request.max_content_length = UPLOAD_LIMIT


def _notice(token: str) -> tuple[int, str, int]:
    secret = get_settings().web.secret_key
    if secret is None:
        abort(404)
    try:
        notice_id, reference = read_respond_token(secret.reveal(), token, now())
    except LinkError as exc:
        if exc.code == "expired":
            abort(410)
        abort(404)
    with Session(get_engine()) as s:
        n = s.get(Notice, notice_id)
        if n is None or n.reference != reference or n.status not in ("issued", "closed"):
            abort(404)
        return n.id, reference, n.operator_id


def _actor(reference: str) -> Actor:
    return Actor(name=f"link:{reference}", role="operator", ip=client_ip())


def _render(token: str, status: int = 200, **forms: object) -> ResponseReturnValue:
    notice_id, reference, operator_id = _notice(token)
    with Session(get_engine()) as s, s.begin():
        if request.method == "GET":
            mark_read(s, notice_id, f"link:{reference}", now(), operator_id)
        n = queries.notice_detail(s, notice_id)
        disputes = {d["notice_item_id"]: d for d in disputes_of(s, notice_id=notice_id)}
    assert n is not None
    page = render_template(
        "respond/page.html",
        n=n,
        token=token,
        document=page_html(n["payload"]) if n.get("payload") else None,
        kind_names=KIND_NAMES,
        disputes=disputes,
        ack_form=forms.get("ack_form") or AcknowledgeForm(),
        dispute_form=forms.get("dispute_form") or DisputeForm(),
        dispute_item=forms.get("dispute_item"),
    )
    return page, status


@bp.get("/<token>")
def page(token: str) -> ResponseReturnValue:
    return _render(token)


@bp.get("/<token>/pdf")
def pdf(token: str) -> ResponseReturnValue:
    notice_id, reference, operator_id = _notice(token)
    with Session(get_engine()) as s, s.begin():
        printed = notice_pdf(s, notice_id, get_settings().letterhead.logo_path, why="respond link")
    if printed is None:
        abort(404)
    data = printed[0]
    audit("export.notice_pdf", operator_id=operator_id, notice=reference, via="link")
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{reference}.pdf"'
    return response


@bp.post("/<token>/acknowledge")
def acknowledge(token: str) -> ResponseReturnValue:
    notice_id, reference, _op = _notice(token)
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        return _render(token, 400, ack_form=form)
    try:
        with Session(get_engine()) as s, s.begin():
            respond(s, notice_id, "acknowledged", form.note.data or "", _actor(reference), now())
    except ActionError:
        flash(_("This notice was already answered."), "error")
        return redirect(url_for("respond.page", token=token))
    flash(_("Your response was recorded."), "info")
    return redirect(url_for("respond.page", token=token))


@bp.post("/<token>/dispute")
def dispute(token: str) -> ResponseReturnValue:
    notice_id, reference, _op = _notice(token)
    form = DisputeForm()
    if not form.validate_on_submit():
        return _render(token, 400, dispute_form=form, dispute_item=form.item.data)
    uploads = [
        Upload(f.filename or "file", f.read())
        for f in request.files.getlist("files")
        if f and f.filename
    ]
    try:
        with Session(get_engine()) as s, s.begin():
            open_dispute(
                s,
                notice_id,
                int(form.item.data or 0),
                form.reason.data or "",
                uploads,
                _actor(reference),
                now(),
            )
    except ActionError as exc:
        flash(_("The dispute was not recorded: %(why)s", why=str(exc)), "error")
        return _render(token, 400, dispute_form=form, dispute_item=form.item.data)
    flash(_("Your dispute was recorded; the city will decide on it."), "info")
    return redirect(url_for("respond.page", token=token))
