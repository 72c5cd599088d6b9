"""``fleet-monitor zones|permits|rules|violations|export``: the rules from the command line.

Wrong input (a bad file, an unknown kind, a bad date) prints one message naming
the problem and exits with code 2, having written nothing: every command
validates its input before it opens its single transaction.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
import orjson
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from rules import (
    ZONE_KINDS,
    PermitError,
    RuleType,
    Zone,
    ZoneFileError,
    parse_duration,
    permits_to_mds_policy,
    zones_from_geofencing,
    zones_from_geojson,
    zones_to_mds_geographies,
)

EXIT_INPUT = 2


class InputError(click.ClickException):
    """Bad input: one message, exit code 2, nothing written."""

    exit_code = EXIT_INPUT


# --------------------------------------------------------------------------- helpers


def _settings() -> Any:
    return click.get_current_context().obj.settings


@contextmanager
def _session(*, write: bool) -> Iterator[Session]:
    """One transaction; committed on success (write) or rolled back (read)."""
    from fleet_monitor.database import ensure_database, make_engine, upgrade

    settings = _settings()
    if write:
        ensure_database(settings.database_url)
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url, pool_size=2)
    try:
        with Session(engine) as session:
            if not write:
                session.connection().exec_driver_sql("SET TRANSACTION READ ONLY")
            try:
                yield session
            except ProgrammingError as exc:
                session.rollback()
                raise click.ClickException(
                    f"database schema missing or outdated ({exc.orig}); run 'fleet-monitor db"
                    " upgrade'"
                ) from None
            if write:
                session.commit()
            else:
                session.rollback()
    finally:
        engine.dispose()


def parse_time(text: str, what: str, tz: ZoneInfo | None = None) -> datetime:
    """``now``, a date (midnight, city time) or an ISO 8601 time (city time if no offset)."""
    tz = tz or ZoneInfo(_settings().city.timezone)
    value = text.strip()
    try:
        if value.lower() == "now":
            return datetime.now(UTC)
        if len(value) == 10:
            d = date.fromisoformat(value)
            return datetime(d.year, d.month, d.day, tzinfo=tz).astimezone(UTC)
        dt = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{what}: {text!r} is not a date (2025-06-01) or a time"
            " (2025-06-01T10:00:00+02:00; without an offset, the city's local time)"
        ) from None
    return (dt if dt.tzinfo is not None else dt.replace(tzinfo=tz)).astimezone(UTC)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _emit(data: Any, as_json: bool, text: str) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=_json_default, ensure_ascii=False))
    else:
        click.echo(text)


def _write_out(payload: dict[str, Any], out: str | None) -> None:
    body = orjson.dumps(payload, option=orjson.OPT_INDENT_2)
    if out is None:
        click.echo(body.decode())
        return
    target = Path(out)
    if not target.parent.is_dir():
        raise InputError(f"--out: folder {str(target.parent)!r} does not exist")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    click.echo(f"wrote {target} ({len(body):,} bytes)", err=True)


def _fmt(dt: datetime | None) -> str:
    return "-" if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


# --------------------------------------------------------------------------- zones


def _read_zones(
    path: Path,
    kind: str,
    operator: str | None,
    from_geofencing: bool,
    id_property: str,
    name_property: str,
    buffer_m: float | None,
) -> tuple[list[Zone], list[dict[str, Any]]]:
    raw = path.read_bytes()
    where = path.name
    if from_geofencing:
        from gbfs_ingest.model import FeedType
        from gbfs_ingest.parse import ParseError, detect_version, parse_feed

        if kind != "no_parking":
            raise InputError("--from-geofencing imports no-parking areas: use --kind no_parking")
        if operator is None:
            raise InputError("--from-geofencing needs --operator (the zones are that operator's)")
        try:
            doc = orjson.loads(raw)
            version = detect_version(doc)[0] if isinstance(doc, dict) else None
            parsed = parse_feed(FeedType.GEOFENCING_ZONES, doc, version)
            zones = zones_from_geofencing(parsed.records, operator)
        except (orjson.JSONDecodeError, ParseError, ZoneFileError, ValueError, TypeError) as e:
            raise InputError(f"{where}: not a usable geofencing_zones file: {e}") from None
        props = [{"source": "geofencing_zones", "ride_end_allowed": False} for _ in zones]
    else:
        try:
            zones = zones_from_geojson(
                raw,
                kind,
                id_property=id_property,
                name_property=name_property,
                operator=operator,
                buffer_m=buffer_m,
            )
            doc = orjson.loads(raw)
        except ZoneFileError as e:
            raise InputError(f"{where}: {e}") from None
        feats = doc.get("features") if doc.get("type") == "FeatureCollection" else [doc]
        props = [dict((f or {}).get("properties") or {}) for f in feats or []]
        if len(props) != len(zones):
            props = [{} for _ in zones]
    if not zones:
        raise InputError(f"{where}: no zone to import")
    for z in zones:
        _check_zone(z, kind, where)
    return zones, props


def _check_zone(z: Zone, kind: str, where: str) -> None:
    minx, miny, maxx, maxy = z.geometry.bounds
    if not (-180.0 <= minx <= maxx <= 180.0 and -90.0 <= miny <= maxy <= 90.0):
        raise InputError(
            f"{where}: zone {z.id}: coordinates outside longitude/latitude ranges;"
            " GeoJSON must be in WGS 84 (EPSG:4326) degrees"
        )
    polygonal = z.geometry.geom_type in ("Polygon", "MultiPolygon")
    lines = z.geometry.geom_type in ("LineString", "MultiLineString")
    if not polygonal and not (kind == "tram_tracks" and lines):
        allowed = "polygons or lines" if kind == "tram_tracks" else "polygons"
        raise InputError(
            f"{where}: zone {z.id}: {z.geometry.geom_type} ({kind} zones are {allowed})"
        )


def register(cli: click.Group) -> None:
    """Add the rules' command groups to the ``fleet-monitor`` command line."""
    for group in (zones, permits, rules_group, violations, export):
        cli.add_command(group)


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
@click.option("--buffer-m", type=float, default=None, help="Half-width of line zones (m).")
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
    as_json: bool,
) -> None:
    """Import zones of one KIND from a GeoJSON FILE (WGS 84)."""
    from fleet_monitor.violations.catalog import CatalogError, import_zones

    start = parse_time(effective_from, "--effective-from") if effective_from else None
    found, props = _read_zones(
        file, kind, operator, from_geofencing, id_property, name_property, buffer_m
    )
    try:
        with _session(write=True) as session:
            res = import_zones(
                session,
                found,
                kind=kind,
                operator=operator,
                now=datetime.now(UTC),
                effective_from=start,
                partial=partial,
                source=file.name,
                properties=props,
            )
    except CatalogError as exc:
        raise InputError(f"{file.name}: {exc}") from None
    _emit(
        res.as_dict(),
        as_json,
        f"{len(found)} {kind} zones in {file.name}: {len(res.created)} new versions,"
        f" {len(res.unchanged)} unchanged, {len(res.retired)} retired",
    )


@zones.command("list")
@click.option("--at", "at_text", default=None, help="Zones in force at this time (default: now).")
@click.option("--all", "all_versions", is_flag=True, help="Every version, in force or not.")
@click.option("--kind", type=click.Choice(ZONE_KINDS), default=None)
@click.option("--json", "as_json", is_flag=True)
def zones_list(at_text: str | None, all_versions: bool, kind: str | None, as_json: bool) -> None:
    """Zones in force (or every version)."""
    from fleet_monitor.violations.catalog import load_zone_rows

    at = None if all_versions else parse_time(at_text or "now", "--at")
    with _session(write=False) as session:
        rows = [r for r in load_zone_rows(session, at=at) if kind is None or r.zone.kind == kind]
    data = [
        {
            "zone_id": r.zone.id,
            "version": r.zone.version,
            "kind": r.zone.kind,
            "name": r.zone.name,
            "operator": r.zone.operator,
            "capacity": r.zone.capacity,
            "effective_from": r.zone.effective_from,
            "effective_to": r.zone.effective_to,
            "geometry_type": r.zone.geometry.geom_type,
            "source": r.source,
        }
        for r in rows
    ]
    lines = [
        f"{d['zone_id']:<40} v{d['version']:<3} {d['kind']:<18} {d['operator'] or '(all)':<12}"
        f" {_fmt(d['effective_from'])} -> {_fmt(d['effective_to'])}  {d['name']}"
        for d in data
    ]
    _emit(data, as_json, "\n".join([*lines, f"{len(data)} zones"]))


# --------------------------------------------------------------------------- permits


@click.group()
def permits() -> None:
    """Operators' permits (versioned, TOML)."""


@permits.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def permits_import(file: Path, as_json: bool) -> None:
    """Import one permit version from a TOML FILE."""
    from fleet_monitor.violations.catalog import CatalogError, import_permit, parse_permit

    try:
        text = file.read_text(encoding="utf-8")
        parse_permit(text, _settings().rules.gps_tolerance_m)  # validate before any write
        with _session(write=True) as session:
            res = import_permit(
                session,
                text,
                source=file.name,
                default_tolerance_m=_settings().rules.gps_tolerance_m,
            )
    except UnicodeDecodeError:
        raise InputError(f"{file.name}: not UTF-8 text") from None
    except (PermitError, CatalogError) as exc:
        raise InputError(f"{file.name}: {exc}") from None
    _emit(res.as_dict(), as_json, f"permit {res.operator} v{res.version}: {res.status}")


@permits.command("list")
@click.option("--json", "as_json", is_flag=True)
def permits_list(as_json: bool) -> None:
    """Every permit version."""
    from fleet_monitor.violations.catalog import list_permits

    with _session(write=False) as session:
        rows = list_permits(session)
    lines = []
    for r in rows:
        t = r["terms"]
        idle = t.get("max_idle")
        lines.append(
            f"{r['operator']:<16} v{r['version']:<3} {_fmt(r['effective_from'])} ->"
            f" {_fmt(r['effective_to'])}  cap {t.get('fleet_cap') or '-'}"
            f"  max idle {'-' if idle is None else f'{idle / 3600:g} h'}"
            f"  tolerance {r['gps_tolerance_m']:g} m  {r['name']}"
        )
    _emit(rows, as_json, "\n".join([*lines, f"{len(rows)} permit versions"]))


# --------------------------------------------------------------------------- rules


@click.group("rules")
def rules_group() -> None:
    """Evaluate the rules, now or in a what-if replay."""


@rules_group.command("run")
@click.option(
    "--at",
    "at_text",
    default="now",
    show_default=True,
    help="Evaluation time (ISO 8601, or a date; city time without an offset).",
)
@click.option("--json", "as_json", is_flag=True)
def rules_run(at_text: str, as_json: bool) -> None:
    """Evaluate every rule and update the violations."""
    from fleet_monitor.violations import RulesError, evaluate_rules
    from fleet_monitor.violations.catalog import CatalogError

    at = parse_time(at_text, "--at")
    try:
        with _session(write=True) as session:
            summary = evaluate_rules(session, at, settings=_settings().rules, trigger="cli")
    except (RulesError, CatalogError) as exc:
        raise InputError(str(exc)) from None
    lc = summary.lifecycle
    _emit(
        summary.as_dict(),
        as_json,
        f"rules at {at.isoformat()}: {summary.vehicles} vehicles, {summary.findings} findings;"
        f" opened {len(lc.opened)}, updated {lc.updated + lc.resumed}, held {lc.held},"
        f" closed {lc.closed} (run {summary.run_id}, {summary.duration_s:.2f} s)"
        + (
            f"; in outage: {', '.join(summary.operators_in_outage)}"
            if lc.held or summary.operators_in_outage
            else ""
        ),
    )


@rules_group.command("replay")
@click.option("--from", "start_text", required=True, help="Start (date or ISO 8601 time).")
@click.option("--to", "end_text", required=True, help="End (date or ISO 8601 time).")
@click.option(
    "--permit",
    "permit_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Draft permit (TOML); replaces that operator's permits.",
)
@click.option("--every", default="1h", show_default=True, help="Evaluation step (1h, 30m...).")
@click.option("--json", "as_json", is_flag=True)
def rules_replay(
    start_text: str, end_text: str, permit_file: Path, every: str, as_json: bool
) -> None:
    """Evaluate a draft permit against stored history; real violations are untouched."""
    from fleet_monitor.violations.catalog import CatalogError, parse_permit
    from fleet_monitor.violations.replay import replay_draft

    start, end = parse_time(start_text, "--from"), parse_time(end_text, "--to")
    if end < start:
        raise InputError("--to: the end is before --from")
    try:
        step = parse_duration(every)
    except ValueError:
        raise InputError(f"--every: {every!r} is not a duration such as 1h, 30m or PT1H") from None
    if step <= timedelta(0) or (end - start) / step > 10_000:
        raise InputError("--every: must be positive and give at most 10,000 evaluations")
    try:
        draft = parse_permit(
            permit_file.read_text(encoding="utf-8"), _settings().rules.gps_tolerance_m
        )
    except UnicodeDecodeError:
        raise InputError(f"{permit_file.name}: not UTF-8 text") from None
    except PermitError as exc:
        raise InputError(f"{permit_file.name}: {exc}") from None
    try:
        with _session(write=False) as session:
            report = replay_draft(session, draft, start, end, step, settings=_settings().rules)
    except CatalogError as exc:
        raise InputError(str(exc)) from None
    data = report.as_dict()
    lines = [
        f"draft {draft.operator} v{draft.version}: {report.evaluations} evaluations from"
        f" {start.isoformat()} to {end.isoformat()} every {every}",
        *(
            f"  {r['operator']:<16} {r['rule_type']:<28} {r['violation']:>6} violations"
            f" {r['uncertain']:>6} uncertain"
            for r in data["results"]
        ),
    ]
    _emit(data, as_json, "\n".join(lines))


# --------------------------------------------------------------------------- violations


@click.group()
def violations() -> None:
    """Violations found by the rules."""


@violations.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only open (or held) violations.")
@click.option("--operator", default=None, help="Only this operator (slug).")
@click.option(
    "--rule",
    "rule_type",
    default=None,
    help="Only this rule type.",
    type=click.Choice([str(r) for r in RuleType]),
)
@click.option(
    "--limit",
    type=int,
    default=None,
    help="At most this many (0: all; default: all with --json, else 200).",
)
@click.option("--json", "as_json", is_flag=True, help="JSON with evidence.")
def violations_list(
    open_only: bool, operator: str | None, rule_type: str | None, limit: int | None, as_json: bool
) -> None:
    """Violations, most recently opened first."""
    from fleet_monitor.violations.queries import list_violations

    if limit is None:
        limit = 0 if as_json else 200
    with _session(write=False) as session:
        rows = list_violations(
            session,
            open_only=open_only,
            operator=operator,
            rule_type=rule_type,
            limit=limit or None,
            with_evidence=as_json,
        )
    lines = []
    for r in rows:
        measured = "-" if r["measured"] is None else f"{r['measured']:g} {r['unit']}"
        subject = r["gbfs_id"] or r["subject"]
        lines.append(
            f"#{r['id']:<6} {r['state']:<6} {r['status']:<9} {r['rule_type']:<26}"
            f" {r['operator']:<12} {subject[:24]:<24} {r['zone_id'] or '':<24}"
            f" since {_fmt(r['since'])} seen {_fmt(r['last_seen_at'])} {measured}"
        )
    _emit(rows, as_json, "\n".join([*lines, f"{len(rows)} violations"]))


@violations.command("show")
@click.argument("violation_id", type=int)
def violations_show(violation_id: int) -> None:
    """One violation with its evidence and timeline (JSON)."""
    from fleet_monitor.violations.queries import list_violations, violation_timeline

    with _session(write=False) as session:
        rows = list_violations(session, violation_id=violation_id)
        if not rows:
            raise InputError(f"no violation #{violation_id}")
        rows[0]["timeline"] = violation_timeline(session, violation_id)
    _emit(rows[0], True, "")


# --------------------------------------------------------------------------- export


@click.group()
def export() -> None:
    """Publish the city's rules in open formats."""


@export.command("mds-policy")
@click.option("--out", default=None, help="Output file (default: standard output).")
def export_policy(out: str | None) -> None:
    """Every permit version as MDS 2.0 Policy (policies.json)."""
    from fleet_monitor.violations.catalog import CatalogError, load_permits, load_zones

    try:
        with _session(write=False) as session:
            payload = permits_to_mds_policy(load_permits(session), load_zones(session))
    except CatalogError as exc:
        raise InputError(str(exc)) from None
    _write_out(payload, out)


@export.command("mds-geography")
@click.option("--out", default=None, help="Output file (default: standard output).")
def export_geography(out: str | None) -> None:
    """Every zone version as MDS 2.0 Geography (geographies.json)."""
    from fleet_monitor.violations.catalog import load_zones

    with _session(write=False) as session:
        payload = zones_to_mds_geographies(
            load_zones(session), line_half_width_m=_settings().rules.line_half_width_m
        )
    _write_out(payload, out)
