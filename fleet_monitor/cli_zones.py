"""``fleet-monitor zones|permits``: the city's zones and the operators' permits.

Every input is checked before the single transaction writes anything (see
``cli_rules_inputs`` and docs/security.md ("Configuration inputs")): a bad file or
argument prints one message naming it and exits with code 2.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import orjson

from fleet_monitor.cli_rules_inputs import (
    InputError,
    configured_operators,
    emit,
    fmt,
    parse_time,
    read_text_file,
    session_scope,
    settings,
    warn,
)
from rules import (
    ZONE_KINDS,
    PermitError,
    Placement,
    Zone,
    ZoneFile,
    ZoneFileError,
    placement,
    read_geojson_zones,
    zones_from_geofencing,
)
from rules.checks import line_buffer_problem, valid_slug
from rules.geo import BBox
from rules.limits import CITY_AREA_MARGIN_M, MAX_ZONE_FILE_BYTES

# --------------------------------------------------------------------------- zone files


def _read_geofencing(raw: bytes, operator: str, repair: bool) -> ZoneFile:
    from gbfs_ingest.model import FeedType
    from gbfs_ingest.parse import detect_version, parse_feed

    out = ZoneFile()
    doc = orjson.loads(raw)
    version = detect_version(doc)[0] if isinstance(doc, dict) else None
    parsed = parse_feed(FeedType.GEOFENCING_ZONES, doc, version)
    out.zones = zones_from_geofencing(parsed.records, operator, repair=repair, repairs=out.repairs)
    return out


def read_zone_file(path: Path, kind: str, options: dict[str, Any]) -> ZoneFile:
    """The zones of FILE, checked (``rules.zones_io``), or ``InputError``."""
    from gbfs_ingest.parse import ParseError

    size = path.stat().st_size
    if size > MAX_ZONE_FILE_BYTES:
        raise InputError(
            f"{path.name}: {size:,} bytes (a zones file holds at most {MAX_ZONE_FILE_BYTES:,})"
        )
    raw = path.read_bytes()
    operator, repair = options["operator"], options["repair"]
    try:
        if options["from_geofencing"]:
            if kind != "no_parking":
                raise InputError(
                    "--from-geofencing imports no-parking areas: use --kind no_parking"
                )
            if operator is None:
                raise InputError(
                    "--from-geofencing needs --operator (the zones are that operator's)"
                )
            try:
                found = _read_geofencing(raw, operator, repair)
            except (orjson.JSONDecodeError, ParseError, ValueError, TypeError) as e:
                raise InputError(f"{path.name}: not a usable geofencing_zones file: {e}") from None
        else:
            found = read_geojson_zones(
                raw,
                kind,
                id_property=options["id_property"],
                name_property=options["name_property"],
                operator=operator,
                buffer_m=options["buffer_m"],
                repair=repair,
                schedules=options.get("schedules"),
            )
    except ZoneFileError as e:
        raise InputError(f"{path.name}: {e}") from None
    if not found.zones:
        raise InputError(f"{path.name}: no zone to import")
    return found


def read_schedules(path: Path | None) -> dict[str, Any] | None:
    """Schedules by zone id from a TOML file (``rules.schedule.schedules_from_toml``)."""
    if path is None:
        return None
    from rules.schedule import ScheduleError, schedules_from_toml

    if path.stat().st_size > MAX_ZONE_FILE_BYTES:
        raise InputError(f"{path.name}: too large for a schedules file")
    try:
        return schedules_from_toml(path.read_text(encoding="utf-8"))
    except (ScheduleError, UnicodeDecodeError) as e:
        raise InputError(f"{path.name}: {e}") from None


def _properties(path: Path, found: ZoneFile, from_geofencing: bool) -> list[dict[str, Any]]:
    if from_geofencing:
        return [{"source": "geofencing_zones", "ride_end_allowed": False} for _ in found.zones]
    doc = orjson.loads(path.read_bytes())
    feats = doc.get("features") if doc.get("type") == "FeatureCollection" else [doc]
    props = [dict((f or {}).get("properties") or {}) for f in feats or []]
    return props if len(props) == len(found.zones) else [{} for _ in found.zones]


def check_placement(zones: list[Zone], area: BBox | None, force: bool, where: str) -> list[str]:
    """Zones outside the city's area: refused (``InputError``) unless ``force``, then
    returned as warnings. Coordinates that look swapped are said so."""
    if area is None:
        return []
    found: list[tuple[Zone, Placement]] = []
    for z in zones:
        place = placement(z.geometry, area)
        if place != "inside":
            found.append((z, place))
    if not found:
        return []
    area_text = f"lon {area[0]:.3f}..{area[2]:.3f}, lat {area[1]:.3f}..{area[3]:.3f}"
    messages = []
    for z, place in found:
        if place == "swapped":
            messages.append(
                f"{where}: zone {z.id}: coordinates look swapped (latitude, longitude): read"
                f" as longitude, latitude they are outside the city's area ({area_text});"
                " GeoJSON positions are [longitude, latitude]"
            )
        else:
            messages.append(
                f"{where}: zone {z.id}: more than {CITY_AREA_MARGIN_M / 1000:g} km outside the"
                f" city's area ({area_text})"
            )
    if not force:
        more = f" (and {len(messages) - 1} more zone(s))" if len(messages) > 1 else ""
        raise InputError(f"{messages[0]}{more}; use --force if this is intended")
    return [f"warning: {m} (imported: --force)" for m in messages]


# --------------------------------------------------------------------------- zones


@click.group()
def zones() -> None:
    """City zones (versioned)."""


@zones.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", required=True, type=click.Choice(ZONE_KINDS), help="Zone kind.")
@click.option(
    "--effective-from",
    "effective_from",
    default=None,
    help="Date or time the new versions start (default: first versions have no start,"
    " later ones start now).",
)
@click.option("--operator", default=None, help="Restrict the zones to one operator (slug).")
@click.option("--name-property", default="name", show_default=True)
@click.option("--id-property", default="id", show_default=True)
@click.option(
    "--buffer-m",
    type=float,
    default=None,
    help="Half-width of tram track lines (m, above 0 and at most 20; default: the"
    " [rules] line_half_width_m).",
)
@click.option(
    "--from-geofencing",
    is_flag=True,
    help="FILE is an operator's GBFS geofencing_zones.json: import its"
    " ride_end_allowed:false zones (with --kind no_parking --operator SLUG).",
)
@click.option(
    "--partial",
    is_flag=True,
    help="Only add or update the zones of FILE; do not retire the others of that kind.",
)
@click.option(
    "--repair",
    is_flag=True,
    help="Close unclosed rings and rebuild invalid geometry (shapely make_valid), saying so;"
    " without it such a file is refused.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Import zones lying outside the city's area (refused otherwise).",
)
@click.option(
    "--schedule",
    "schedule_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A TOML file of schedules by zone id, for zones that apply only at times"
    " (scheduled_restriction) whose FILE has no schedule property.",
)
@click.option("--json", "as_json", is_flag=True)
def zones_import(
    file: Path,
    kind: str,
    effective_from: str | None,
    operator: str | None,
    name_property: str,
    id_property: str,
    buffer_m: float | None,
    from_geofencing: bool,
    partial: bool,
    repair: bool,
    force: bool,
    as_json: bool,
    schedule_file: Path | None = None,
) -> None:
    """Import zones of one KIND from a GeoJSON FILE (WGS 84)."""
    from fleet_monitor.violations.catalog import CatalogError, import_zones
    from fleet_monitor.violations.references import city_area, unknown_operator_warning

    start = parse_time(effective_from, "--effective-from") if effective_from else None
    if buffer_m is not None:
        problem = line_buffer_problem(buffer_m, "--buffer-m")
        if problem:
            raise InputError(problem)
        if kind != "tram_tracks":
            raise InputError("--buffer-m: only tram_tracks zones are lines (other kinds are areas)")
    if operator is not None and not valid_slug(operator):
        raise InputError(f"--operator: {operator!r} is not an operator slug")
    found = read_zone_file(
        file,
        kind,
        {
            "operator": operator,
            "repair": repair,
            "from_geofencing": from_geofencing,
            "id_property": id_property,
            "name_property": name_property,
            "buffer_m": buffer_m,
            "schedules": read_schedules(schedule_file),
        },
    )
    notes = [f"repaired: {r}" for r in found.repairs]
    try:
        with session_scope(write=True) as session:
            notes += check_placement(found.zones, city_area(session), force, file.name)
            if operator is not None:
                warning = unknown_operator_warning(
                    session, operator, configured_operators(), "--operator"
                )
                notes += [warning] if warning else []
            res = import_zones(
                session,
                found.zones,
                kind=kind,
                operator=operator,
                now=datetime.now(UTC),
                effective_from=start,
                partial=partial,
                source=file.name,
                properties=_properties(file, found, from_geofencing),
            )
    except CatalogError as exc:
        raise InputError(f"{file.name}: {exc}") from None
    for note in notes:
        warn(note)
    emit(
        {**res.as_dict(), "notes": notes},
        as_json,
        f"{len(found.zones)} {kind} zones in {file.name}: {len(res.created)} new versions,"
        f" {len(res.unchanged)} unchanged, {len(res.retired)} retired",
    )


@zones.command("retire")
@click.argument("refs", nargs=-1, required=True)
@click.option(
    "--reason", default="retired from the command line", show_default=True, help="Kept on record."
)
@click.option("--json", "as_json", is_flag=True)
def zones_retire(refs: tuple[str, ...], reason: str, as_json: bool) -> None:
    """Undo zone versions: REFS are ZONE_ID (its latest version), ZONE_ID/VERSION or
    #ROW_ID. The version each one replaced applies again."""
    from fleet_monitor.violations.zone_versions import ZoneRefError, resolve_zone_ref, retire_zone

    if len(reason) > 500 or not reason.isprintable():
        raise InputError("--reason: at most 500 printable characters")
    try:
        with session_scope(write=True) as session:
            ids = [resolve_zone_ref(session, ref) for ref in refs]
            if len(set(ids)) != len(ids):
                raise InputError("REFS: the same zone version is named twice")
            done = [retire_zone(session, i, reason=reason) for i in ids]
    except ZoneRefError as exc:
        raise InputError(f"REFS: {exc}") from None
    lines = [
        f"retired {r.zone_id} v{r.version} (#{r.db_id}, {r.kind}): "
        + (
            f"version {r.restored_version} applies again"
            if r.restored_version
            else "no earlier version applies"
        )
        for r in done
    ]
    emit([r.as_dict() for r in done], as_json, "\n".join(lines))


@zones.command("list")
@click.option("--at", "at_text", default=None, help="Zones in force at this time (default: now).")
@click.option("--all", "all_versions", is_flag=True, help="Every version, in force or not.")
@click.option("--kind", type=click.Choice(ZONE_KINDS), default=None)
@click.option("--json", "as_json", is_flag=True)
def zones_list(at_text: str | None, all_versions: bool, kind: str | None, as_json: bool) -> None:
    """Zones in force (or every version)."""
    from fleet_monitor.violations.catalog import load_zone_rows

    at = None if all_versions else parse_time(at_text or "now", "--at")
    with session_scope(write=False) as session:
        rows = [r for r in load_zone_rows(session, at=at) if kind is None or r.zone.kind == kind]
    data = [
        {
            "db_id": r.db_id,
            "zone_id": r.zone.id,
            "version": r.zone.version,
            "kind": r.zone.kind,
            "name": r.zone.name,
            "operator": r.zone.operator,
            "capacity": r.zone.capacity,
            "buffer_m": r.zone.buffer_m,
            "effective_from": r.zone.effective_from,
            "effective_to": r.zone.effective_to,
            "geometry_type": r.zone.geometry.geom_type,
            "source": r.source,
        }
        for r in rows
    ]
    lines = [
        f"#{d['db_id']:<6} {d['zone_id']:<40} v{d['version']:<3} {d['kind']:<18}"
        f" {d['operator'] or '(all)':<12} {fmt(d['effective_from'])} ->"
        f" {fmt(d['effective_to'])}  {d['name']}"
        for d in data
    ]
    emit(data, as_json, "\n".join([*lines, f"{len(data)} zones"]))


# --------------------------------------------------------------------------- permits


@click.group()
def permits() -> None:
    """Operators' permits (versioned, TOML)."""


@permits.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def permits_import(file: Path, as_json: bool) -> None:
    """Import one permit version from a TOML FILE. Zones it names must exist."""
    from fleet_monitor.violations.catalog import CatalogError, import_permit, parse_permit
    from fleet_monitor.violations.references import unknown_operator_warning

    tolerance = settings().rules.gps_tolerance_m
    text = read_text_file(file, "FILE")
    try:
        permit = parse_permit(text, tolerance)  # validate before any write
        with session_scope(write=True) as session:
            warning = unknown_operator_warning(
                session, permit.operator, configured_operators(), f"{file.name}: operator"
            )
            res = import_permit(session, text, source=file.name, default_tolerance_m=tolerance)
    except (PermitError, CatalogError) as exc:
        raise InputError(f"{file.name}: {exc}") from None
    if warning:
        warn(warning)
    emit(
        {**res.as_dict(), "notes": [warning] if warning else []},
        as_json,
        f"permit {res.operator} v{res.version}: {res.status}",
    )


@permits.command("list")
@click.option("--json", "as_json", is_flag=True)
def permits_list(as_json: bool) -> None:
    """Every permit version."""
    from fleet_monitor.violations.catalog import list_permits

    with session_scope(write=False) as session:
        rows = list_permits(session)
    lines = []
    for r in rows:
        t = r["terms"]
        idle = t.get("max_idle")
        lines.append(
            f"{r['operator']:<16} v{r['version']:<3} {fmt(r['effective_from'])} ->"
            f" {fmt(r['effective_to'])}  cap {t.get('fleet_cap') or '-'}"
            f"  max idle {'-' if idle is None else f'{idle / 3600:g} h'}"
            f"  tolerance {r['gps_tolerance_m']:g} m  {r['name']}"
        )
    emit(rows, as_json, "\n".join([*lines, f"{len(rows)} permit versions"]))
