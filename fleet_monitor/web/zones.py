"""The city's zones for the map, read from the ``zone`` table when it exists.

The table belongs to the rules engine's migration; this module does not
import its model but looks at the database at run time: no table (or no
``kind``/``geom`` column) means no zone layers. Optional columns are used when
present: ``name``, ``id``; validity periods (``effective_from``/``effective_to``
or ``valid_from``/``valid_to``); ``active``; ``operator`` (a slug) or
``operator_id`` (a zone for one operator, hidden from other operators'
accounts); ``version`` with a zone key column such as ``zone_id`` (the latest
version in force of each zone only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, text

MAX_ZONES = 5000
SIMPLIFY_DEG = 0.00001  # about 1 m: lighter pages, no visible change
KEY_COLUMNS = ("zone_id", "ref", "code", "key", "slug")


@dataclass(frozen=True, slots=True)
class ZoneFeature:
    kind: str
    name: str
    zone_id: str | None
    geometry: dict[str, Any]


def zone_columns(conn: Connection) -> set[str]:
    """Columns of the ``zone`` table, empty if it does not exist."""
    if conn.execute(text("SELECT to_regclass('public.zone')")).scalar() is None:
        return set()
    return set(
        conn.execute(
            text(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = 'public' AND table_name = 'zone'"
            )
        ).scalars()
    )


def _query(cols: set[str]) -> str:
    name = "z.name::text" if "name" in cols else "NULL"
    zid = "z.id::text" if "id" in cols else "NULL"
    where = ["z.geom IS NOT NULL", "z.kind IS NOT NULL"]
    for start, end in (("effective_from", "effective_to"), ("valid_from", "valid_to")):
        if start in cols:
            where.append(f"(z.{start} IS NULL OR z.{start} <= now())")
        if end in cols:
            where.append(f"(z.{end} IS NULL OR z.{end} > now())")
    if "active" in cols:
        where.append("z.active IS NOT FALSE")
    if "operator_id" in cols:
        where.append(
            "(z.operator_id IS NULL OR CAST(:scope AS int[]) IS NULL"
            " OR z.operator_id = ANY(CAST(:scope AS int[])))"
        )
    elif "operator" in cols:
        where.append(
            "(z.operator IS NULL OR CAST(:scope AS int[]) IS NULL OR z.operator::text IN"
            " (SELECT slug FROM operator WHERE id = ANY(CAST(:scope AS int[]))))"
        )
    key = next((c for c in KEY_COLUMNS if c in cols), None)
    distinct, order = "", "z.kind"
    if "version" in cols and key is not None:
        distinct = f"DISTINCT ON (z.{key}) "
        order = f"z.{key}, z.version DESC"
        zid = f"z.{key}::text"
    geom = (
        "ST_SimplifyPreserveTopology(CASE WHEN ST_SRID(z.geom) IN (0, 4326) THEN z.geom"
        " ELSE ST_Transform(z.geom, 4326) END, :tol)"
    )
    return (
        f"SELECT {distinct}z.kind::text AS kind, {name} AS name, {zid} AS zone_id,"
        f" ST_AsGeoJSON({geom}, 6) AS geojson"
        f" FROM zone z WHERE {' AND '.join(where)} ORDER BY {order} LIMIT {MAX_ZONES}"
    )


def load_zones(conn: Connection, scope: list[int] | None) -> list[ZoneFeature]:
    """Zones in force now that the account may see (operator scope), or [] without a table."""
    cols = zone_columns(conn)
    if not {"kind", "geom"} <= cols:
        return []
    rows = conn.execute(text(_query(cols)), {"scope": scope, "tol": SIMPLIFY_DEG}).all()
    return [
        ZoneFeature(
            kind=row.kind,
            name=row.name or "",
            zone_id=row.zone_id,
            geometry=orjson.loads(row.geojson),
        )
        for row in rows
        if row.geojson
    ]


def by_kind(zones: list[ZoneFeature]) -> dict[str, list[ZoneFeature]]:
    grouped: dict[str, list[ZoneFeature]] = {}
    for zone in zones:
        grouped.setdefault(zone.kind, []).append(zone)
    return grouped
