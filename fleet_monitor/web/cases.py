"""Case files: one page per violation, for officers, supervisors and the operator concerned.

* ``GET /cases/``: violations (open ones by default), scoped to what the
  account may see;
* ``GET /cases/<id>``: the case file: timeline (the rules' events, notes,
  notices), the vehicle's stays with a small map, the rule and permit clause,
  the raw feed evidence, the notices, officers' notes and on-site checks;
* ``GET /cases/<id>/evidence/<sha256>.json``: the feed file as it was fetched
  (only files this case names; audited);
* ``POST /cases/<id>/notes`` and ``/on-site``: staff;
* ``POST /cases/<id>/status`` and ``/notice``: supervisors and admins.

Operator accounts see their own operator's case files only (another
operator's id gives 404) and never the officers' internal notes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import text
from sqlalchemy.orm import Session

from fleet_monitor.addresses import NearestAddress, nearest_address
from fleet_monitor.history.evidence import load_raw, vehicle_stays
from fleet_monitor.history.stay_timeline import stay_timeline, timeline_hashes
from fleet_monitor.models.notices import CASE_STATUSES
from fleet_monitor.notices import queries
from fleet_monitor.notices.actions import ActionError, Actor, add_note, set_case_status
from fleet_monitor.notices.disputes import disputes_of, timeline_entries
from fleet_monitor.notices.legal import clause_text
from fleet_monitor.notices.planner import NoticeError, notice_violation_now, permit_of
from fleet_monitor.resident_reports.case_timeline import reports_of_vehicle
from fleet_monitor.users import STAFF_ROLES
from fleet_monitor.web import case_list, case_photos, labels
from fleet_monitor.web.audit import audit, client_ip
from fleet_monitor.web.basemap import base_layer
from fleet_monitor.web.case_list_map import build_cases_map
from fleet_monitor.web.case_map import MapPoint, build_case_map
from fleet_monitor.web.db import get_engine, get_settings
from fleet_monitor.web.labels import zone_label
from fleet_monitor.web.map import CENTER, operator_colours
from fleet_monitor.web.notice_forms import CaseStatusForm, CommentForm, OnSiteForm
from fleet_monitor.web.params import arg_choice, arg_flag, arg_offset, arg_operator, arg_text
from fleet_monitor.web.permissions import (
    current_user,
    ensure_operator_visible,
    require_role,
    scope_param,
)
from fleet_monitor.web.security import add_nonce, csp_nonce
from rules.registry import rule_ids

bp = Blueprint("cases", __name__, url_prefix="/cases")
bp.record_once(lambda state: case_list.init_app(state.app))

SUPERVISORS = ("supervisor", "admin")
PAGE = 100
# the rules a case list may be narrowed to (the registry's, most urgent first)
CASE_RULES = rule_ids()


def now() -> datetime:
    """The app's clock (``FLEET_CLOCK`` in the app config, e.g. the demo's simulated one)."""
    clock: Callable[[], datetime] | None = current_app.config.get("FLEET_CLOCK")
    return clock() if clock is not None else datetime.now(UTC)


def actor() -> Actor:
    user = current_user()
    if user is None:
        abort(401)
    return Actor(name=user.email, id=user.id, role=user.role, ip=client_ip())


def is_staff() -> bool:
    user = current_user()
    return user is not None and user.role in STAFF_ROLES


def status_choices() -> list[tuple[str, str]]:
    return [(s, labels.case_status_label(s)) for s in CASE_STATUSES]


def load_case(s: Session, violation_id: int) -> dict[str, Any]:
    """The violation, or 404 (also for another operator's: its existence is not disclosed)."""
    violation = queries.case_violation(s, violation_id)
    if violation is None:
        abort(404)
    ensure_operator_visible(violation["operator_id"])
    return violation


@bp.get("/")
def index() -> ResponseReturnValue:
    show_all = arg_flag("all")
    rule = arg_choice("rule", CASE_RULES)
    operator = arg_operator()
    offset = arg_offset()
    zone = arg_text("zone", max_length=200)
    if zone is not None and not case_list.ZONE_ID_RE.match(zone):
        abort(400)
    scope = scope_param()
    filters: dict[str, Any] = {
        "scope": scope,
        "now": now(),
        "operator": operator,
        "rule": rule,
        "zone": zone,
    }
    with Session(get_engine()) as s:
        rows = case_list.list_cases(
            s, **filters, open_only=not show_all, limit=PAGE + 1, offset=offset
        )
        on_map = case_list.list_cases(s, **filters, limit=case_list.MAP_LIMIT)
        zones = case_list.case_zones(s, scope)
    more = len(rows) > PAGE
    page = render_template(
        "cases/list.html",
        cases=rows[:PAGE],
        show_all=show_all,
        rules=CASE_RULES,
        rule=rule,
        operator=operator,
        operators=operator_colours(),
        zone=zone,
        zones=zones,
        offset=offset,
        more=more,
        page=PAGE,
        map_parts=_cases_map(on_map),
    )
    return Response(add_nonce(page, csp_nonce()), mimetype="text/html")


def _cases_map(rows: list[dict[str, Any]]) -> Any:
    tiles = (base_layer() or {}).get("tiles") or {}
    return build_cases_map(
        center=CENTER,
        tile_url=tiles.get("url", ""),
        attribution=tiles.get("attribution", ""),
        tile_options=tiles.get("options"),
        static_url=lambda path: url_for("static", filename=path),
        cases=rows,
        label=lambda c: f"#{c['id']} · {labels.rule_label(c['rule_type'])} · {c['operator_name']}",
    )


def _zone_geometry(s: Session, zone_id: str | None) -> tuple[dict[str, Any] | None, str | None]:
    if not zone_id:
        return None, None
    row = s.execute(
        text(
            "SELECT ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, 0.00001)), kind FROM zone"
            " WHERE zone_id = :z ORDER BY version DESC LIMIT 1"
        ),
        {"z": zone_id},
    ).first()
    if row is None or row[0] is None:
        return None, None
    return orjson.loads(row[0]), row[1]


def _case_map(violation: dict[str, Any], stays: list[dict[str, Any]], zone: Any, kind: Any) -> Any:
    tz_fmt = "%d/%m %H:%M"
    points = [
        MapPoint(d["lat"], d["lon"], f"{d['gbfs_id']} · {d['started_at']:{tz_fmt}} UTC", d["state"])
        for d in stays
        if d["lat"] is not None and d["lon"] is not None
    ]
    mark = None
    if violation["lat"] is not None:
        mark = MapPoint(
            violation["lat"], violation["lon"], labels.rule_label(violation["rule_type"])
        )
    tiles = (base_layer() or {}).get("tiles") or {}
    return build_case_map(
        center=CENTER,
        tile_url=tiles.get("url", ""),
        attribution=tiles.get("attribution", ""),
        tile_options=tiles.get("options"),
        static_url=lambda path: url_for("static", filename=path),
        violation=mark,
        stays=points,
        zone=zone,
        zone_kind=kind,
        zone_label=violation.get("zone_name") or zone_label(kind or ""),
    )


def case_address(s: Session, violation: dict[str, Any]) -> NearestAddress | None:
    """The nearest address of the case's position (``[addresses] max_distance_m``)."""
    if violation["lat"] is None or violation["lon"] is None:
        return None
    limit = get_settings().addresses.max_distance_m
    return nearest_address(s, violation["lon"], violation["lat"], limit)


def _timeline(
    events: list[dict[str, Any]],
    notes: list[dict[str, Any]],
    notices: list[dict[str, Any]],
    disputes: list[dict[str, Any]] | None = None,
    resident: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    items = [{"at": e["at"], "kind": e["kind"], "event": e} for e in events]
    items += [{"at": r["at"], "kind": "resident_report", "report": r} for r in resident or []]
    items += [{"at": n["at"], "kind": n["kind"], "note": n} for n in notes]
    items += [
        {"at": n["issued_at"], "kind": "notice", "notice": n}
        for n in notices
        if n["issued_at"] is not None
    ]
    items += [
        {"at": n["read_at"], "kind": "notice_read", "notice": n}
        for n in notices
        if n.get("read_at") is not None
    ]
    items += timeline_entries(disputes or [])
    return sorted(items, key=lambda i: i["at"])


def render_case(violation_id: int, **forms: Any) -> ResponseReturnValue:
    staff = is_staff()
    with Session(get_engine()) as s:
        violation = load_case(s, violation_id)
        events = queries.case_events(s, violation_id)
        stays = vehicle_stays(s, violation["vehicle_id"])
        stay_events = stay_timeline(s, violation["vehicle_id"], violation["since"])
        evidence = queries.case_evidence(s, violation)
        notices = queries.case_notices(s, violation_id)
        disputes = disputes_of(s, violation_id=violation_id)
        notes = queries.case_notes(s, violation_id) if staff else []
        zone, kind = _zone_geometry(s, violation["zone_id"])
        photos = case_photos.case_photos(s, violation_id) if staff else []
        address = case_address(s, violation)
        clause = _clause_words(s, violation)
        vehicle_reports = reports_of_vehicle(s, violation["vehicle_id"], None, None)
    during = _during(violation, vehicle_reports)
    status_form = forms.get("status_form") or CaseStatusForm(status=violation["case_status"])
    status_form.status.choices = status_choices()
    page = render_template(
        "cases/detail.html",
        v=violation,
        timeline=_timeline(events, notes, notices, disputes, during),
        vehicle_reports=vehicle_reports,
        stays=stays,
        stay_events=stay_events,
        drift_m=get_settings().ingest.stays_for(violation.get("operator")).drift_m,
        evidence=evidence,
        notices=notices,
        map_parts=_case_map(violation, stays, zone, kind),
        zone_kind=kind,
        photos=photos,
        base_layer=base_layer(),
        address=address,
        clause=clause,
        max_address_m=get_settings().addresses.max_distance_m,
        staff=staff,
        supervisor=current_user() is not None and current_user().role in SUPERVISORS,  # type: ignore[union-attr]
        comment_form=forms.get("comment_form") or CommentForm(),
        onsite_form=forms.get("onsite_form") or OnSiteForm(),
        status_form=status_form,
    )
    status = 400 if forms else 200
    return Response(add_nonce(page, csp_nonce()), status=status, mimetype="text/html")


def _during(violation: dict[str, Any], reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The residents' reports made while the violation went on (from the start of its
    episode to its close), for its timeline."""
    start = violation.get("since") or violation["opened_at"]
    end = violation.get("closed_at")
    return [r for r in reports if r["at"] >= start and (end is None or r["at"] <= end)]


def _clause_words(s: Session, violation: dict[str, Any]) -> dict[str, str] | None:
    """The permit's own article for the breached rule (``[legal.clauses]``), if it has one."""
    if not violation.get("permit_version") or not violation.get("operator"):
        return None
    at = violation.get("since") or violation.get("opened_at")
    if at is None:
        return None
    try:
        permit = permit_of(s, violation["operator"], violation["permit_version"], at)
    except (NoticeError, ValueError):
        return None
    return clause_text(permit, violation["rule_type"])


@bp.get("/<int:violation_id>")
def detail(violation_id: int) -> ResponseReturnValue:
    return render_case(violation_id)


@bp.get("/<int:violation_id>/evidence/<sha256>.json")
def evidence(violation_id: int, sha256: str) -> ResponseReturnValue:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        abort(404)
    with Session(get_engine()) as s:
        violation = load_case(s, violation_id)
        allowed = queries.evidence_hashes(s, violation)
        if sha256 not in allowed and sha256 not in timeline_hashes(
            stay_timeline(s, violation["vehicle_id"], violation["since"])
        ):
            abort(404)
        data = load_raw(s, sha256)
    if data is None:
        abort(410)
    if hashlib.sha256(data).hexdigest() != sha256:  # never serve altered evidence
        abort(500)
    audit(
        "export.evidence",
        operator_id=violation["operator_id"],
        violation=violation_id,
        sha256=sha256,
        bytes=len(data),
    )
    response = Response(data, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{sha256}.json"'
    response.headers["X-Content-SHA256"] = sha256
    return response


@bp.post("/<int:violation_id>/notes")
@require_role(*STAFF_ROLES)
def comment(violation_id: int) -> ResponseReturnValue:
    form = CommentForm()
    if not form.validate_on_submit():
        return render_case(violation_id, comment_form=form)
    with Session(get_engine()) as s, s.begin():
        violation = load_case(s, violation_id)
        add_note(s, violation_id, form.body.data or "", actor(), now(), violation["operator_id"])
    flash(_("Comment added."), "info")
    return redirect(url_for("cases.detail", violation_id=violation_id) + "#notes")


@bp.post("/<int:violation_id>/on-site")
@require_role(*STAFF_ROLES)
def on_site(violation_id: int) -> ResponseReturnValue:
    form = OnSiteForm()
    if not form.validate_on_submit():
        return render_case(violation_id, onsite_form=form)
    photo = None
    upload = request.files.get("photo")
    if upload is not None and upload.filename:
        try:
            photo = case_photos.reencode(upload.read(case_photos.MAX_UPLOAD_BYTES + 1))
        except case_photos.PhotoError as exc:
            form.note.errors = [photo_error(str(exc))]
            return render_case(violation_id, onsite_form=form)
    with Session(get_engine()) as s, s.begin():
        violation = load_case(s, violation_id)
        if violation["subject_kind"] != "vehicle":  # a fleet-level case has no vehicle to find
            abort(400)
        note = add_note(
            s,
            violation_id,
            form.note.data or "",
            actor(),
            now(),
            violation["operator_id"],
            present=form.present.data == "yes",
        )
        if photo is not None:
            s.flush()
            case_photos.store_photo(s, violation_id, note.id, photo, actor().name, now())
            audit(
                "case.photo",
                operator_id=violation["operator_id"],
                violation=violation_id,
                sha256=photo.sha256,
                bytes=len(photo.data),
            )
    flash(_("On-site check recorded."), "info")
    return redirect(url_for("cases.detail", violation_id=violation_id) + "#notes")


def photo_error(code: str) -> str:
    messages = {
        "too_large": _("The photo is too large (at most %(mb)s MB).", mb=12),
        "empty": _("The photo file is empty."),
    }
    return messages.get(code, _("This file is not a photo (JPEG, PNG or WebP)."))


@bp.get("/<int:violation_id>/photos/<sha256>.jpg")
@require_role(*STAFF_ROLES)
def photo(violation_id: int, sha256: str) -> ResponseReturnValue:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        abort(404)
    with Session(get_engine()) as s:
        load_case(s, violation_id)
        data = case_photos.photo_data(s, violation_id, sha256)
    if data is None:
        abort(404)
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["X-Content-SHA256"] = sha256
    return response


@bp.post("/<int:violation_id>/status")
@require_role(*SUPERVISORS)
def change_status(violation_id: int) -> ResponseReturnValue:
    form = CaseStatusForm()
    form.status.choices = status_choices()
    if not form.validate_on_submit():
        return render_case(violation_id, status_form=form)
    with Session(get_engine()) as s, s.begin():
        violation = load_case(s, violation_id)
        changed = set_case_status(
            s,
            violation_id,
            form.status.data or "",
            form.note.data or "",
            actor(),
            now(),
            violation["operator_id"],
        )
    if changed:
        flash(_("Status changed."), "info")
    return redirect(url_for("cases.detail", violation_id=violation_id))


@bp.post("/<int:violation_id>/notice")
@require_role(*SUPERVISORS)
def notice_now(violation_id: int) -> ResponseReturnValue:
    settings = get_settings()
    who = actor()
    try:
        with Session(get_engine()) as s, s.begin():
            load_case(s, violation_id)
            reference = notice_violation_now(
                s, violation_id, now(), settings, by=who.name, actor_id=who.id, ip=who.ip
            )
    except (NoticeError, ActionError) as exc:
        messages = {
            "not_eligible": _(
                "This violation cannot be noticed: it ended, is uncertain, was "
                "dismissed or is already in a notice."
            ),
            "no_permit": _("No permit is in force for this operator."),
        }
        flash(messages.get(exc.code, str(exc)), "error")
        return redirect(url_for("cases.detail", violation_id=violation_id))
    flash(_("Notice %(reference)s issued.", reference=reference), "info")
    return redirect(url_for("cases.detail", violation_id=violation_id))
