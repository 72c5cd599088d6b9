"""Read views of notices and case files, for the web pages and the CLI.

``scope`` arguments are the operator ids the caller may see (None: all), as
given by ``fleet_monitor.web.permissions.scope_param``; rows of other
operators are never returned.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from fleet_monitor.history.evidence import fetches_by_id, raw_sizes, vehicle_stays
from fleet_monitor.history.operators import OPERATORS_RELATION_TEXT, operators_relation_binds
from fleet_monitor.notices.disputes import disputes_of
from fleet_monitor.notices.reading import delivery_state

SCOPE = "(CAST(:scope AS int[]) IS NULL OR {col} = ANY(CAST(:scope AS int[])))"

NOTICE_LIST_SQL = f"""
SELECT n.id, n.reference, n.operator_slug AS operator, o.name AS operator_name, n.urgent,
       n.status, n.created_at, n.issued_at, n.deadline_at, n.sent_at, n.response,
       n.responded_at, n.outcome,
       (SELECT count(*) FROM notice_item i WHERE i.notice_id = n.id) AS vehicles,
       (SELECT count(*) FROM delivery d WHERE d.notice_id = n.id) AS deliveries,
       (SELECT count(*) FROM delivery d WHERE d.notice_id = n.id AND d.status = 'sent')
         AS deliveries_sent,
       (SELECT count(*) FROM delivery d WHERE d.notice_id = n.id
          AND d.status IN ('failed', 'unknown')) AS deliveries_failed,
       (SELECT coalesce(sum(p.amount_eur), 0) FROM penalty p WHERE p.notice_id = n.id
          AND p.status = 'due') AS penalties_eur,
       n.kind, n.read_at,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('channel', d.channel, 'status', d.status)),
          '[]'::jsonb) FROM delivery d WHERE d.notice_id = n.id) AS delivery_rows,
       (SELECT count(*) FROM notice_dispute x WHERE x.notice_id = n.id) AS disputes,
       (SELECT count(*) FROM notice_dispute x WHERE x.notice_id = n.id AND x.status = 'open')
         AS disputes_open
FROM notice n JOIN {OPERATORS_RELATION_TEXT} ON o.id = n.operator_id
WHERE {SCOPE.format(col="n.operator_id")}
  AND (CAST(:operator AS text) IS NULL OR n.operator_slug = :operator)
  AND (CAST(:status AS text) IS NULL OR n.status = :status)
ORDER BY n.created_at DESC, n.id DESC
LIMIT :limit OFFSET :offset
"""


def list_notices(
    session: Session,
    *,
    scope: list[int] | None = None,
    operator: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    rows = session.execute(
        text(NOTICE_LIST_SQL),
        {
            "scope": scope,
            "operator": operator,
            "status": status,
            "limit": limit,
            "offset": offset,
            **operators_relation_binds(session),
        },
    ).mappings()
    out = [dict(r) for r in rows]
    for r in out:
        r["delivery_state"] = delivery_state(r["read_at"], r.pop("delivery_rows"))
    return out


def notice_id_by_reference(session: Session, reference: str) -> tuple[int, int] | None:
    row = session.execute(
        text("SELECT id, operator_id FROM notice WHERE reference = :r"), {"r": reference}
    ).first()
    return None if row is None else (row[0], row[1])


def notice_detail(session: Session, notice_id: int) -> dict[str, Any] | None:
    row = (
        session.execute(
            text(
                "SELECT n.*, o.name AS operator_name FROM notice n"
                f" JOIN {OPERATORS_RELATION_TEXT} ON o.id = n.operator_id WHERE n.id = :id"
            ),
            {"id": notice_id, **operators_relation_binds(session)},
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    notice = {k: v for k, v in row.items() if k != "pdf"}
    notice["items"] = [
        dict(r)
        for r in session.execute(
            text(
                "SELECT i.*, v.state AS violation_state, v.opened_at"
                " FROM notice_item i JOIN violation v ON v.id = i.violation_id"
                " WHERE i.notice_id = :id ORDER BY i.id"
            ),
            {"id": notice_id},
        ).mappings()
    ]
    notice["deliveries"] = [
        dict(r)
        for r in session.execute(
            text(
                "SELECT id, channel, recipient, status, attempts, next_attempt_at,"
                " last_attempt_at, sent_at, last_error, response_code FROM delivery"
                " WHERE notice_id = :id ORDER BY id"
            ),
            {"id": notice_id},
        ).mappings()
    ]
    notice["penalties"] = [
        dict(r)
        for r in session.execute(
            text(
                "SELECT p.id, p.violation_id, p.rule_type, p.clause, p.amount_eur, p.status,"
                " p.created_at, i.gbfs_id FROM penalty p"
                " JOIN notice_item i ON i.id = p.notice_item_id WHERE p.notice_id = :id"
                " ORDER BY p.id"
            ),
            {"id": notice_id},
        ).mappings()
    ]
    notice["disputes"] = disputes_of(session, notice_id=notice_id)
    notice["delivery_state"] = delivery_state(notice["read_at"], notice["deliveries"])
    return notice


# --------------------------------------------------------------------------- cases

CASE_LIST_SQL = f"""
SELECT v.id, v.rule_type, v.operator, o.name AS operator_name, v.gbfs_id, v.state, v.status,
       v.opened_at, v.closed_at, v.since, coalesce(c.status, 'open') AS case_status,
       (SELECT n.reference FROM notice_item i JOIN notice n ON n.id = i.notice_id
         WHERE i.violation_id = v.id AND i.active ORDER BY n.id DESC LIMIT 1) AS notice
FROM violation v
JOIN {OPERATORS_RELATION_TEXT} ON o.slug = v.operator
LEFT JOIN case_file c ON c.violation_id = v.id
WHERE {SCOPE.format(col="o.id")}
  AND (CAST(:operator AS text) IS NULL OR v.operator = :operator)
  AND (CAST(:rule AS text) IS NULL OR v.rule_type = :rule)
  AND (NOT :open_only OR v.state <> 'closed')
ORDER BY v.opened_at DESC, v.id DESC
LIMIT :limit OFFSET :offset
"""


def list_cases(
    session: Session,
    *,
    scope: list[int] | None,
    operator: str | None = None,
    rule: str | None = None,
    open_only: bool = True,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    rows = session.execute(
        text(CASE_LIST_SQL),
        {
            "scope": scope,
            "operator": operator,
            "rule": rule,
            "open_only": open_only,
            "limit": limit,
            "offset": offset,
            **operators_relation_binds(session),
        },
    ).mappings()
    return [dict(r) for r in rows]


def case_violation(session: Session, violation_id: int) -> dict[str, Any] | None:
    row = (
        session.execute(
            text(
                "SELECT v.id, v.key, v.rule_type, v.operator, o.id AS operator_id,"
                " o.name AS operator_name, v.subject_kind, v.subject, v.vehicle_id, v.dwell_id,"
                " v.gbfs_id, v.zone_id, v.state, v.status, v.opened_at, v.since, v.last_seen_at,"
                " v.closed_at, v.closed_reason, v.measured, v.unit, v.threshold, v.clause,"
                " v.permit_version, v.confidence, v.coverage, v.penalty_eur, v.evidence,"
                " v.first_fetch_id, v.last_fetch_id, v.closed_fetch_id,"
                " ST_X(v.geom) AS lon, ST_Y(v.geom) AS lat,"
                " coalesce(c.status, 'open') AS case_status, c.updated_at AS case_updated_at,"
                " c.updated_by AS case_updated_by,"
                " z.name AS zone_name, p.name AS permit_name"
                f" FROM violation v JOIN {OPERATORS_RELATION_TEXT} ON o.slug = v.operator"
                " LEFT JOIN case_file c ON c.violation_id = v.id"
                " LEFT JOIN LATERAL (SELECT name FROM zone WHERE zone_id = v.zone_id"
                "   ORDER BY version DESC LIMIT 1) z ON true"
                " LEFT JOIN permit p ON p.operator = v.operator AND p.version = v.permit_version"
                " WHERE v.id = :id"
            ),
            {"id": violation_id, **operators_relation_binds(session)},
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def case_events(session: Session, violation_id: int) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in session.execute(
            text(
                "SELECT at, kind, status, measured, detail FROM violation_event"
                " WHERE violation_id = :id ORDER BY at, id"
            ),
            {"id": violation_id},
        ).mappings()
    ]


def _evidence_refs(evidence: dict[str, Any]) -> tuple[list[int], list[str]]:
    """Fetch ids and raw hashes named by a violation's evidence (``fetch:<id>``, ``raw:<sha>``)."""
    fetch_ids: list[int] = []
    hashes: list[str] = [h for h in evidence.get("raw_hashes") or [] if isinstance(h, str)]
    for obs in evidence.get("observations") or []:
        for ref in obs.get("fetch_refs") or []:
            if isinstance(ref, str) and ref.startswith("fetch:") and ref[6:].isdigit():
                fetch_ids.append(int(ref[6:]))
            elif isinstance(ref, str) and ref.startswith("raw:"):
                hashes.append(ref[4:])
    return fetch_ids, list(dict.fromkeys(hashes))


def case_evidence(session: Session, violation: dict[str, Any]) -> list[dict[str, Any]]:
    """Feed files behind the violation: the fetches it names and the raw hashes of its
    evidence, each with when it was fetched and whether its bytes are still kept.
    (Fetches are looked up by id only: ``feed_fetch`` is large and has no hash index.)"""
    named, hashes = _evidence_refs(violation["evidence"] or {})
    roles = {
        "first": violation["first_fetch_id"],
        "last": violation["last_fetch_id"],
        "closed": violation["closed_fetch_id"],
    }
    fetch_ids = sorted({f for f in (*roles.values(), *named) if f is not None})
    rows = fetches_by_id(session, fetch_ids)
    by_hash: dict[str, dict[str, Any]] = {}
    for r in rows:
        digest = r["content_hash"]
        if digest and digest not in by_hash:
            role = [name for name, fid in roles.items() if fid == r["id"]]
            by_hash[digest] = {
                "sha256": digest,
                "fetch_id": r["id"],
                "at": r["observed_at"] or r["started_at"],
                "roles": role,
            }
    for digest in hashes:
        by_hash.setdefault(digest, {"sha256": digest, "fetch_id": None, "at": None, "roles": []})
    kept = raw_sizes(session, list(by_hash))
    out = []
    for digest, item in by_hash.items():
        item["size"] = kept.get(digest)
        item["kept"] = digest in kept
        out.append(item)
    return out


def evidence_hashes(session: Session, violation: dict[str, Any]) -> set[str]:
    """Every raw hash the case file may serve (its evidence and its vehicle's stays)."""
    allowed = {e["sha256"] for e in case_evidence(session, violation)}
    for d in vehicle_stays(session, violation["vehicle_id"]):
        allowed.update(h for h in (d["start_hash"], d["end_hash"]) if h)
    return allowed


def case_notes(session: Session, violation_id: int) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in session.execute(
            text(
                "SELECT id, at, author, kind, body, present, details FROM case_note"
                " WHERE violation_id = :id ORDER BY at, id"
            ),
            {"id": violation_id},
        ).mappings()
    ]


def case_notices(session: Session, violation_id: int) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in session.execute(
            text(
                "SELECT n.id, n.reference, n.status, n.issued_at, n.deadline_at, n.sent_at,"
                " n.response, i.outcome, i.outcome_reason, i.active, n.kind, n.read_at"
                " FROM notice_item i JOIN notice n ON n.id = i.notice_id"
                " WHERE i.violation_id = :id ORDER BY n.id"
            ),
            {"id": violation_id},
        ).mappings()
    ]
