"""The fleet operators declare, per period: entered in the web app or imported from CSV.

CSV: a header line, then one declaration per line, comma or semicolon separated::

    operator,period,declared,form_factor,note
    trotti,2026-10,400,scooter_standing,monthly statement
    velomax,2026-W41,600,,

``period`` is read like every period of the statistics (a month, a week, a day,
``FIRST..LAST``); ``form_factor`` is optional (empty or ``*``: the whole fleet).
An import is all or nothing: one wrong line and nothing is written (every
problem is reported with its line number). A declaration for the same operator,
form factor and period replaces the previous one.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fleet_monitor.history.operators import (
    OPERATORS_RELATION,
    operator_ids_by_slug,
    operators_relation_params,
)
from fleet_monitor.models.stats import ALL
from fleet_monitor.stats.periods import Period, PeriodError, parse_period

FORM_FACTOR_RE = re.compile(r"^[a-z_]{1,32}$")
REQUIRED = ("operator", "period", "declared")
MAX_DECLARED = 1_000_000


class DeclaredError(ValueError):
    """A declaration that cannot be stored."""


@dataclass(frozen=True, slots=True)
class Declaration:
    operator_id: int
    slug: str
    form_factor: str
    period: Period
    declared: int
    note: str = ""


@dataclass(slots=True)
class ImportResult:
    stored: list[Declaration] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def check_form_factor(value: str | None) -> str:
    ff = (value or "").strip() or ALL
    if ff != ALL and not FORM_FACTOR_RE.match(ff):
        raise DeclaredError(f"form factor {ff!r}: letters and '_' only (e.g. scooter_standing)")
    return ff


def check_declared(value: object) -> int:
    try:
        n = int(str(value).strip())
    except ValueError:
        raise DeclaredError(f"declared fleet {value!r} is not a whole number") from None
    if not 0 <= n <= MAX_DECLARED:
        raise DeclaredError(f"declared fleet {n} is out of range")
    return n


def operator_ids(cur: Any) -> dict[str, int]:
    return operator_ids_by_slug(cur)


def store(
    cur: Any,
    d: Declaration,
    *,
    source: str,
    entered_by_id: int | None = None,
    entered_by: str | None = None,
) -> int:
    cur.execute(
        "INSERT INTO declared_fleet (operator_id, form_factor, period_start, period_end,"
        " declared, source, note, entered_by_id, entered_by, entered_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now())"
        " ON CONFLICT (operator_id, form_factor, period_start, period_end) DO UPDATE SET"
        " declared = EXCLUDED.declared, source = EXCLUDED.source, note = EXCLUDED.note,"
        " entered_by_id = EXCLUDED.entered_by_id, entered_by = EXCLUDED.entered_by,"
        " entered_at = now() RETURNING id",
        (
            d.operator_id,
            d.form_factor,
            d.period.first,
            d.period.end,
            d.declared,
            source,
            d.note,
            entered_by_id,
            entered_by,
        ),
    )
    return int(cur.fetchone()[0])


def parse_csv(
    text: str, operators: dict[str, int], timezone: str, allowed: frozenset[int] | None = None
) -> ImportResult:
    """Read declarations; ``allowed`` restricts the operators (an operator's own account)."""
    result = ImportResult()
    text = text.lstrip("\ufeff")
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in fields]
    if missing:
        result.errors.append(f"line 1: missing column(s) {', '.join(missing)}")
        return result
    reader.fieldnames = fields
    for line, row in enumerate(reader, start=2):
        try:
            slug = (row.get("operator") or "").strip()
            if slug not in operators or (allowed is not None and operators[slug] not in allowed):
                raise DeclaredError(f"unknown operator {slug!r}")
            period = parse_period((row.get("period") or "").strip(), timezone)
            result.stored.append(
                Declaration(
                    operators[slug],
                    slug,
                    check_form_factor(row.get("form_factor")),
                    period,
                    check_declared(row.get("declared")),
                    (row.get("note") or "").strip()[:500],
                )
            )
        except (DeclaredError, PeriodError) as exc:
            result.errors.append(f"line {line}: {exc}")
    if not result.stored and not result.errors:
        result.errors.append("no declaration in the file")
    return result


def import_csv(
    cur: Any,
    text: str,
    timezone: str,
    *,
    source: str = "csv",
    allowed: frozenset[int] | None = None,
    entered_by_id: int | None = None,
    entered_by: str | None = None,
) -> ImportResult:
    """Parse and store (in the caller's transaction) unless a line is wrong."""
    result = parse_csv(text, operator_ids(cur), timezone, allowed)
    if result.errors:
        result.stored = []
        return result
    for d in result.stored:
        store(cur, d, source=source, entered_by_id=entered_by_id, entered_by=entered_by)
    return result


def list_declared(
    cur: Any, visible: frozenset[int] | None, limit: int = 200
) -> list[dict[str, Any]]:
    cur.execute(
        "SELECT d.id, o.slug, o.name, d.form_factor, d.period_start, d.period_end, d.declared,"
        " d.source, d.note, d.entered_by, d.entered_at FROM declared_fleet d"
        f" JOIN {OPERATORS_RELATION} ON o.id = d.operator_id"
        " WHERE CAST(%(visible)s AS int[]) IS NULL OR d.operator_id = ANY(%(visible)s)"
        " ORDER BY d.period_start DESC, o.slug, d.form_factor LIMIT %(limit)s",
        {
            "visible": None if visible is None else sorted(visible),
            "limit": limit,
            **operators_relation_params(cur),
        },
    )
    keys = (
        "id",
        "operator",
        "operator_name",
        "form_factor",
        "period_start",
        "period_end",
        "declared",
        "source",
        "note",
        "entered_by",
        "entered_at",
    )
    rows = [dict(zip(keys, row, strict=True)) for row in cur.fetchall()]
    for r in rows:
        r["period_last_day"] = r["period_end"] - timedelta(days=1)
    return rows


def delete_declared(cur: Any, declared_id: int, visible: frozenset[int] | None) -> int | None:
    """Delete one declaration the account may see; returns its operator id, or None."""
    cur.execute(
        "DELETE FROM declared_fleet WHERE id = %s"
        " AND (CAST(%s AS int[]) IS NULL OR operator_id = ANY(%s)) RETURNING operator_id",
        (declared_id, *(None if visible is None else sorted(visible),) * 2),
    )
    row = cur.fetchone()
    return None if row is None else int(row[0])
