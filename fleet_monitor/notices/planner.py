"""Detection: which violations become notices, and issuing a notice.

``plan_notices(session, now, settings)`` looks at the open violations (not
``uncertain``, not dismissed by an officer, not already in a notice) of the
rules in ``notices.rules`` for operators with a permit in force, and:

* urgent rules (``notices.urgent_rules``, by default those ``rules.registry``
  marks urgent: in water, on tram tracks...): one notice per operator at once,
  for all its urgent violations, planned right after the evaluation that
  detected them; its deadline is the shortest of its rules' (the permit's
  ``[notices.deadlines]``, else the registry's default);
* the others: one notice per operator per batch window
  (``notices.batch_window_s``, aligned on the epoch), with the violations open
  for at least ``notices.grace_s`` when the window closed (a rider who parks
  badly and rides away a minute later is not noticed).

A notice is ``draft`` until issued. In ``auto`` mode it is issued at once; in
``review`` mode a supervisor issues it. Issuing gives it its reference, its
deadline (``rules.registry.notice_deadline`` for its permit and rules), its payload and
PDF, and one delivery per active contact of the operator. Planning and
issuing run under one advisory lock; unique indexes back it (one active
notice item per violation, one notice per operator and batch).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from fleet_monitor.history.operators import (
    OPERATORS_RELATION_TEXT,
    Operator,
    operators_relation_binds,
)
from fleet_monitor.models.notices import Notice, NoticeItem, OperatorContact
from fleet_monitor.notices import document, legal, thumbnail
from fleet_monitor.outbox.store import enqueue
from fleet_monitor.settings import Settings
from fleet_monitor.users import record_audit
from fleet_monitor.violations.catalog import load_permits
from rules import Permit, select_permit
from rules.registry import notice_deadline, rules_about

log = logging.getLogger(__name__)

LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('fleet_monitor.notices'))"
#: rule types about one vehicle: the ones a notice names (``rules.registry``)
VEHICLE_RULES: tuple[str, ...] = rules_about("vehicle")

CANDIDATES_SQL = f"""
SELECT v.id, o.id AS operator_id, v.operator, v.rule_type, v.clause, v.vehicle_id, v.gbfs_id,
       ST_X(v.geom) AS lon, ST_Y(v.geom) AS lat, v.since, v.opened_at, v.measured, v.unit,
       v.threshold
FROM violation v
JOIN {OPERATORS_RELATION_TEXT} ON o.slug = v.operator
LEFT JOIN case_file c ON c.violation_id = v.id
WHERE v.state = 'open' AND v.status = 'violation' AND v.subject_kind = 'vehicle'
  AND v.rule_type = ANY(:rules)
  AND v.opened_at <= :now
  AND (c.status IS NULL OR c.status NOT IN ('dismissed', 'resolved'))
  AND NOT EXISTS (SELECT 1 FROM notice_item i WHERE i.violation_id = v.id AND i.active)
  AND (CAST(:only AS bigint) IS NULL OR v.id = CAST(:only AS bigint))
ORDER BY v.operator, v.opened_at, v.id
"""


class NoticeError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(slots=True)
class PlanResult:
    created: list[int] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    no_permit: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "issued": self.issued, "no_permit": self.no_permit}


def window_start(now: datetime, window_s: int) -> datetime:
    """Start of the batch window containing ``now`` (windows aligned on the epoch)."""
    ts = int(now.timestamp())
    return datetime.fromtimestamp(ts - ts % window_s, tz=UTC)


def notice_rules(settings: Settings) -> list[str]:
    """The rules noticed: ``notices.rules``, or every vehicle rule when empty."""
    return list(settings.notices.rules) or list(VEHICLE_RULES)


def _candidates(
    session: Session, now: datetime, rules: list[str], only: int | None = None
) -> list[dict[str, Any]]:
    rows = session.execute(
        text(CANDIDATES_SQL),
        {"rules": rules, "now": now, "only": only, **operators_relation_binds(session)},
    ).mappings()
    return [dict(r) for r in rows]


def plan_notices(
    session: Session, now: datetime, settings: Settings, *, urgent_only: bool = False
) -> PlanResult:
    """Create (and in ``auto`` mode issue) the notices due at ``now``. Caller commits.

    ``urgent_only``: the urgent rules' notices only (run right after each
    evaluation, so that an urgent violation is noticed by the evaluation that
    detects it, see ``fleet_monitor.notices.jobs.after_evaluation``)."""
    result = PlanResult()
    ns = settings.notices
    rules = notice_rules(settings)
    if urgent_only:
        rules = [r for r in rules if r in ns.urgent_rules]
        if not rules:
            return result
    session.execute(text(LOCK_SQL))
    rows = _candidates(session, now, rules)
    if not rows:
        return result
    permits = load_permits(session)
    window = window_start(now, ns.batch_window_s)
    urgent_rules = set(ns.urgent_rules)
    groups: dict[tuple[int, str, bool], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        urgent = row["rule_type"] in urgent_rules
        if not urgent and row["opened_at"] + timedelta(seconds=ns.grace_s) > window:
            continue  # noticed with a later window
        groups[(row["operator_id"], row["operator"], urgent)].append(row)
    for (operator_id, slug, urgent), items in sorted(groups.items(), key=lambda kv: kv[0]):
        permit = select_permit(permits, slug, now)
        if permit is None:
            result.no_permit.append(slug)
            continue
        key = f"urgent:{items[0]['id']}" if urgent else f"batch:{window.isoformat()}"
        notice_id = create_notice(
            session,
            operator_id,
            slug,
            items,
            urgent=urgent,
            batch_key=key,
            permit=permit,
            now=now,
            by="system",
        )
        if notice_id is None:
            continue
        result.created.append(notice_id)
        if ns.mode == "auto":
            result.issued.append(issue_notice(session, notice_id, now, settings, by="system"))
    if result.no_permit:
        log.warning("no permit in force: no notice for %s", ", ".join(sorted(result.no_permit)))
    return result


def create_notice(
    session: Session,
    operator_id: int,
    slug: str,
    items: list[dict[str, Any]],
    *,
    urgent: bool,
    batch_key: str,
    permit: Permit,
    now: datetime,
    by: str,
) -> int | None:
    """A draft notice with its items; None if this operator's batch already has one."""
    notice_id = session.execute(
        text(
            "INSERT INTO notice (operator_id, operator_slug, urgent, batch_key, status,"
            " permit_version, created_at, created_by)"
            " VALUES (:op, :slug, :urgent, :key, 'draft', :pv, :now, :by)"
            " ON CONFLICT (operator_id, batch_key) DO NOTHING RETURNING id"
        ),
        {
            "op": operator_id,
            "slug": slug,
            "urgent": urgent,
            "key": batch_key,
            "pv": permit.version,
            "now": now,
            "by": by,
        },
    ).scalar()
    if notice_id is None:
        return None
    evidence = document.evidence_of(session, [r["id"] for r in items])
    for r in items:
        last_hash, _raw = evidence.get(r["id"], (None, []))
        session.add(
            NoticeItem(
                notice_id=notice_id,
                violation_id=r["id"],
                active=True,
                rule_type=r["rule_type"],
                clause=r["clause"],
                vehicle_id=r["vehicle_id"],
                gbfs_id=r["gbfs_id"],
                lon=r["lon"],
                lat=r["lat"],
                since=r["since"],
                evidence_sha256=last_hash,
                penalty_eur=permit.penalties_eur.get(r["rule_type"]),
            )
        )
    session.flush()
    return int(notice_id)


def next_reference(session: Session, prefix: str, year: int) -> str:
    value = session.execute(
        text(
            "INSERT INTO notice_counter (year, value) VALUES (:y, 1)"
            " ON CONFLICT (year) DO UPDATE SET value = notice_counter.value + 1 RETURNING value"
        ),
        {"y": year},
    ).scalar_one()
    return f"{prefix}-{year}-{value:06d}"


def permit_of(session: Session, slug: str, version: int, at: datetime) -> Permit:
    permits = load_permits(session)
    for p in permits:
        if p.operator == slug and p.version == version:
            return p
    permit = select_permit(permits, slug, at)
    if permit is None:
        raise NoticeError("no_permit", f"no permit for operator {slug}")
    return permit


def with_addresses(
    session: Session, items: list[dict[str, Any]], settings: Settings
) -> list[dict[str, Any]]:
    """Each item with the nearest address of its position (``address``: dict or None)."""
    from fleet_monitor.addresses import nearest_addresses

    points = [(it["lon"], it["lat"]) for it in items if it["lon"] is not None]
    found = iter(nearest_addresses(session, points, settings.addresses.max_distance_m))
    return [
        {**it, "address": None if it["lon"] is None else _address_dict(next(found))} for it in items
    ]


def _address_dict(found: Any) -> dict[str, Any] | None:
    return None if found is None else found.as_dict()


def issue_notice(
    session: Session,
    notice_id: int,
    now: datetime,
    settings: Settings,
    *,
    by: str,
    actor_id: int | None = None,
    ip: str | None = None,
) -> str:
    """Issue a draft notice: reference, deadline, document, deliveries. Returns the reference."""
    notice = session.execute(
        select(Notice).where(Notice.id == notice_id).with_for_update()
    ).scalar_one_or_none()
    if notice is None:
        raise NoticeError("not_found", f"no notice {notice_id}")
    if notice.status != "draft":
        raise NoticeError("not_draft", f"notice {notice.reference or notice_id} is {notice.status}")
    permit = permit_of(session, notice.operator_slug, notice.permit_version, now)
    year = now.astimezone(permit_tz(permit)).year
    reference = next_reference(session, settings.notices.reference_prefix, year)
    items = with_addresses(session, _item_rows(session, notice_id), settings)
    # the shortest deadline of its rules: the permit's [notices.deadlines], else the registry's
    deadline = notice_deadline(permit, now, [i["rule_type"] for i in items])
    operator = session.get(Operator, notice.operator_id)
    for it in items:
        if it["lon"] is not None and it["lat"] is not None:
            it["situation"] = thumbnail.situation(session, it["lon"], it["lat"], now)
    kind, why = legal.decide_kind(session, notice.operator_id, permit, now)
    why["text"] = legal.escalation_text(kind, why)
    link, expires = respond_link(settings, notice.id, reference, deadline)
    payload = document.build_payload(
        reference=reference,
        notice=notice,
        operator_name=operator.name if operator else notice.operator_slug,
        items=items,
        permit=permit,
        issued_at=now,
        deadline_at=deadline,
        city=settings.city.name,
        public_url=settings.notices.public_url,
        kind=kind,
        escalation=why,
        letterhead=legal.letterhead_dict(settings.letterhead),
        respond_link=link,
        respond_link_expires=expires,
    )
    notice.kind, notice.escalation = kind, why
    notice.reference, notice.status, notice.issued_at, notice.issued_by = (
        reference,
        "issued",
        now,
        by,
    )
    notice.deadline_at, notice.payload = deadline, payload
    # printed at its first need, from this payload (notices/printed.py)
    notice.pdf, notice.pdf_sha256 = None, None
    contacts = session.scalars(
        select(OperatorContact).where(
            OperatorContact.operator_id == notice.operator_id,
            OperatorContact.active,
            OperatorContact.notices,
        )
    ).all()
    for c in contacts:
        enqueue(
            session,
            subject="notice",
            subject_id=notice.id,
            channel=c.channel,
            recipient=c.address,
            key=f"notice:{reference}:{c.channel}:{c.address}",
            now=now,
            contact_id=c.id,
        )
    record_audit(
        session,
        "notice.issued",
        actor_id=actor_id,
        actor_email=by,
        ip=ip,
        operator_id=notice.operator_id,
        details={
            "notice": reference,
            "vehicles": len(items),
            "urgent": notice.urgent,
            "kind": kind,
            "deadline": deadline.isoformat(),
            "recipients": len(contacts),
        },
    )
    return reference


def respond_link(
    settings: Settings, notice_id: int, reference: str, deadline: datetime
) -> tuple[str | None, datetime | None]:
    """The signed link to respond, valid ``letterhead.respond_link_ttl_s`` after the
    deadline; none without a public URL or a web secret to sign it with."""
    base = settings.notices.public_url.rstrip("/")
    secret = settings.web.secret_key
    if not base or secret is None:
        return None, None
    expires = deadline + timedelta(seconds=settings.letterhead.respond_link_ttl_s)
    token = legal.make_respond_token(secret.reveal(), notice_id, reference, expires)
    return f"{base}/respond/{token}", expires


def permit_tz(permit: Permit) -> ZoneInfo:
    return ZoneInfo(permit.timezone)


def _item_rows(session: Session, notice_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        text(
            "SELECT i.violation_id, i.rule_type, i.clause, i.vehicle_id, i.gbfs_id, i.lon, i.lat,"
            " i.since, i.evidence_sha256, i.penalty_eur, v.opened_at, v.measured, v.unit,"
            " v.threshold, coalesce(v.evidence->'raw_hashes', '[]'::jsonb) AS raw_hashes,"
            " v.zone_id, zn.name AS zone_name, dn.name AS district_name"
            " FROM notice_item i JOIN violation v ON v.id = i.violation_id"
            " LEFT JOIN LATERAL (SELECT z.name FROM zone z WHERE z.zone_id = v.zone_id"
            "   ORDER BY z.version DESC LIMIT 1) zn ON true"
            " LEFT JOIN LATERAL (SELECT z.name FROM zone z WHERE z.kind = 'district'"
            "   AND v.geom IS NOT NULL AND ST_Covers(z.geom, v.geom)"
            "   ORDER BY z.version DESC LIMIT 1) dn ON true"
            " WHERE i.notice_id = :n ORDER BY i.id"
        ),
        {"n": notice_id},
    ).mappings()
    return [dict(r) for r in rows]


def notice_violation_now(
    session: Session,
    violation_id: int,
    now: datetime,
    settings: Settings,
    *,
    by: str,
    actor_id: int | None = None,
    ip: str | None = None,
) -> str:
    """A supervisor's notice for one violation, issued at once (whatever the mode)."""
    session.execute(text(LOCK_SQL))
    rows = _candidates(session, now, list(VEHICLE_RULES), only=violation_id)
    if not rows:
        raise NoticeError(
            "not_eligible", "this violation is closed, uncertain, dismissed or already noticed"
        )
    row = rows[0]
    permit = select_permit(load_permits(session), row["operator"], now)
    if permit is None:
        raise NoticeError("no_permit", f"no permit in force for {row['operator']}")
    notice_id = create_notice(
        session,
        row["operator_id"],
        row["operator"],
        rows,
        urgent=row["rule_type"] in settings.notices.urgent_rules,
        batch_key=f"manual:{violation_id}:{now.isoformat()}",
        permit=permit,
        now=now,
        by=by,
    )
    if notice_id is None:
        raise NoticeError("exists", "a notice was just made for this violation")
    return issue_notice(session, notice_id, now, settings, by=by, actor_id=actor_id, ip=ip)
