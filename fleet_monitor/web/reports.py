"""Archived daily reports: list, one report's figures, its PDF and CSV (audited).

Operator accounts see their own operator's reports only (another's id: 404);
the city-wide summaries are for staff.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import text
from sqlalchemy.orm import Session

from fleet_monitor.history.operators import operator_list
from fleet_monitor.models.reports import CITY_SUBJECT, DailyReport
from fleet_monitor.reports.jobs import file_stem
from fleet_monitor.web.audit import audit
from fleet_monitor.web.db import get_engine
from fleet_monitor.web.params import arg_date, arg_offset
from fleet_monitor.web.permissions import current_user, scope_param, visible_operator_ids

bp = Blueprint("reports", __name__, url_prefix="/reports")
PAGE = 60

LIST_SQL = """
SELECT r.id, r.day, r.subject, r.version, r.generated_at, r.content_hash, r.operator_id,
       (SELECT count(*) FROM delivery d WHERE d.report_id = r.id AND d.status = 'sent') AS sent
FROM daily_report r
WHERE (CAST(:scope AS int[]) IS NULL OR r.operator_id = ANY(CAST(:scope AS int[])))
  AND (CAST(:day AS date) IS NULL OR r.day = CAST(:day AS date))
ORDER BY r.day DESC, r.subject = '*' DESC, r.subject, r.version DESC
LIMIT :limit OFFSET :offset
"""


def idle_labels() -> dict[str, str]:
    """The idle-time buckets of the report (``history.definitions.IDLE_BUCKET_KEYS``)."""
    return {
        "lt_1d": _("under 1 day"),
        "1d_3d": _("1 to 3 days"),
        "3d_7d": _("3 to 7 days"),
        "7d_14d": _("7 to 14 days"),
        "ge_14d": _("14 days or more"),
    }


def _visible(report: DailyReport) -> bool:
    ids = visible_operator_ids(current_user())
    if ids is None:
        return True
    return report.subject != CITY_SUBJECT and report.operator_id in ids


def load_report(s: Session, report_id: int) -> DailyReport:
    report = s.get(DailyReport, report_id)
    if report is None or not _visible(report):
        abort(404)
    return report


@bp.get("/")
def index() -> ResponseReturnValue:
    day = arg_date("day")
    offset = arg_offset()
    with Session(get_engine()) as s:
        rows = (
            s.execute(
                text(LIST_SQL),
                {"scope": scope_param(), "day": day, "limit": PAGE + 1, "offset": offset},
            )
            .mappings()
            .all()
        )
        # the operator's name from the read interface (None: the city-wide summary)
        names = {op_id: name for op_id, _slug, name in operator_list(s)}
    listed = [{**r, "operator_name": names.get(r["operator_id"])} for r in rows]
    return render_template(
        "reports/list.html",
        reports=listed[:PAGE],
        day=day,
        more=len(listed) > PAGE,
        offset=offset,
        page=PAGE,
    )


@bp.get("/<int:report_id>")
def detail(report_id: int) -> ResponseReturnValue:
    with Session(get_engine()) as s:
        report = load_report(s, report_id)
        versions = (
            s.execute(
                text(
                    "SELECT id, version, generated_at, content_hash FROM daily_report"
                    " WHERE day = :d AND subject = :s ORDER BY version"
                ),
                {"d": report.day, "s": report.subject},
            )
            .mappings()
            .all()
        )
        deliveries = (
            s.execute(
                text(
                    "SELECT channel, recipient, status, sent_at, last_error FROM delivery"
                    " WHERE report_id = :r ORDER BY id"
                ),
                {"r": report.id},
            )
            .mappings()
            .all()
        )
    staff = visible_operator_ids(current_user()) is None
    return render_template(
        "reports/detail.html",
        r=report,
        d=report.data,
        versions=versions,
        deliveries=deliveries if staff else [],
        idle_labels=idle_labels(),
    )


@bp.get("/<int:report_id>/<kind>")
def download(report_id: int, kind: str) -> ResponseReturnValue:
    if kind not in ("report.pdf", "report.csv"):
        abort(404)
    with Session(get_engine()) as s:
        report = load_report(s, report_id)
        data = report.pdf if kind == "report.pdf" else report.csv
        stem, operator_id = file_stem(report), report.operator_id
        subject, day, version = report.subject, report.day.isoformat(), report.version
    audit(
        "export.report",
        operator_id=operator_id,
        report=subject,
        day=day,
        version=version,
        format=kind.rsplit(".", 1)[1],
    )
    mimetype = "application/pdf" if kind == "report.pdf" else "text/csv"
    response = Response(data, mimetype=mimetype)
    extension = kind.rsplit(".", 1)[1]
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}.{extension}"'
    return response
