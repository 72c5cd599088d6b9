"""Configuration errors on record: what the engine skipped, and why.

``record_issues`` is called by every evaluation with the ``rules.ConfigIssue``
it met (zones and permits skipped or repaired, zone rules left out): a problem
already on record gets its last sighting, a new one a row, and one no longer
met is resolved. ``record_event`` writes a one-off entry, resolved at once
(e.g. rules runs voided by the recovery). ``list_config_errors`` feeds the
admin page. Times are the database's clock: when the problem was met, whatever
time the evaluation was about. The caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from datastore import pg_connection
from rules import ConfigIssue

#: kinds of issue an evaluation re-checks every time (and so may resolve)
EVALUATED_KINDS = ("zone", "permit", "zones", "evaluation")
#: resolved entries stay on the admin page this long
SHOWN_RESOLVED = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class RecordedIssues:
    new: int
    seen_again: int
    resolved: int


def _key(kind: str, subject: str, version: int | None, reason: str, severity: str) -> tuple:
    return (kind, subject, version, reason, severity)


def record_issues(session: Session, issues: Sequence[ConfigIssue]) -> RecordedIssues:
    """Bring the unresolved entries in line with ``issues`` (see the module docstring)."""
    cur = pg_connection(session).cursor()
    cur.execute(
        "SELECT id, kind, subject, version, reason, severity FROM rules_config_error"
        " WHERE resolved_at IS NULL AND kind = ANY(%s)",
        (list(EVALUATED_KINDS),),
    )
    open_rows = {_key(*r[1:]): r[0] for r in cur.fetchall()}
    wanted = {_key(i.kind, i.subject, i.version, i.reason, i.severity): i for i in issues}
    again = [rid for k, rid in open_rows.items() if k in wanted]
    gone = [rid for k, rid in open_rows.items() if k not in wanted]
    new = [k for k in wanted if k not in open_rows]
    if again:
        cur.execute(
            "UPDATE rules_config_error SET last_seen_at = now(), seen_count = seen_count + 1"
            " WHERE id = ANY(%s)",
            (again,),
        )
    if gone:
        cur.execute("UPDATE rules_config_error SET resolved_at = now() WHERE id = ANY(%s)", (gone,))
    if new:
        cur.executemany(
            "INSERT INTO rules_config_error (kind, subject, version, reason, severity,"
            " first_seen_at, last_seen_at, seen_count)"
            " VALUES (%s, %s, %s, %s, %s, now(), now(), 1)",
            new,
        )
    return RecordedIssues(len(new), len(again), len(gone))


def record_event(session: Session, kind: str, subject: str, reason: str) -> None:
    """A one-off entry (already dealt with: resolved when written)."""
    cur = pg_connection(session).cursor()
    cur.execute(
        "INSERT INTO rules_config_error (kind, subject, version, reason, severity, first_seen_at,"
        " last_seen_at, seen_count, resolved_at)"
        " VALUES (%s, %s, NULL, %s, 'warning', now(), now(), 1, now())",
        (kind, subject, reason),
    )


def list_config_errors(session: Session, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Unresolved entries (errors first), then those resolved in the last 30 days."""
    cur = pg_connection(session).cursor()
    cur.execute(
        "SELECT id, kind, subject, version, severity, reason, first_seen_at, last_seen_at,"
        " seen_count, resolved_at FROM rules_config_error"
        " WHERE resolved_at IS NULL OR resolved_at > coalesce(%s, now()) - %s"
        " ORDER BY resolved_at IS NOT NULL, severity = 'warning', last_seen_at DESC, id DESC"
        " LIMIT 500",
        (now, SHOWN_RESOLVED),
    )
    keys = (
        "id",
        "kind",
        "subject",
        "version",
        "severity",
        "reason",
        "first_seen_at",
        "last_seen_at",
        "seen_count",
        "resolved_at",
    )
    return [dict(zip(keys, r, strict=True)) for r in cur.fetchall()]
