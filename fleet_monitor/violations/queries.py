"""Read-only views of violations and runs (CLI, reports, web)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from datastore import pg_connection

_VIOLATION_COLS = (
    "id",
    "key",
    "rule_type",
    "operator",
    "subject_kind",
    "subject",
    "vehicle_id",
    "gbfs_id",
    "zone_id",
    "state",
    "status",
    "opened_at",
    "since",
    "last_seen_at",
    "closed_at",
    "closed_reason",
    "closed_fetch_id",
    "measured",
    "unit",
    "threshold",
    "clause",
    "permit_version",
    "confidence",
    "coverage",
    "penalty_eur",
    "vehicles_beyond",
    "first_fetch_id",
    "last_fetch_id",
)


def list_violations(
    session: Session,
    *,
    open_only: bool = False,
    operator: str | None = None,
    rule_type: str | None = None,
    limit: int | None = None,
    with_evidence: bool = True,
    violation_id: int | None = None,
) -> list[dict[str, Any]]:
    """Violations, most recently opened first. ``open_only``: open or held."""
    where: list[str] = []
    params: list[Any] = []
    if violation_id is not None:
        where.append("id = %s")
        params.append(violation_id)
    if open_only:
        where.append("state <> 'closed'")
    if operator is not None:
        where.append("operator = %s")
        params.append(operator)
    if rule_type is not None:
        where.append("rule_type = %s")
        params.append(rule_type)
    cols = ", ".join(_VIOLATION_COLS)
    sql = f"SELECT {cols}, ST_X(geom), ST_Y(geom), {'evidence' if with_evidence else 'NULL'}"
    sql += " FROM violation"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY opened_at DESC, id DESC"
    if limit:
        sql += " LIMIT %s"
        params.append(limit)
    cur = pg_connection(session).cursor()
    cur.execute(sql, params)
    out = []
    for row in cur.fetchall():
        item = dict(zip(_VIOLATION_COLS, row, strict=False))
        lon, lat, evidence = row[len(_VIOLATION_COLS) :]
        item["position"] = None if lon is None else [lon, lat]
        if with_evidence:
            item["evidence"] = evidence
        out.append(item)
    return out


def violation_timeline(session: Session, violation_id: int) -> list[dict[str, Any]]:
    cur = pg_connection(session).cursor()
    cur.execute(
        "SELECT at, kind, status, measured, detail, run_id FROM violation_event"
        " WHERE violation_id = %s ORDER BY at, id",
        (violation_id,),
    )
    keys = ("at", "kind", "status", "measured", "detail", "run_id")
    return [dict(zip(keys, r, strict=True)) for r in cur.fetchall()]


def latest_run(session: Session) -> dict[str, Any] | None:
    cur = pg_connection(session).cursor()
    cur.execute(
        "SELECT id, trigger, as_of, started_at, duration_ms, vehicles, findings, opened, updated,"
        " unchanged, held, closed FROM rules_run WHERE voided_at IS NULL"
        " ORDER BY as_of DESC, id DESC LIMIT 1"
    )
    row = cur.fetchone()
    if row is None:
        return None
    keys = (
        "id",
        "trigger",
        "as_of",
        "started_at",
        "duration_ms",
        "vehicles",
        "findings",
        "opened",
        "updated",
        "unchanged",
        "held",
        "closed",
    )
    return dict(zip(keys, row, strict=True))


def jsonable_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
