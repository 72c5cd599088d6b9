"""Residents' reports in the case files: the reports a vehicle was matched to.

A report stores the vehicles published near its point when it was made
(``matched``: the vehicle's id, its GBFS id, operator and distance). A case file
of a violation of that vehicle lists the reports made while the violation went
on, in its timeline and among the vehicle's events; the report's own page
links back to the cases the vehicle had then.

What is read here is what a case file may show to everyone who may open it
(the operator concerned included): when, the reference, what was reported, the
distance to the vehicle, whether it was the nearest vehicle and whether a photo
was sent. Never the contact (name, e-mail, telephone), never the resident's
free text: the columns are not even selected. The photo itself is served to
staff only (``/signalements/<id>/photo``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

__all__ = ["PUBLIC_TIMELINE_KEYS", "cases_of_report", "reports_of_vehicle"]

#: Every key of a timeline entry (a test checks nothing else leaks in).
PUBLIC_TIMELINE_KEYS = frozenset(
    {"id", "reference", "at", "source", "service_code", "distance_m", "nearest", "has_photo"}
)

#: Most reports listed in one case file (newest kept).
MAX_REPORTS = 100


def reports_of_vehicle(
    session: Session, vehicle_id: int | None, since: datetime | None, until: datetime | None
) -> list[dict[str, Any]]:
    """Reports matched to ``vehicle_id`` made in ``[since, until]`` (``until`` None: up to
    now), oldest first; each with the distance to this vehicle in metres and whether it
    was the nearest vehicle of the report. Only the keys of :data:`PUBLIC_TIMELINE_KEYS`."""
    if vehicle_id is None:
        return []
    rows = session.execute(
        text(
            "SELECT r.id, r.reference, r.created_at, r.source, r.service_code,"
            " r.nearest_vehicle_id, r.photo IS NOT NULL AS has_photo, m.entry"
            " FROM resident_report r"
            " CROSS JOIN LATERAL jsonb_array_elements(r.matched) AS m(entry)"
            " WHERE r.matched @> CAST(:probe AS jsonb)"
            " AND (m.entry->>'vehicle_id')::bigint = :vid"
            " AND (CAST(:since AS timestamptz) IS NULL OR r.created_at >= :since)"
            " AND (CAST(:until AS timestamptz) IS NULL OR r.created_at <= :until)"
            " ORDER BY r.created_at DESC, r.id DESC LIMIT :limit"
        ),
        {
            "probe": orjson.dumps([{"vehicle_id": vehicle_id}]).decode(),
            "vid": vehicle_id,
            "since": since,
            "until": until,
            "limit": MAX_REPORTS,
        },
    ).all()
    out = []
    for rid, reference, at, source, code, nearest, has_photo, entry in reversed(rows):
        distance = entry.get("distance_m") if isinstance(entry, dict) else None
        out.append(
            {
                "id": rid,
                "reference": reference,
                "at": at,
                "source": source,
                "service_code": code,
                "distance_m": float(distance) if distance is not None else None,
                "nearest": nearest == vehicle_id,
                "has_photo": bool(has_photo),
            }
        )
    return out


def cases_of_report(session: Session, report_id: int) -> list[dict[str, Any]]:
    """The violations of the report's matched vehicles that were going on when it was
    made (from the start of their episode to their close): id, rule, GBFS id, operator."""
    rows = session.execute(
        text(
            "SELECT DISTINCT v.id, v.rule_type, v.gbfs_id, v.operator, v.state"
            " FROM resident_report r"
            " CROSS JOIN LATERAL jsonb_array_elements(r.matched) AS m(entry)"
            " JOIN violation v ON v.vehicle_id = (m.entry->>'vehicle_id')::bigint"
            " AND coalesce(v.since, v.opened_at) <= r.created_at"
            " AND (v.closed_at IS NULL OR v.closed_at >= r.created_at)"
            " WHERE r.id = :id ORDER BY v.id"
        ),
        {"id": report_id},
    ).mappings()
    return [dict(r) for r in rows]
