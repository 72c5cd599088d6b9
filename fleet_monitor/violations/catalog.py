"""City zones and permits in the database: versioned imports, and loading them
back as the rules engine's plain inputs.

Zones. An import brings the complete current set of one kind (for one
operator scope, or city-wide): a zone whose content changed gets a new
version that starts at ``effective_from`` and ends the previous one; a zone
whose content did not change is left as it is (re-importing a file is a
no-op); a zone of that kind and scope missing from the file is retired at
``effective_from`` (unless ``partial``). A zone's first version starts at
``effective_from`` when given, else it has no start (it applies to all stored
history, so that replays of the past see it); later versions start at
``effective_from``, else at the import time.

Every zone is checked (``rules.zone_problem``) before anything is written. A
version undone by ``zones retire`` moves to ``zone_retired``
(``zone_versions``); new versions are numbered after it.

Permits. One row per (operator, version); the TOML text is kept and parsed
again when loaded (the source of truth). Re-importing the same text is a
no-op; another text under an existing version is refused (bump the version),
and so is a permit naming zones that do not exist (``references``). Loading
skips, with an issue, a stored version the engine cannot use
(``load_permits_checked``).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any

import numpy as np
import orjson
import shapely
from psycopg.types.json import Jsonb
from sqlalchemy.orm import Session

from datastore import pg_connection
from fleet_monitor.violations.references import zone_reference_problem
from fleet_monitor.violations.zone_versions import next_version
from rules import (
    ConfigIssue,
    Permit,
    PermitError,
    PreparedZones,
    Zone,
    load_permit_toml,
    permit_problem,
    prepare_zones,
    zone_problem,
)
from rules.schedule import Schedule, ScheduleError, parse_schedule

log = logging.getLogger(__name__)


class CatalogError(ValueError):
    """A zones or permits import that cannot be applied; nothing was written."""


# --------------------------------------------------------------------------- zones


def zone_content_hash(z: Zone) -> str:
    """Hash of what defines a zone version (geometry normalised, dates excluded)."""
    geom = shapely.normalize(z.geometry)
    fields = [z.kind, z.name, z.operator, z.capacity, z.buffer_m, shapely.to_wkb(geom, hex=True)]
    if z.schedule is not None:  # (absent for zones without one: their hashes are unchanged)
        fields.append(z.schedule.to_json())
    payload = orjson.dumps(fields)
    return hashlib.sha256(payload).hexdigest()


@dataclass(slots=True)
class ZoneImportResult:
    kind: str
    operator: str | None
    created: list[tuple[str, int]] = field(default_factory=list)  # (zone id, version)
    unchanged: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "operator": self.operator,
            "created": [{"zone_id": z, "version": v} for z, v in self.created],
            "unchanged": self.unchanged,
            "retired": self.retired,
        }


def import_zones(
    session: Session,
    zones: Sequence[Zone],
    *,
    kind: str,
    operator: str | None,
    now: datetime,
    effective_from: datetime | None = None,
    partial: bool = False,
    source: str | None = None,
    properties: Sequence[dict[str, Any]] | None = None,
) -> ZoneImportResult:
    """Store ``zones`` (all of ``kind`` and scope ``operator``) as new versions where
    they changed; see the module docstring. The caller owns the transaction."""
    cur = pg_connection(session).cursor()
    cur.execute("SELECT pg_advisory_xact_lock(hashtext('fleet_monitor.zones'))")
    result = ZoneImportResult(kind, operator)
    ids = [z.id for z in zones]
    cur.execute(
        "SELECT DISTINCT ON (zone_id) zone_id, version, content_hash, effective_from,"
        " effective_to, kind, operator FROM zone WHERE zone_id = ANY(%s)"
        " ORDER BY zone_id, version DESC",
        (ids,),
    )
    latest = {r[0]: r[1:] for r in cur.fetchall()}
    numbered = next_version(session, ids)  # retired versions keep their numbers
    props = list(properties) if properties is not None else [{} for _ in zones]
    for z in zones:
        problem = zone_problem(z)
        if problem is not None:
            raise CatalogError(f"zone {z.id}: {problem}")
    for z, p in zip(zones, props, strict=True):
        digest = zone_content_hash(z)
        prev = latest.get(z.id)
        if prev is not None and prev[4] != kind:
            raise CatalogError(f"zone {z.id}: already imported as kind {prev[4]!r}, not {kind!r}")
        if prev is not None and prev[5] != operator:
            raise CatalogError(
                f"zone {z.id}: already imported for operator {prev[5] or '(all)'},"
                f" not {operator or '(all)'}"
            )
        start = effective_from or z.effective_from
        if prev is not None:
            version, old_hash, old_from, old_to = prev[0], prev[1], prev[2], prev[3]
            if old_hash == digest and (old_to is None or (start is not None and old_to > start)):
                result.unchanged.append(z.id)
                continue
            start = start or now
            if old_from is not None and start <= old_from:
                raise CatalogError(
                    f"zone {z.id}: the new version would start at {start.isoformat()}, not after"
                    f" version {version} (from {old_from.isoformat()})"
                )
            if old_to is None or old_to > start:
                cur.execute(
                    "UPDATE zone SET effective_to = %s, modified_at = now()"
                    " WHERE zone_id = %s AND version = %s",
                    (start, z.id, version),
                )
            version = max(version, numbered.get(z.id, 0)) + 1
        else:
            version = numbered.get(z.id, 0) + 1
        end = z.effective_to
        if end is not None and start is not None and end <= start:
            raise CatalogError(f"zone {z.id}: ends ({end.isoformat()}) before it starts")
        cur.execute(
            "INSERT INTO zone (zone_id, version, kind, name, operator, capacity, buffer_m,"
            " effective_from, effective_to, geom, properties, content_hash, source)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s,"
            " ST_SetSRID(ST_GeomFromWKB(%s), 4326), %s, %s, %s)",
            (
                z.id,
                version,
                kind,
                z.name,
                operator,
                z.capacity,
                z.buffer_m,
                start,
                end,
                shapely.to_wkb(z.geometry),
                # the schedule as parsed (one-off events in UTC) with the file's properties
                Jsonb(p if z.schedule is None else {**p, "schedule": z.schedule.to_json()}),
                digest,
                source,
            ),
        )
        result.created.append((z.id, version))
    if not partial:
        retire_at = effective_from or now
        cur.execute(
            "UPDATE zone SET effective_to = %s, modified_at = now()"
            " WHERE kind = %s AND operator IS NOT DISTINCT FROM %s AND NOT (zone_id = ANY(%s))"
            " AND (effective_to IS NULL OR effective_to > %s)"
            " AND (effective_from IS NULL OR effective_from < %s) RETURNING zone_id",
            (retire_at, kind, operator, ids, retire_at, retire_at),
        )
        result.retired = sorted({r[0] for r in cur.fetchall()})
    return result


@dataclass(frozen=True, slots=True)
class ZoneRow:
    zone: Zone
    db_id: int
    source: str | None
    imported_at: datetime


def load_zone_rows(session: Session, *, at: datetime | None = None) -> list[ZoneRow]:
    """Every stored zone version (only those in force at ``at`` when given)."""
    cur = pg_connection(session).cursor(binary=True)
    where = ""
    params: tuple[Any, ...] = ()
    if at is not None:
        where = (
            " WHERE (effective_from IS NULL OR effective_from <= %s)"
            " AND (effective_to IS NULL OR effective_to > %s)"
        )
        params = (at, at)
    cur.execute(
        "SELECT id, zone_id, version, kind, name, operator, capacity, buffer_m, effective_from,"
        " effective_to, ST_AsBinary(geom), source, imported_at, properties->'schedule' FROM zone"
        + where
        + " ORDER BY zone_id, version",
        params,
    )
    rows = cur.fetchall()
    geoms = shapely.from_wkb(np.array([bytes(r[10]) for r in rows], dtype=object))
    return [
        ZoneRow(
            Zone(
                id=r[1],
                kind=r[3],
                geometry=g,
                name=r[4],
                version=r[2],
                effective_from=r[8],
                effective_to=r[9],
                operator=r[5],
                capacity=r[6],
                buffer_m=r[7],
                schedule=_stored_schedule(r[13]),
            ),
            r[0],
            r[11],
            r[12],
        )
        for r, g in zip(rows, geoms, strict=True)
    ]


def _stored_schedule(raw: Any) -> Schedule | None:
    """A stored schedule; an unreadable one is None, so that ``zone_problem`` reports the
    zone (skipped by the engine, listed on /admin/rules) instead of failing the load."""
    if raw is None:
        return None
    try:
        return parse_schedule(raw)
    except ScheduleError:
        return None


def load_zones(session: Session, *, at: datetime | None = None) -> list[Zone]:
    return [r.zone for r in load_zone_rows(session, at=at)]


def zones_version(session: Session) -> str:
    """Changes whenever a zone version is added or its dates change."""
    cur = pg_connection(session).cursor()
    cur.execute("SELECT count(*), max(id), max(modified_at) FROM zone")
    n, last, modified = cur.fetchone()
    return f"{n}:{last}:{modified.isoformat() if modified else '-'}"


BBox = tuple[float, float, float, float]


class CityCache:
    """One prepared city per zones version, GPS tolerance and line width (thread-safe).

    ``city`` returns ``rules.PreparedZones``: the ``PreparedCity`` of the zones
    the engine can use, and the issues of those it skipped or repaired (recorded
    by each evaluation). Zones whose extent makes the area of interest
    impossible to derive (only huge zones, e.g. an operator's world-covering
    polygon) are prepared with ``fallback_aoi``, the extent of the vehicles.
    """

    def __init__(self, max_entries: int = 4) -> None:
        self._lock = threading.Lock()
        self._zones: tuple[str, list[Zone]] | None = None
        self._cities: dict[tuple[Any, ...], PreparedZones] = {}
        self.max_entries = max_entries
        self.builds = 0

    def zones(self, session: Session) -> tuple[str, list[Zone]]:
        version = zones_version(session)
        with self._lock:
            if self._zones is not None and self._zones[0] == version:
                return self._zones
        zones = load_zones(session)
        with self._lock:
            self._zones = (version, zones)
        return version, zones

    def city(
        self,
        version: str,
        zones: list[Zone],
        tolerance_m: float,
        line_half_width_m: float,
        fallback_aoi: BBox | None = None,
    ) -> PreparedZones:
        if not zones:
            return PreparedZones(None)
        key: tuple[Any, ...] = (version, float(tolerance_m), float(line_half_width_m))
        with self._lock:
            prepared = self._cities.get(key) or self._cities.get((*key, fallback_aoi))
        if prepared is not None:
            return prepared
        prepared = prepare_zones(
            zones,
            tolerance_m=tolerance_m,
            line_half_width_m=line_half_width_m,
            fallback_aoi=fallback_aoi,
        )
        if prepared.city is None:
            return prepared  # not kept: vehicles may yet give an area of interest
        if prepared.used_fallback:
            key = (*key, fallback_aoi)
        with self._lock:
            if len(self._cities) >= self.max_entries:
                self._cities.pop(next(iter(self._cities)))
            self._cities[key] = prepared
            self.builds += 1
        return prepared


# --------------------------------------------------------------------------- permits


@dataclass(frozen=True, slots=True)
class PermitImportResult:
    operator: str
    version: int
    status: str  # created | unchanged

    def as_dict(self) -> dict[str, Any]:
        return {"operator": self.operator, "version": self.version, "status": self.status}


def _plain(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, datetime | time):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(getattr(value, k)) for k in value.__dataclass_fields__}
    return value


def permit_json(permit: Permit) -> dict[str, Any]:
    """The parsed permit as JSON (durations in seconds, times ISO 8601)."""
    out = _plain(permit)
    for key in ("fleet_cap_by_form_factor", "zone_caps", "zone_floors", "penalties_eur"):
        out[key] = dict(getattr(permit, key))
    return out


def parse_permit(text: str, default_tolerance_m: float) -> Permit:
    """``load_permit_toml``, with the service's default GPS tolerance when the text
    states none. Raises ``PermitError``."""
    permit = load_permit_toml(text)
    if "gps_tolerance_m" not in tomllib.loads(text):
        permit = replace(permit, gps_tolerance_m=float(default_tolerance_m))
    return permit


def import_permit(
    session: Session, text: str, *, default_tolerance_m: float, source: str | None = None
) -> PermitImportResult:
    """Store one permit version (see the module docstring). Raises ``PermitError``
    for an invalid permit and ``CatalogError`` for a conflicting version."""
    permit = parse_permit(text, default_tolerance_m)
    digest = hashlib.sha256(text.encode()).hexdigest()
    cur = pg_connection(session).cursor()
    cur.execute("SELECT pg_advisory_xact_lock(hashtext('fleet_monitor.permits'))")
    problem = zone_reference_problem(session, permit)
    if problem is not None:
        raise CatalogError(problem)
    cur.execute(
        "SELECT content_hash FROM permit WHERE operator = %s AND version = %s",
        (permit.operator, permit.version),
    )
    row = cur.fetchone()
    if row is not None:
        if row[0] == digest:
            return PermitImportResult(permit.operator, permit.version, "unchanged")
        raise CatalogError(
            f"permit {permit.operator} v{permit.version} already exists with another content;"
            " give the new text a higher version"
        )
    cur.execute(
        "INSERT INTO permit (operator, version, name, effective_from, effective_to,"
        " gps_tolerance_m, source_text, parsed, content_hash, source)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            permit.operator,
            permit.version,
            permit.name,
            permit.effective_from,
            permit.effective_to,
            permit.gps_tolerance_m,
            text,
            Jsonb(permit_json(permit)),
            digest,
            source,
        ),
    )
    return PermitImportResult(permit.operator, permit.version, "created")


_PARSED: dict[tuple[str, float], Permit] = {}
_PARSED_LOCK = threading.Lock()


def load_permits_checked(session: Session) -> tuple[list[Permit], list[ConfigIssue]]:
    """Every stored permit version the engine can use (parsed texts are memoised by
    content), and an issue for each one skipped: a text that no longer parses
    (stored by an older, laxer parser) or a stored tolerance out of bounds. A
    skipped version is as if never imported: the previous one applies again."""
    cur = pg_connection(session).cursor()
    cur.execute(
        "SELECT content_hash, gps_tolerance_m, source_text, operator, version FROM permit"
        " ORDER BY operator, version"
    )
    out: list[Permit] = []
    issues: list[ConfigIssue] = []
    for digest, tolerance, text, operator, version in cur.fetchall():
        key = (digest, tolerance)
        with _PARSED_LOCK:
            permit = _PARSED.get(key)
        if permit is None:
            try:
                permit = replace(load_permit_toml(text), gps_tolerance_m=tolerance)
                problem = permit_problem(permit)
                if problem is not None:
                    raise PermitError(problem)
            except PermitError as exc:
                issues.append(ConfigIssue("permit", operator, version, f"{exc}"))
                continue
            with _PARSED_LOCK:
                _PARSED[key] = permit
        out.append(permit)
    return out, issues


def load_permits(session: Session) -> list[Permit]:
    """The usable stored permit versions (``load_permits_checked``; skipped ones logged)."""
    permits, issues = load_permits_checked(session)
    for issue in issues:
        log.warning("permit %s skipped: %s", issue.label, issue.reason)
    return permits


def list_permits(session: Session) -> list[dict[str, Any]]:
    cur = pg_connection(session).cursor()
    cur.execute(
        "SELECT operator, version, name, effective_from, effective_to, gps_tolerance_m,"
        " source, imported_at, parsed FROM permit ORDER BY operator, version"
    )
    keys = (
        "operator",
        "version",
        "name",
        "effective_from",
        "effective_to",
        "gps_tolerance_m",
        "source",
        "imported_at",
        "terms",
    )
    return [dict(zip(keys, r, strict=True)) for r in cur.fetchall()]
