"""What a zone file or a permit refers to, checked against what the database holds.

* **Zones named by a permit** (``zones.caps``, ``zones.floors``,
  ``parking.zones``, ``parking.districts``, ``operating_area.zones``) must
  exist (any version still in the ``zone`` table), and be of the right kind for
  ``parking.zones`` (mandatory parking areas) and ``operating_area.zones``
  (operating areas). A missing one is an error: a cap or floor on a misspelt
  zone would silently never apply (a floor would even be breached forever).
  Import the zones first.
* **The operator of a permit or of operator-scoped zones** may be unknown
  (neither a feed in the database nor an ``[[operators]]`` entry): permits and
  zones are often written before the operator's feed is registered. That is a
  warning listing the known operators, not an error.
* **The city's area**, against which zone files are placed
  (``rules.zones_io.placement``): the extent of the city-wide operating areas,
  else of the vehicles last seen, else unknown (only the longitude/latitude
  ranges are checked then).
* **The first stored observation**, the earliest time an evaluation can be
  about without ``--force``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from datastore import pg_connection
from fleet_monitor.history.evidence import first_fetch_at
from fleet_monitor.history.operators import operator_slugs
from fleet_monitor.history.vehicles_near import current_positions_extent
from rules import Permit
from rules.geo import BBox

#: permit keys naming zones -> the zone kind they must have (None: any kind)
PERMIT_ZONE_KEYS: dict[str, str | None] = {
    "zones.caps": None,
    "zones.floors": None,
    "parking.zones": "mandatory_parking",
    "parking.districts": None,
    "operating_area.zones": "operating_area",
}


def permit_zone_refs(permit: Permit) -> dict[str, tuple[str, ...]]:
    return {
        "zones.caps": tuple(permit.zone_caps),
        "zones.floors": tuple(permit.zone_floors),
        "parking.zones": tuple(permit.parking.zone_ids),
        "parking.districts": tuple(permit.parking.district_ids),
        "operating_area.zones": tuple(permit.operating_area_zone_ids),
    }


def zone_reference_problem(session: Session, permit: Permit) -> str | None:
    """The first permit key naming zones that do not exist (or not of the kind it
    needs), with every such zone listed; None when all exist."""
    refs = permit_zone_refs(permit)
    wanted = sorted({z for ids in refs.values() for z in ids})
    if not wanted:
        return None
    cur = pg_connection(session).cursor()
    cur.execute(
        "SELECT DISTINCT zone_id, kind FROM zone WHERE zone_id = ANY(%s)",
        (wanted,),
    )
    kinds: dict[str, set[str]] = {}
    for zid, kind in cur.fetchall():
        kinds.setdefault(zid, set()).add(kind)
    for key, ids in refs.items():
        need = PERMIT_ZONE_KEYS[key]
        missing = [z for z in ids if z not in kinds]
        if missing:
            return (
                f"{key}: no such zone {', '.join(missing)} (import the zones first;"
                " 'fleet-monitor zones list --all' shows them)"
            )
        wrong = [z for z in ids if need is not None and need not in kinds[z]]
        if wrong:
            return f"{key}: {', '.join(wrong)} is not a {need} zone"
    return None


def known_operators(session: Session, configured: Iterable[str] = ()) -> set[str]:
    """Operator slugs with a feed in the database or an ``[[operators]]`` entry."""
    return operator_slugs(pg_connection(session).cursor()) | set(configured)


def unknown_operator_warning(
    session: Session, operator: str, configured: Iterable[str], what: str
) -> str | None:
    known = known_operators(session, configured)
    if operator in known:
        return None
    listed = ", ".join(sorted(known)) or "none yet"
    return (
        f"warning: {what}: operator {operator!r} is not registered (known operators:"
        f" {listed}); it applies once a feed with that slug is ingested"
    )


def city_area(session: Session) -> BBox | None:
    """The city's area (see the module docstring), or None when nothing says it."""
    cur = pg_connection(session).cursor()
    cur.execute(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM"
        " (SELECT ST_Extent(geom) AS e FROM zone"
        "  WHERE kind = 'operating_area' AND operator IS NULL) x WHERE e IS NOT NULL"
    )
    row = cur.fetchone()
    if row is None:
        row = current_positions_extent(cur)
    if row is None or any(v is None for v in row):
        return None
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def first_observation(session: Session) -> datetime | None:
    """When the first feed fetch on record started (one index probe per feed)."""
    return first_fetch_at(pg_connection(session).cursor())
