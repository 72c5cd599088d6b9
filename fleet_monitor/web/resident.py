"""Residents' reports on the web: the public page and the officers' inbox (issue 15).

* ``GET/POST /signaler`` (public, no account): what, where (the phone's position or
  a tap on the map), optional photo, operator and private contact. Guarded
  without any third-party service: a per-address rate limit in the database
  (``FLEET_RESIDENT_REPORTS_PER_HOUR``, 5), a honeypot field that people never
  see (a bot that fills it is thanked and nothing is stored), and the CSRF token
  of every form. Photos are re-encoded (``resident_reports.photo``); the page's
  script shrinks them before upload, as the app accepts at most 1 MB per request.
* ``GET /signalements`` (staff): the inbox, newest first, with the matched
  vehicle and the counts by district over 30 days; ``/signalements/<id>`` the
  case (photo and contact are shown to staff only; operators never see them);
  ``POST /signalements/<id>/close``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import text
from sqlalchemy.orm import Session

from fleet_monitor.history.operators import (
    OPERATORS_RELATION_TEXT,
    operator_list,
    operators_relation_binds,
)
from fleet_monitor.resident_reports.case_timeline import cases_of_report
from fleet_monitor.resident_reports.photo import PhotoError, reencode_photo, thumbnail
from fleet_monitor.resident_reports.reports import (
    SERVICES,
    ReportError,
    check_report,
    create_report,
    reports_by_zone,
)
from fleet_monitor.users import STAFF_ROLES
from fleet_monitor.web import throttle
from fleet_monitor.web.audit import client_ip
from fleet_monitor.web.db import get_engine, get_settings
from fleet_monitor.web.permissions import require_role

bp = Blueprint("resident", __name__)

HONEYPOT = "website"  # hidden from people by the stylesheet; bots fill it
HOUR = timedelta(hours=1)


def per_hour() -> int:
    from flask import current_app

    return int(current_app.config.get("FLEET_RESIDENT_REPORTS_PER_HOUR", 5))


def _operators() -> list[tuple[str, str]]:
    with get_engine().connect() as conn:
        rows = operator_list(conn, by_name=True)
    return [(slug, name) for _id, slug, name in rows]


@bp.app_template_global("resident_service")
def service_name(code: str) -> str:
    """The name of a report's service (``badly_parked``...) in the page's language."""
    return dict(_services()).get(code, code)


def _services() -> list[tuple[str, str]]:
    from flask_babel import get_locale

    french = str(get_locale() or "").startswith("fr")
    return [(code, fr if french else en) for code, (en, fr, _d) in SERVICES.items()]


def _map_config() -> dict[str, Any]:
    """The city's base layer, as on the officers' map: remote tiles, the local MBTiles
    or the street layer. The two last are served to signed-in accounts only
    (``web/basemap.py``), so an anonymous resident gets remote tiles or none: the
    map still takes a tap, and the phone's position needs no map."""
    from fleet_monitor.web.basemap import base_layer
    from fleet_monitor.web.map import CENTER, ZOOM
    from fleet_monitor.web.permissions import current_user

    layer = base_layer() or {}
    if current_user() is None and not get_settings().web.tile_url:
        layer = {}
    tiles = layer.get("tiles") or {}
    options = tiles.get("options") or {}
    return {
        "center": list(CENTER),
        "zoom": ZOOM,
        "tileUrl": tiles.get("url", ""),
        "attribution": tiles.get("attribution", ""),
        "tileOptions": {
            "maxZoom": options.get("max_zoom", 19),
            "maxNativeZoom": options.get("max_native_zoom"),
            "minNativeZoom": options.get("min_native_zoom"),
        },
        "streetsUrl": layer.get("streets"),
        "texts": {
            "noPosition": _("Position unavailable: tap the map instead."),
            "positionFrom": _("Position: {lat}, {lon}"),
        },
    }


def _problem_texts() -> dict[str, str]:
    """What a resident reads for each field that was refused (the checks' own reasons,
    in English, go to the log and to Open311 clients)."""
    return {
        "service_code": _("Choose what is wrong."),
        "position": _("A position is needed: use your phone's position or tap the map."),
        "description": _("The details are too long or hold characters that are not allowed."),
        "contact_name": _("The name is too long or holds characters that are not allowed."),
        "contact_email": _("This is not an e-mail address."),
        "contact_phone": _("This is not a telephone number."),
        "operator": _("Unknown operator."),
        "photo": _(
            "This file is not a photo the service can read (JPEG, PNG, WebP; 8 MB at most)."
        ),
    }


def _form_page(values: dict[str, Any], problems: dict[str, str], status: int = 200) -> Any:
    texts = _problem_texts()
    problems = {k: texts.get(k, v) if k != "form" else v for k, v in problems.items()}
    return (
        render_template(
            "resident/form.html",
            values=values,
            problems=problems,
            services=_services(),
            operators=_operators(),
            honeypot=HONEYPOT,
            map_config=_map_config(),
        ),
        status,
    )


@bp.route("/signaler", methods=["GET", "POST"])
def form() -> Any:
    if request.method == "GET":
        return _form_page({}, {})
    values = {k: request.form.get(k, "") for k in request.form if k != "csrf_token"}
    if request.form.get(HONEYPOT):
        # a bot: the same answer as for a person, and nothing stored
        return render_template("resident/thanks.html", reference=None)
    now = datetime.now(UTC)
    with get_engine().begin() as conn:
        rate = throttle.hit(
            conn, "resident-report:" + (client_ip() or "unknown"), per_hour(), HOUR, now
        )
    if not rate.allowed:
        page, _status = _form_page(
            values, {"form": _("Too many reports from this connection: try again later.")}
        )
        return Response(page, status=429, headers={"Retry-After": str(rate.retry_after_s)})
    problems: dict[str, str] = {}
    photo = request.files.get("photo")
    photo_data: tuple[bytes, str] | None = None
    if photo is not None and photo.filename:
        try:
            photo_data = reencode_photo(photo.read())
        except PhotoError as exc:
            problems["photo"] = str(exc)
    with get_engine().begin() as conn:
        try:
            report = check_report(
                conn,
                source="web",
                service_code=request.form.get("service_code"),
                lat=request.form.get("lat"),
                lon=request.form.get("lon"),
                position_source=request.form.get("position_source"),
                description=request.form.get("description"),
                operator=request.form.get("operator"),
                contact_name=request.form.get("contact_name"),
                contact_email=request.form.get("contact_email"),
                contact_phone=request.form.get("contact_phone"),
            )
        except ReportError as exc:
            problems.update(exc.problems)
            report = None
        if problems or report is None:
            return _form_page(values, problems, 400)
        if photo_data is not None:
            report.photo, report.photo_type = photo_data
        _id, reference = create_report(conn, report, now)
    return render_template("resident/thanks.html", reference=reference)


# --------------------------------------------------------------------------- officers


@bp.get("/signalements")
@require_role(*STAFF_ROLES)
def inbox() -> Any:
    now = datetime.now(UTC)
    with get_engine().connect() as conn:
        rows = conn.execute(
            text(
                "SELECT r.id, r.reference, r.created_at, r.source, r.service_code, r.status,"
                " r.nearest_distance_m, r.matched->0->>'gbfs_id' AS nearest_gbfs_id,"
                " r.matched->0->>'operator' AS nearest_operator, o.slug AS named_operator,"
                " r.photo IS NOT NULL AS has_photo"
                f" FROM resident_report r LEFT JOIN {OPERATORS_RELATION_TEXT}"
                " ON o.id = r.operator_id"
                " ORDER BY r.status = 'open' DESC, r.created_at DESC LIMIT 200"
            ),
            operators_relation_binds(conn),
        ).all()
        zones = reports_by_zone(conn, now - timedelta(days=30), now + timedelta(seconds=1))
    return render_template(
        "resident/inbox.html",
        reports=rows,
        zones=zones,
        services=dict(_services()),
    )


def _report(report_id: int) -> Any:
    with get_engine().connect() as conn:
        row = (
            conn.execute(
                text(
                    "SELECT r.id, r.reference, r.created_at, r.source, r.service_code,"
                    " r.position_source, r.lat, r.lon, r.description, o.slug, r.contact_name,"
                    " r.contact_email, r.contact_phone, r.photo IS NOT NULL AS has_photo,"
                    " r.matched,"
                    " r.status, r.closed_at FROM resident_report r"
                    f" LEFT JOIN {OPERATORS_RELATION_TEXT} ON o.id = r.operator_id"
                    " WHERE r.id = :id"
                ),
                {"id": report_id, **operators_relation_binds(conn)},
            )
            .mappings()
            .first()
        )
    if row is None:
        abort(404)
    return row


@bp.get("/signalements/<int:report_id>")
@require_role(*STAFF_ROLES)
def detail(report_id: int) -> Any:
    report = _report(report_id)
    with Session(get_engine()) as s:
        cases = cases_of_report(s, report_id)
    return render_template(
        "resident/detail.html", report=report, services=dict(_services()), cases=cases
    )


@bp.get("/signalements/<int:report_id>/photo")
@require_role(*STAFF_ROLES)
def photo(report_id: int) -> Response:
    with get_engine().connect() as conn:
        row = conn.execute(
            text("SELECT photo, photo_type FROM resident_report WHERE id = :id"),
            {"id": report_id},
        ).first()
    if row is None or row[0] is None:
        abort(404)
    response = Response(bytes(row[0]), mimetype=row[1] or "image/jpeg")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/signalements/<int:report_id>/photo/thumbnail.jpg")
@require_role(*STAFF_ROLES)
def thumbnail_photo(report_id: int) -> Response:
    """A small copy of the photo, for the case files' timelines (staff only)."""
    with get_engine().connect() as conn:
        row = conn.execute(
            text("SELECT photo FROM resident_report WHERE id = :id"), {"id": report_id}
        ).first()
    if row is None or row[0] is None:
        abort(404)
    response = Response(thumbnail(bytes(row[0])), mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/signalements/<int:report_id>/close")
@require_role(*STAFF_ROLES)
def close(report_id: int) -> Any:
    with get_engine().begin() as conn:
        done = conn.execute(
            text(
                "UPDATE resident_report SET status = 'closed', closed_at = now()"
                " WHERE id = :id AND status = 'open'"
            ),
            {"id": report_id},
        ).rowcount
    if done:
        flash(_("Report closed."), "success")
    return redirect(url_for("resident.detail", report_id=report_id))
