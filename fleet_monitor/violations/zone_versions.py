"""Undo a zone import: ``retire_zone`` takes one zone version out of force.

Zone versions (see ``catalog``): a changed zone gets version N+1 starting at
the import's ``effective_from``, and version N ends there. Retiring version N+1
undoes that: the row moves from ``zone`` to ``zone_retired`` (kept with its
original row id, the time and the reason; every reader of ``zone`` stops seeing
it), and version N, if version N+1 had replaced it (N ended exactly where N+1
started), applies again up to where N+1 would have ended. A first version
retired leaves no zone (what the import added is gone). A later import numbers
its new version after every version ever written, retired ones included.

Zones that a complete import retired because they were missing from the file
(``effective_to`` set, no new version) are not brought back by this: re-import
the last good file (``--partial`` for just those zones).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from datastore import pg_connection


class ZoneRefError(ValueError):
    """A zone reference that names no zone version (or more than one)."""


@dataclass(frozen=True, slots=True)
class RetiredVersion:
    db_id: int
    zone_id: str
    version: int
    kind: str
    restored_version: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "db_id": self.db_id,
            "zone_id": self.zone_id,
            "version": self.version,
            "kind": self.kind,
            "restored_version": self.restored_version,
        }


_COLUMNS = (
    "id, zone_id, version, kind, name, operator, capacity, buffer_m, effective_from,"
    " effective_to, geom, properties, content_hash, source, imported_at"
)


def resolve_zone_ref(session: Session, ref: str) -> int:
    """The ``zone`` row id named by ``ref``: ``ZONE_ID`` (its latest version),
    ``ZONE_ID/VERSION``, or ``#ROW_ID`` / ``ROW_ID`` (as ``zones list --json`` shows)."""
    cur = pg_connection(session).cursor()
    text = ref.strip()
    cur.execute("SELECT id FROM zone WHERE zone_id = %s ORDER BY version DESC LIMIT 1", (text,))
    row = cur.fetchone()
    if row is not None:
        return int(row[0])
    zone_id, sep, version = text.rpartition("/")
    if sep and version.isdigit() and len(version) <= 9:
        cur.execute(
            "SELECT id FROM zone WHERE zone_id = %s AND version = %s", (zone_id, int(version))
        )
        row = cur.fetchone()
        if row is not None:
            return int(row[0])
        raise ZoneRefError(f"no version {version} of zone {zone_id!r} in force or planned")
    digits = text.removeprefix("#")
    if digits.isdigit() and len(digits) <= 18:
        cur.execute("SELECT id FROM zone WHERE id = %s", (int(digits),))
        row = cur.fetchone()
        if row is not None:
            return int(row[0])
    raise ZoneRefError(
        f"no zone {ref!r} (give ZONE_ID, ZONE_ID/VERSION or #ROW_ID; see 'zones list --all')"
    )


def retire_zone(session: Session, db_id: int, *, reason: str) -> RetiredVersion:
    """Move zone row ``db_id`` to ``zone_retired`` and restore the version it replaced
    (see the module docstring). The caller owns the transaction."""
    cur = pg_connection(session).cursor()
    cur.execute("SELECT pg_advisory_xact_lock(hashtext('fleet_monitor.zones'))")
    cur.execute(
        "SELECT zone_id, version, kind, effective_from, effective_to FROM zone WHERE id = %s"
        " FOR UPDATE",
        (db_id,),
    )
    row = cur.fetchone()
    if row is None:
        raise ZoneRefError(f"no zone row #{db_id}")
    zone_id, version, kind, start, end = row
    restored = None
    if start is not None:
        cur.execute(
            "UPDATE zone SET effective_to = %s, modified_at = now()"
            " WHERE id = (SELECT id FROM zone WHERE zone_id = %s AND version < %s"
            "  ORDER BY version DESC LIMIT 1) AND effective_to = %s RETURNING version",
            (end, zone_id, version, start),
        )
        got = cur.fetchone()
        restored = None if got is None else int(got[0])
    cur.execute(
        f"INSERT INTO zone_retired ({_COLUMNS}, reason, restored_version)"
        f" SELECT {_COLUMNS}, %s, %s FROM zone WHERE id = %s",
        (reason, restored, db_id),
    )
    cur.execute("DELETE FROM zone WHERE id = %s", (db_id,))
    return RetiredVersion(db_id, zone_id, version, kind, restored)


def next_version(session: Session, zone_ids: list[str]) -> dict[str, int]:
    """Highest version ever written per zone id, retired versions included."""
    cur = pg_connection(session).cursor()
    cur.execute(
        "SELECT zone_id, max(version) FROM (SELECT zone_id, version FROM zone"
        " WHERE zone_id = ANY(%(ids)s) UNION ALL SELECT zone_id, version FROM zone_retired"
        " WHERE zone_id = ANY(%(ids)s)) v GROUP BY zone_id",
        {"ids": zone_ids},
    )
    return {r[0]: int(r[1]) for r in cur.fetchall()}
