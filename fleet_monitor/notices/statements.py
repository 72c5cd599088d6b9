"""Penalty statements (états des pénalités): the last step of the escalation ladder.

When a notice of breach or a formal notice is closed with penalties due, and
none of its vehicles' disputes is still open (the decision comes first), a
penalty statement is issued to the operator when its permit says so
(``[escalation] penalty_statement``): the penalties due, vehicle by vehicle,
with the permit's article and the total, as a notice of kind
``penalty_statement`` (reference from the same sequence, no deadline, no
items of its own, so its vehicles stay with the notice that found them; each
line shows the address, location map and evidence that notice printed). It
is delivered like any notice and is closed from the start: there is nothing
to check after it. One statement per notice (``batch_key statement:<id>``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from fleet_monitor.history.operators import operator_name as name_of_operator
from fleet_monitor.models.notices import Notice
from fleet_monitor.notices import document, legal
from fleet_monitor.notices.planner import next_reference, permit_of, permit_tz
from fleet_monitor.outbox.documents import iso_z
from fleet_monitor.outbox.store import enqueue
from fleet_monitor.settings import Settings
from fleet_monitor.users import record_audit

DUE_SQL = """
SELECT n.id, n.reference, n.operator_id, n.operator_slug, n.permit_version, n.urgent
FROM notice n
WHERE n.status = 'closed' AND n.kind IN ('breach', 'formal')
  AND EXISTS (SELECT 1 FROM penalty p WHERE p.notice_id = n.id AND p.status = 'due')
  AND NOT EXISTS (SELECT 1 FROM notice_dispute d WHERE d.notice_id = n.id AND d.status = 'open')
  AND NOT EXISTS (SELECT 1 FROM notice s WHERE s.operator_id = n.operator_id
                  AND s.batch_key = 'statement:' || n.id)
ORDER BY n.id
FOR UPDATE OF n SKIP LOCKED
"""

LINES_SQL = """
SELECT p.amount_eur, p.rule_type, p.clause, i.violation_id, i.gbfs_id, i.vehicle_id, i.lon,
       i.lat, i.since, i.evidence_sha256, v.opened_at, v.measured, v.unit, v.threshold,
       v.zone_id, zn.name AS zone_name, NULL AS district_name
FROM penalty p JOIN notice_item i ON i.id = p.notice_item_id
JOIN violation v ON v.id = i.violation_id
LEFT JOIN LATERAL (SELECT z.name FROM zone z WHERE z.zone_id = v.zone_id
  ORDER BY z.version DESC LIMIT 1) zn ON true
WHERE p.notice_id = :n AND p.status = 'due' ORDER BY p.id
"""


def issue_penalty_statements(session: Session, now: datetime, settings: Settings) -> list[str]:
    """Issue the statements now due (see the module docstring). Caller commits."""
    out: list[str] = []
    for row in session.execute(text(DUE_SQL)).mappings().all():
        permit = permit_of(session, row["operator_slug"], row["permit_version"], now)
        if not permit.escalation.penalty_statement:
            continue
        out.append(_issue_one(session, dict(row), permit, now, settings))
    return out


def _issue_one(
    session: Session, row: dict[str, Any], permit: Any, now: datetime, settings: Settings
) -> str:
    lines = [dict(r) for r in session.execute(text(LINES_SQL), {"n": row["id"]}).mappings()]
    # where each vehicle was, as the act that found it printed it (address, map, evidence)
    act = session.get(Notice, row["id"])
    found = {
        it["violation_id"]: it for it in ((act.payload if act else None) or {}).get("items", [])
    }
    for line in lines:
        line["penalty_eur"] = float(line["amount_eur"])
        before = found.get(line["violation_id"]) or {}
        line["address"] = before.get("address")
        line["situation"] = before.get("map")
        line["district_name"] = before.get("district")
        line["raw_hashes"] = (before.get("evidence") or {}).get("raw_hashes") or []
    reference = next_reference(
        session, settings.notices.reference_prefix, now.astimezone(permit_tz(permit)).year
    )
    notice = Notice(
        operator_id=row["operator_id"],
        operator_slug=row["operator_slug"],
        urgent=False,
        batch_key=f"statement:{row['id']}",
        status="closed",
        kind="penalty_statement",
        permit_version=row["permit_version"],
        created_at=now,
        created_by="system",
        issued_at=now,
        issued_by="system",
        reference=reference,
        escalation={"notice": row["reference"], "notice_id": row["id"]},
    )
    session.add(notice)
    session.flush()
    operator_name = name_of_operator(session, row["operator_id"])
    link, expires = _link(settings, notice.id, reference, now)
    payload = document.build_payload(
        reference=reference,
        notice=notice,
        operator_name=operator_name,
        items=lines,
        permit=permit,
        issued_at=now,
        deadline_at=None,
        city=settings.city.name,
        public_url=settings.notices.public_url,
        kind="penalty_statement",
        escalation={
            "notice": row["reference"],
            "text": (
                f"Pénalités dues au titre de l’acte {row['reference']}, dont l’échéance n’a "
                f"pas été respectée. / Penalties due under {row['reference']}, whose "
                "deadline was missed."
            ),
        },
        letterhead=legal.letterhead_dict(settings.letterhead),
        respond_link=link,
        respond_link_expires=expires,
    )
    payload["statement_of"] = {"reference": row["reference"], "checked_at": iso_z(now)}
    # printed at its first need, from this payload (notices/printed.py)
    notice.payload, notice.pdf, notice.pdf_sha256 = payload, None, None
    contacts = session.execute(
        text(
            "SELECT id, channel, address FROM operator_contact WHERE operator_id = :op"
            " AND active AND notices ORDER BY id"
        ),
        {"op": row["operator_id"]},
    ).all()
    for cid, channel, address in contacts:
        enqueue(
            session,
            subject="notice",
            subject_id=notice.id,
            channel=channel,
            recipient=address,
            key=f"notice:{reference}:{channel}:{address}",
            now=now,
            contact_id=cid,
        )
    record_audit(
        session,
        "notice.penalty_statement",
        actor_email="system",
        operator_id=row["operator_id"],
        details={
            "notice": reference,
            "statement_of": row["reference"],
            "total_eur": payload["total_penalty_eur"],
        },
    )
    return reference


def _link(
    settings: Settings, notice_id: int, reference: str, now: datetime
) -> tuple[str | None, datetime | None]:
    from fleet_monitor.notices.planner import respond_link

    return respond_link(settings, notice_id, reference, now)
