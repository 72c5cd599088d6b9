"""Open311 GeoReport v2 for residents' reports (issue 15), JSON only.

* ``GET /open311/v2/services.json``: the service list (``badly_parked``,
  ``abandoned``, ``damaged``);
* ``POST /open311/v2/requests.json`` (form-encoded, as the standard says):
  ``service_code``, ``lat`` and ``long`` (required: the service has no
  geocoder, so ``address_string`` alone is refused), ``description``, contact
  (``email``, ``first_name``, ``last_name``, ``phone``; kept private). Answers
  ``[{"service_request_id", "service_notice", "account_id"}]``. ``media_url`` is
  not fetched (the service makes no request to an address a client gives); a
  photo goes through the public page. When ``FLEET_OPEN311_API_KEY`` is set,
  ``api_key`` must match it. Same per-address rate limit as the public page.
* ``GET /open311/v2/requests/<id>.json`` and ``GET /open311/v2/requests.json``
  (``service_code``, ``status``, ``start_date``, ``end_date``): status, service,
  times and position; never a description, photo or contact.

Every endpoint takes GeoReport's ``jurisdiction_id`` (query string, or form for a
POST): optional, as the service serves one jurisdiction, and when given it must
be the city's (``FLEET_OPEN311_JURISDICTION_ID``, else the city's name in lower
case, e.g. ``annecy``), or the answer is 404. Errors are GeoReport's
``[{"code", "description"}]`` with the HTTP status, one entry per problem, also
for an address under ``/open311/v2`` that does not exist (404) or a format other
than JSON (``.xml``: 400). Discovery: ``web/open311_discovery.py``.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import text
from sqlalchemy.orm import Session

from fleet_monitor.addresses import NearestAddress, nearest_addresses
from fleet_monitor.resident_reports.reports import (
    SERVICES,
    ReportError,
    check_report,
    create_report,
)
from fleet_monitor.web import throttle
from fleet_monitor.web.audit import client_ip
from fleet_monitor.web.db import get_engine, get_settings
from fleet_monitor.web.resident import HOUR, per_hour

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")


def _error(status: int, *descriptions: str) -> Response:
    response = jsonify([{"code": status, "description": d} for d in descriptions])
    response.status_code = status
    return response


def jurisdiction_id() -> str:
    """The city's jurisdiction id (``FLEET_OPEN311_JURISDICTION_ID``, else its name)."""
    configured = current_app.config.get("FLEET_OPEN311_JURISDICTION_ID")
    if configured:
        return str(configured)
    name = get_settings().city.name or "city"
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-") or "city"


@bp.before_request
def check_jurisdiction() -> Response | None:
    """A ``jurisdiction_id`` that is not the city's: 404 (GeoReport's error list)."""
    given = request.values.get("jurisdiction_id")
    if given and given != jurisdiction_id():
        return _error(404, f"jurisdiction_id not found: this endpoint serves {jurisdiction_id()}")
    return None


def routing_error(code: int, path: str) -> Response:
    """An address under ``/open311/`` that the app does not serve (``web/errors.py``):
    GeoReport's error list, never an HTML page; ``.xml``: 400, JSON only."""
    if code == 404 and path.endswith(".xml"):
        return _error(400, "only the JSON format is served: use .json")
    words = {404: "no such resource", 405: "method not allowed", 413: "request too large"}
    return _error(code, words.get(code, "request not valid"))


@bp.get("/services.json")
def services() -> Response:
    return jsonify(
        [
            {
                "service_code": code,
                "service_name": name,
                "description": description,
                "metadata": False,
                "type": "realtime",
                "keywords": "bike,scooter,trottinette,vélo,parking",
                "group": "Micromobility",
            }
            for code, (name, _fr, description) in SERVICES.items()
        ]
    )


def _name(first: str | None, last: str | None) -> str | None:
    name = " ".join(p.strip() for p in (first, last) if p and p.strip())
    return name or None


@bp.post("/requests.json")
def create() -> Response:
    key = current_app.config.get("FLEET_OPEN311_API_KEY")
    if key and not hmac.compare_digest(
        str(request.form.get("api_key", "")).encode(), str(key).encode()
    ):
        return _error(403, "api_key missing or not valid")
    now = datetime.now(UTC)
    form = request.form
    if not form.get("lat") and not form.get("long") and form.get("address_string"):
        return _error(400, "lat and long are required (address_string alone is not geocoded)")
    with get_engine().begin() as conn:
        rate = throttle.hit(
            conn, "resident-report:" + (client_ip() or "unknown"), per_hour(), HOUR, now
        )
    if not rate.allowed:
        response = _error(429, "too many requests from this address: try again later")
        response.headers["Retry-After"] = str(rate.retry_after_s)
        return response
    with get_engine().begin() as conn:
        try:
            report = check_report(
                conn,
                source="open311",
                service_code=form.get("service_code"),
                lat=form.get("lat"),
                lon=form.get("long"),
                position_source="open311",
                description=form.get("description"),
                contact_name=_name(form.get("first_name"), form.get("last_name")),
                contact_email=form.get("email"),
                contact_phone=form.get("phone"),
            )
        except ReportError as exc:
            names = {"position": "lat/long", "contact_name": "first_name/last_name"}
            return _error(
                400, *(f"{names.get(f, f)}: {reason}" for f, reason in exc.problems.items())
            )
        _id, reference = create_report(conn, report, now)
    notice = (
        f"Matched to {len(report.matched)} vehicle(s) nearby; the city's officers will handle it."
        if report.matched
        else "No vehicle published nearby right now; the city's officers will look."
    )
    return jsonify(
        [{"service_request_id": reference, "service_notice": notice, "account_id": None}]
    )


_PUBLIC_COLUMNS = "reference, status, service_code, created_at, closed_at, lat, lon"
LIST_LIMIT = 200  # newest first, the last 90 days unless dates are given


def _public(row: Any, address: NearestAddress | None = None) -> dict[str, Any]:
    """What anyone may read of a request: never its description, photo or contact.
    ``address``: the nearest address of the national base (BAN) to the reported
    point, within ``[addresses] max_distance_m`` (the service has no geocoder of its
    own: it is where the point is, not an address a resident gave)."""
    updated = row[4] or row[3]
    return {
        "service_request_id": row[0],
        "status": row[1],
        "status_notes": None,
        "service_name": SERVICES[row[2]][0] if row[2] in SERVICES else row[2],
        "service_code": row[2],
        "agency_responsible": get_settings().letterhead.department or None,
        "service_notice": None,
        "requested_datetime": row[3].isoformat(timespec="seconds"),
        "updated_datetime": updated.isoformat(timespec="seconds"),
        "expected_datetime": None,
        "address": address.label if address else None,
        "address_id": address.ban_id if address else None,
        "zipcode": address.postcode if address else None,
        "lat": row[5],
        "long": row[6],
        "media_url": None,
    }


def _answer(rows: list[Any]) -> Response:
    """The requests of ``rows`` with their nearest addresses (one query for all)."""
    if not rows:
        return jsonify([])
    with Session(get_engine()) as s:
        addresses = nearest_addresses(
            s, [(r[6], r[5]) for r in rows], get_settings().addresses.max_distance_m
        )
    return jsonify([_public(r, a) for r, a in zip(rows, addresses, strict=True)])


def _date(name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@bp.get("/requests.json")
def requests_list() -> Response:
    """GeoReport's request list: ``service_request_id`` (comma-separated; overrides the
    other parameters), ``service_code``, ``status`` (open, closed),
    ``start_date``/``end_date`` (RFC 3339; default the last 90 days), newest first."""
    wanted = request.args.get("service_request_id")
    if wanted:
        ids = [i.strip() for i in wanted.split(",") if i.strip()][:LIST_LIMIT]
        with get_engine().connect() as conn:
            rows = conn.execute(
                text(
                    f"SELECT {_PUBLIC_COLUMNS} FROM resident_report"
                    " WHERE reference = ANY(:ids) ORDER BY created_at DESC"
                ),
                {"ids": ids},
            ).all()
        return _answer(list(rows))
    code = request.args.get("service_code") or None
    state = request.args.get("status") or None
    if code is not None and code not in SERVICES:
        return _error(400, f"service_code must be one of {', '.join(SERVICES)}")
    if state is not None and state not in ("open", "closed"):
        return _error(400, "status must be open or closed")
    end = _date("end_date") or datetime.now(UTC)
    start = _date("start_date") or end - timedelta(days=90)
    if (request.args.get("start_date") and _date("start_date") is None) or (
        request.args.get("end_date") and _date("end_date") is None
    ):
        return _error(400, "start_date and end_date must be RFC 3339 times")
    with get_engine().connect() as conn:
        rows = conn.execute(
            text(
                f"SELECT {_PUBLIC_COLUMNS} FROM resident_report"
                " WHERE created_at >= :start AND created_at <= :end"
                " AND (CAST(:code AS text) IS NULL OR service_code = :code)"
                " AND (CAST(:state AS text) IS NULL OR status = :state)"
                " ORDER BY created_at DESC LIMIT :limit"
            ),
            {"start": start, "end": end, "code": code, "state": state, "limit": LIST_LIMIT},
        ).all()
    return _answer(list(rows))


@bp.get("/requests/<reference>.json")
def status(reference: str) -> Response:
    if not reference.startswith("R-") or len(reference) > 32:
        return _error(404, "no such request")
    with get_engine().connect() as conn:
        row = conn.execute(
            text(f"SELECT {_PUBLIC_COLUMNS} FROM resident_report WHERE reference = :r"),
            {"r": reference},
        ).first()
    if row is None:
        return _error(404, "no such request")
    return _answer([row])
