"""Supervisors decide disputes; staff (and the operator concerned) download their files.

* ``POST /disputes/<id>/decide`` (supervisors, admins): upheld or rejected, with reasons;
* ``GET /disputes/<id>/attachments/<aid>``: a file as received, served as an
  attachment with its stored type and ``nosniff`` (operators: their own only).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import text
from sqlalchemy.orm import Session

from fleet_monitor.notices.actions import ActionError
from fleet_monitor.notices.disputes import decide_dispute
from fleet_monitor.web.audit import audit
from fleet_monitor.web.cases import SUPERVISORS, actor, now
from fleet_monitor.web.db import get_engine
from fleet_monitor.web.dispute_forms import DecisionForm
from fleet_monitor.web.permissions import ensure_operator_visible, require_role

bp = Blueprint("disputes", __name__, url_prefix="/disputes")


@bp.post("/<int:dispute_id>/decide")
@require_role(*SUPERVISORS)
def decide(dispute_id: int) -> ResponseReturnValue:
    form = DecisionForm()
    with Session(get_engine()) as s:
        notice_id = s.execute(
            text("SELECT notice_id FROM notice_dispute WHERE id = :d"), {"d": dispute_id}
        ).scalar()
    if notice_id is None:
        abort(404)
    if not form.validate_on_submit():
        flash(_("Choose a decision and give its reasons."), "error")
        return redirect(url_for("notices.detail", notice_id=notice_id) + "#disputes")
    try:
        with Session(get_engine()) as s, s.begin():
            decide_dispute(
                s, dispute_id, form.decision.data or "", form.reason.data or "", actor(), now()
            )
    except ActionError as exc:
        flash(str(exc), "error")
        return redirect(url_for("notices.detail", notice_id=notice_id) + "#disputes")
    flash(_("Decision recorded."), "info")
    return redirect(url_for("notices.detail", notice_id=notice_id) + "#disputes")


@bp.get("/<int:dispute_id>/attachments/<int:attachment_id>")
def attachment(dispute_id: int, attachment_id: int) -> ResponseReturnValue:
    with Session(get_engine()) as s:
        row = s.execute(
            text(
                "SELECT a.filename, a.media_type, a.content, a.sha256, d.operator_id"
                " FROM dispute_attachment a JOIN notice_dispute d ON d.id = a.dispute_id"
                " WHERE a.id = :a AND a.dispute_id = :d"
            ),
            {"a": attachment_id, "d": dispute_id},
        ).first()
    if row is None:
        abort(404)
    ensure_operator_visible(row[4])
    audit("export.dispute_attachment", operator_id=row[4], sha256=row[3])
    response = Response(bytes(row[2]), mimetype=row[1])
    response.headers["Content-Disposition"] = f'attachment; filename="{row[0]}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
