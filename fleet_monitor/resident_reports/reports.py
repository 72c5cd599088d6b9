"""Residents' reports: checked input, matched to the nearest vehicles, stored as a case.

Public input is hostile input: every field is checked here, where it enters
(the web form and Open311 both go through :func:`check_report`), and a report
that fails gets one clear reason per field, with nothing stored. Functions take
a SQLAlchemy ``Connection``; the caller owns the transaction.

Matching: the vehicles published now (``vehicle_current``, still listed, with a
position) within :data:`MATCH_RADIUS_M` of the reported point, nearest first,
at most :data:`MATCH_LIMIT`, of the named operator when one is named. Distances
are geodesic metres (PostGIS geography). The match is recorded with the report
(the vehicles move on; the case keeps what was there when it was reported).
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, text

from datastore.connection import driver_connection
from fleet_monitor.history.operators import operator_id as find_operator_id
from fleet_monitor.history.vehicles_near import vehicles_matching
from gbfs_ingest.parse.boundary import email_problem, text_problem

__all__ = [
    "MATCH_LIMIT",
    "MATCH_RADIUS_M",
    "SERVICES",
    "NewReport",
    "ReportError",
    "check_report",
    "create_report",
    "reports_by_zone",
]

#: How far from the reported point a vehicle may be to be matched (GPS of a phone
#: and of a scooter: each good to several metres, sometimes tens).
MATCH_RADIUS_M = 40.0
MATCH_LIMIT = 5
MAX_DESCRIPTION = 2_000
MAX_NAME = 200
_PHONE = re.compile(r"^[0-9+()./ -]{3,32}$")
_SLUG = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

#: Open311 services (service_code -> English name, French name, description).
SERVICES: dict[str, tuple[str, str, str]] = {
    "badly_parked": (
        "Badly parked bike or scooter",
        "Vélo ou trottinette mal garé",
        "A shared bike or scooter blocking a pavement, a crossing, an entrance or parked"
        " where it is not allowed.",
    ),
    "abandoned": (
        "Abandoned bike or scooter",
        "Vélo ou trottinette abandonné",
        "A shared bike or scooter left in the same place for days, or in water or a garden.",
    ),
    "damaged": (
        "Damaged bike or scooter",
        "Vélo ou trottinette endommagé",
        "A shared bike or scooter that is broken, tipped over or dangerous.",
    ),
}


class ReportError(ValueError):
    """A report that cannot be accepted: ``problems`` maps each field to its reason."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


@dataclass(slots=True)
class NewReport:
    """A checked report, ready to store."""

    source: str  # web | open311
    service_code: str
    position_source: str  # gps | map | open311
    lat: float
    lon: float
    description: str | None = None
    operator_id: int | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    photo: bytes | None = None
    photo_type: str | None = None
    matched: list[dict[str, Any]] = field(default_factory=list)


def _number(raw: Any) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _text(raw: Any, limit: int) -> tuple[str | None, str | None]:
    """(value, problem) of an optional free text."""
    if raw is None or not str(raw).strip():
        return None, None
    value = str(raw).strip()
    if len(value) > limit:
        return None, f"at most {limit} characters"
    problem = text_problem(value, limit)
    return (None, problem[1]) if problem else (value, None)


def check_report(
    conn: Connection,
    *,
    source: str,
    service_code: Any,
    lat: Any,
    lon: Any,
    position_source: Any = "map",
    description: Any = None,
    operator: Any = None,
    contact_name: Any = None,
    contact_email: Any = None,
    contact_phone: Any = None,
    bounds: tuple[float, float, float, float] | None = None,
) -> NewReport:
    """Check every field; raise :class:`ReportError` naming each bad one."""
    problems: dict[str, str] = {}
    code = str(service_code or "").strip()
    if code not in SERVICES:
        problems["service_code"] = f"must be one of {', '.join(SERVICES)}"
    flat, flon = _number(lat), _number(lon)
    if flat is None or flon is None:
        problems["position"] = "a position is needed: use the phone's position or tap the map"
    elif not (-90 <= flat <= 90 and -180 <= flon <= 180) or (flat == 0 and flon == 0):
        problems["position"] = "not a position on Earth"
    elif bounds is not None and not (
        bounds[0] <= flon <= bounds[2] and bounds[1] <= flat <= bounds[3]
    ):
        problems["position"] = "outside the city"
    where = str(position_source or "map")
    if where not in ("gps", "map", "open311"):
        where = "map"
    desc, problem = _text(description, MAX_DESCRIPTION)
    if problem:
        problems["description"] = problem
    name, problem = _text(contact_name, MAX_NAME)
    if problem:
        problems["contact_name"] = problem
    email = str(contact_email).strip() if contact_email and str(contact_email).strip() else None
    if email is not None and (email_problem(email) or "@" not in email):
        problems["contact_email"] = "not an e-mail address"
    phone = str(contact_phone).strip() if contact_phone and str(contact_phone).strip() else None
    if phone is not None and not _PHONE.match(phone):
        problems["contact_phone"] = "not a telephone number"
    operator_id = None
    slug = str(operator).strip() if operator and str(operator).strip() else None
    if slug is not None:
        operator_id = find_operator_id(conn, slug) if _SLUG.match(slug) else None
        if operator_id is None:
            problems["operator"] = "no such operator"
    if problems:
        raise ReportError(problems)
    assert flat is not None and flon is not None
    return NewReport(
        source=source,
        service_code=code,
        position_source=where,
        lat=flat,
        lon=flon,
        description=desc,
        operator_id=operator_id,
        contact_name=name,
        contact_email=email,
        contact_phone=phone,
    )


def match_vehicles(
    conn: Connection, lat: float, lon: float, operator_id: int | None = None
) -> list[dict[str, Any]]:
    """The vehicles published now near the point, nearest first (see the module doc)."""
    # a box in degrees that surely holds the circle (longitude degrees shrink with latitude)
    deg = MATCH_RADIUS_M / 111_000 / max(math.cos(math.radians(lat)), 0.01) * 1.5
    rows: list[Any] = vehicles_matching(
        conn, lat, lon, deg, MATCH_RADIUS_M, operator_id, MATCH_LIMIT
    )
    return [
        {
            "vehicle_id": r[0],
            "gbfs_id": r[1],
            "operator": r[2],
            "state": r[3],
            "vehicle_type_id": r[4],
            "distance_m": round(float(r[5]), 1),
        }
        for r in rows
    ]


def create_report(conn: Connection, report: NewReport, now: datetime) -> tuple[int, str]:
    """Match and store ``report``; returns (id, public reference)."""
    report.matched = match_vehicles(conn, report.lat, report.lon, report.operator_id)
    nearest = report.matched[0] if report.matched else None
    reference = "R-" + secrets.token_hex(5).upper()
    row = conn.execute(
        text(
            """
INSERT INTO resident_report (reference, created_at, source, service_code, position_source,
  lat, lon, geom, description, operator_id, contact_name, contact_email, contact_phone,
  photo, photo_type, matched, nearest_vehicle_id, nearest_distance_m)
VALUES (:reference, :now, :source, :code, :where, :lat, :lon,
  ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :description, :operator_id, :name, :email,
  :phone, :photo, :photo_type, CAST(:matched AS jsonb), :nearest, :distance)
RETURNING id
"""
        ),
        {
            "reference": reference,
            "now": now,
            "source": report.source,
            "code": report.service_code,
            "where": report.position_source,
            "lat": report.lat,
            "lon": report.lon,
            "description": report.description,
            "operator_id": report.operator_id,
            "name": report.contact_name,
            "email": report.contact_email,
            "phone": report.contact_phone,
            "photo": report.photo,
            "photo_type": report.photo_type,
            "matched": orjson.dumps(report.matched).decode(),
            "nearest": nearest["vehicle_id"] if nearest else None,
            "distance": nearest["distance_m"] if nearest else None,
        },
    ).one()
    return row[0], reference


def reports_by_zone(
    conn: Connection, start: datetime, end: datetime, kind: str = "district"
) -> list[tuple[str, str, int]]:
    """Reports made in ``[start, end)`` per zone of ``kind`` in force at the time of each
    report: ``(zone_id, name, count)``, then ``("", "", n)`` for those in no such zone.
    The counting is the statistics' (:mod:`fleet_monitor.stats.residents`)."""
    from fleet_monitor.stats.residents import load_reports, zone_counts

    with driver_connection(conn.connection).cursor() as cur:
        reports = load_reports(cur, start, end, "UTC")
    return [
        (zone_id, name, len(mine))
        for zone_id, name, zone_kind, mine in zone_counts(reports, (kind,))
        if zone_kind in (kind, "")
    ]
