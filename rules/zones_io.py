"""Zones from GeoJSON text (city files) or from an operator's parsed geofencing zones.

Parses what it is given (no file I/O): the CLI (``fleet-monitor zones import
FILE --kind KIND``) reads the file and stores the zones these functions return.

A zone file is hostile input until checked. Refused, with the feature named:
a ``crs`` member other than WGS 84 longitude/latitude (CRS84, EPSG:4326);
rings that are not closed or have fewer than four positions; positions that are
not two or three finite numbers; coordinates outside longitude/latitude ranges;
geometry types the kind does not take; invalid geometry (self-intersections,
...); ids that cannot be zone ids; capacities and line buffers out of bounds
(``rules.limits``). With ``repair=True`` an unclosed ring is closed and an
invalid geometry is rebuilt with shapely's ``make_valid`` (its polygonal, or
for tram tracks linear, parts kept); every repair is reported in
``ZoneFile.repairs``. A third coordinate (height) is dropped.

Whether the zones lie in the city's area needs the area (the database layer
knows it): ``placement`` says where a geometry lies relative to a bounding box,
and whether its coordinates look swapped (latitude, longitude).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import orjson
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from gbfs_ingest.model import GeofencingZone
from rules import limits
from rules.checks import (
    allowed_geometry_types,
    geometry_problem,
    line_buffer_problem,
    valid_zone_id,
)
from rules.geo import BBox, grow_bbox
from rules.inputs import SCHEDULED_KINDS, ZONE_KINDS, Zone
from rules.schedule import Schedule, ScheduleError, parse_schedule


class ZoneFileError(ValueError):
    """An unusable zones file; the message names the feature."""


#: names of WGS 84 longitude/latitude accepted in a (pre-2016 GeoJSON) ``crs`` member
WGS84_CRS_NAMES = frozenset(
    {
        "urn:ogc:def:crs:ogc:1.3:crs84",
        "urn:ogc:def:crs:ogc::crs84",
        "http://www.opengis.net/def/crs/ogc/1.3/crs84",
        "crs84",
        "epsg:4326",
        "urn:ogc:def:crs:epsg::4326",
        "urn:ogc:def:crs:epsg:4326",
        "http://www.opengis.net/def/crs/epsg/0/4326",
    }
)


@dataclass(slots=True)
class ZoneFile:
    """The zones of a file and what was repaired to read them (empty unless ``repair``)."""

    zones: list[Zone] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)


def _features(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    kind = doc.get("type")
    if kind == "FeatureCollection":
        feats = doc.get("features")
        if not isinstance(feats, list):
            raise ZoneFileError("FeatureCollection without a 'features' list")
        if not all(isinstance(f, Mapping) for f in feats):
            raise ZoneFileError("FeatureCollection: every feature must be an object")
        return feats
    if kind == "Feature":
        return [doc]
    if isinstance(kind, str):  # a bare geometry
        return [{"type": "Feature", "geometry": doc, "properties": {}}]
    raise ZoneFileError("not GeoJSON: no 'type'")


def check_crs(member: Any, where: str) -> None:
    """Refuse a GeoJSON ``crs`` member naming anything but WGS 84 longitude/latitude."""
    if member is None:
        return
    name = None
    if isinstance(member, Mapping) and isinstance(member.get("properties"), Mapping):
        name = member["properties"].get("name")
    if not isinstance(name, str) or name.strip().lower() not in WGS84_CRS_NAMES:
        shown = name if isinstance(name, str) else orjson.dumps(member).decode()[:80]
        raise ZoneFileError(
            f"{where}: crs {shown!r} is not WGS 84; GeoJSON zones must be longitude/latitude"
            " degrees (CRS84 / EPSG:4326): reproject the file first"
        )


# --------------------------------------------------------------------------- raw coordinates


def _position_problem(pos: Any) -> str | None:
    if not isinstance(pos, Sequence) or isinstance(pos, str) or not 2 <= len(pos) <= 3:
        return f"position {_short(pos)} is not [longitude, latitude]"
    for v in pos:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            return f"position {_short(pos)} is not made of finite numbers"
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _rings(geometry: Mapping[str, Any]) -> Iterable[Any]:
    gtype, coords = geometry.get("type"), geometry.get("coordinates")
    if gtype == "Polygon" and isinstance(coords, Sequence):
        yield from coords
    elif gtype == "MultiPolygon" and isinstance(coords, Sequence):
        for poly in coords:
            if isinstance(poly, Sequence):
                yield from poly


def _positions(coords: Any, depth: int) -> Iterable[Any]:
    if depth == 0:
        yield coords
    elif isinstance(coords, Sequence) and not isinstance(coords, str):
        for c in coords:
            yield from _positions(c, depth - 1)
    else:
        yield coords  # reported as a bad position


_DEPTH = {"Point": 0, "LineString": 1, "MultiPoint": 1, "Polygon": 2, "MultiLineString": 2}
_DEPTH["MultiPolygon"] = 3


def _closed_geometry(raw: Any, where: str, repair: bool, repairs: list[str]) -> Any:
    """The raw GeoJSON geometry with its positions checked and its rings closed
    (closing them is a repair); geometry collections are left to shapely."""
    if not isinstance(raw, Mapping):
        raise ZoneFileError(f"{where}: invalid geometry (not a GeoJSON geometry object)")
    check_crs(raw.get("crs"), where)
    depth = _DEPTH.get(raw.get("type"))  # type: ignore[arg-type]
    if depth is None:
        return raw
    for pos in _positions(raw.get("coordinates"), depth):
        problem = _position_problem(pos)
        if problem:
            raise ZoneFileError(f"{where}: invalid geometry ({problem})")
    unclosed = 0
    for ring in _rings(raw):
        if not isinstance(ring, Sequence) or len(ring) < 3:
            raise ZoneFileError(f"{where}: invalid geometry (a ring has fewer than 4 positions)")
        if list(ring[0]) != list(ring[-1]):
            unclosed += 1
        elif len(ring) < 4:
            raise ZoneFileError(f"{where}: invalid geometry (a ring has fewer than 4 positions)")
    if not unclosed:
        return raw
    if not repair:
        raise ZoneFileError(
            f"{where}: {unclosed} ring(s) not closed (GeoJSON rings end on their first"
            " position); use --repair to close them"
        )
    repairs.append(f"{where}: closed {unclosed} ring(s)")

    def close(ring: Sequence[Any]) -> list[Any]:
        return list(ring) if list(ring[0]) == list(ring[-1]) else [*ring, ring[0]]

    coords = raw["coordinates"]
    if raw["type"] == "Polygon":
        coords = [close(r) for r in coords]
    else:
        coords = [[close(r) for r in poly] for poly in coords]
    return {**raw, "coordinates": coords}


# --------------------------------------------------------------------------- geometry


def _keep_types(geom: BaseGeometry, kind: str) -> BaseGeometry:
    """The parts of ``geom`` the kind takes (make_valid may add lines or points)."""
    allowed = allowed_geometry_types(kind)
    if geom.geom_type in allowed:
        return geom
    parts = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type in allowed]
    polys = [p for g in parts if g.geom_type in ("Polygon", "MultiPolygon") for p in _flat(g)]
    if polys:
        return shapely.multipolygons(polys) if len(polys) > 1 else polys[0]
    lines = [p for g in parts for p in _flat(g)]
    if lines:
        return shapely.multilinestrings(lines) if len(lines) > 1 else lines[0]
    return shapely.Polygon()


def _flat(geom: BaseGeometry) -> list[BaseGeometry]:
    return list(getattr(geom, "geoms", [geom]))


def read_geometry(
    raw: Any, kind: str, where: str, *, repair: bool = False, repairs: list[str] | None = None
) -> BaseGeometry:
    """A zone geometry from GeoJSON, checked (see the module docstring)."""
    notes = repairs if repairs is not None else []
    raw = _closed_geometry(raw, where, repair, notes)
    try:
        geom = shape(raw)
    except Exception as exc:  # shapely raises several types on bad GeoJSON
        raise ZoneFileError(f"{where}: invalid geometry ({exc})") from None
    if geom.is_empty:
        raise ZoneFileError(f"{where}: empty geometry")
    if shapely.get_coordinate_dimension(geom) > 2:
        geom = shapely.force_2d(geom)
    problem = geometry_problem(geom, kind)
    if problem is None and not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        if not repair:
            raise ZoneFileError(f"{where}: invalid geometry ({reason}); use --repair to fix it")
        fixed = _keep_types(shapely.make_valid(geom), kind)
        if fixed.is_empty:
            raise ZoneFileError(f"{where}: invalid geometry ({reason}) that cannot be repaired")
        notes.append(f"{where}: {reason}: repaired with make_valid ({fixed.geom_type})")
        geom = fixed
    if problem is not None:
        raise ZoneFileError(f"{where}: {problem}")
    return geom


def read_geojson_zones(
    source: str | bytes | Mapping[str, Any],
    kind: str,
    *,
    id_property: str = "id",
    name_property: str = "name",
    capacity_property: str = "capacity",
    id_prefix: str | None = None,
    version: int = 1,
    effective_from: datetime | None = None,
    effective_to: datetime | None = None,
    operator: str | None = None,
    buffer_m: float | None = None,
    repair: bool = False,
    schedules: Mapping[str, Schedule] | None = None,
) -> ZoneFile:
    """One ``Zone`` per GeoJSON feature (FeatureCollection, Feature or bare geometry),
    checked as the module docstring says, with the repairs made (``repair=True``).

    The zone id is the feature's ``id_property`` property, else its ``id``
    member, else its position; it is prefixed with ``id_prefix`` (default:
    the kind), e.g. ``no_parking:12``. Mandatory parking areas take their
    capacity from ``capacity_property``. Zones of the kinds that apply only at
    times (``SCHEDULED_KINDS``) take their schedule from their ``schedule``
    property or from ``schedules`` (by zone id, with or without the prefix; e.g. from a TOML file:
    ``rules.schedule.schedules_from_toml``).
    """
    schedules = dict(schedules or {})
    used: set[str] = set()
    if kind not in ZONE_KINDS:
        raise ZoneFileError(f"unknown zone kind {kind!r} (one of {', '.join(ZONE_KINDS)})")
    problem = line_buffer_problem(buffer_m, "--buffer-m")
    if problem:
        raise ZoneFileError(problem)
    try:
        doc = orjson.loads(source) if isinstance(source, str | bytes) else source
    except orjson.JSONDecodeError as exc:
        raise ZoneFileError(f"invalid JSON: {exc}") from None
    if not isinstance(doc, Mapping):
        raise ZoneFileError("not GeoJSON: expected an object")
    check_crs(doc.get("crs"), "file")
    prefix = kind if id_prefix is None else id_prefix
    out = ZoneFile()
    seen: set[str] = set()
    for i, feat in enumerate(_features(doc)):
        props = feat.get("properties") or {}
        if not isinstance(props, Mapping):
            raise ZoneFileError(f"feature {i}: 'properties' must be an object")
        raw_id = props.get(id_property, feat.get("id", i))
        zid = f"{prefix}:{raw_id}" if prefix else str(raw_id)
        where = f"feature {i} ({zid if zid.isprintable() and len(zid) <= 60 else _short(zid)})"
        if isinstance(raw_id, Mapping | list) or not valid_zone_id(zid):
            raise ZoneFileError(
                f"{where}: id must be 1-{limits.MAX_ZONE_ID_CHARS} printable characters without '|'"
            )
        if zid in seen:
            raise ZoneFileError(f"{where}: duplicate zone id")
        seen.add(zid)
        check_crs(feat.get("crs"), where)
        name = props.get(name_property)
        name = "" if name is None else str(name)
        if len(name) > limits.MAX_ZONE_NAME_CHARS or not name.isprintable():
            raise ZoneFileError(
                f"{where}: {name_property} must be at most {limits.MAX_ZONE_NAME_CHARS}"
                " printable characters"
            )
        capacity = props.get(capacity_property)
        if capacity is not None and (
            isinstance(capacity, bool)
            or not isinstance(capacity, int)
            or not 0 <= capacity <= limits.MAX_ZONE_CAPACITY
        ):
            raise ZoneFileError(
                f"{where}: {capacity_property} must be an integer from 0 to"
                f" {limits.MAX_ZONE_CAPACITY:,}"
            )
        geometry = read_geometry(
            feat.get("geometry"), kind, where, repair=repair, repairs=out.repairs
        )
        key = zid if zid in schedules else str(raw_id)  # the full id or the file's own
        used.add(key)
        schedule = _schedule(props, kind, where, schedules.get(key))
        out.zones.append(
            Zone(
                id=zid,
                kind=kind,  # type: ignore[arg-type]
                geometry=geometry,
                name=name,
                version=version,
                effective_from=effective_from,
                effective_to=effective_to,
                operator=operator,
                capacity=capacity,
                buffer_m=buffer_m,
                schedule=schedule,
            )
        )
    stray = sorted(set(schedules) - used)
    if stray:
        raise ZoneFileError(f"schedules for zones not in the file: {', '.join(stray[:5])}")
    return out


def _schedule(
    props: Mapping[str, Any], kind: str, where: str, given: Schedule | None
) -> Schedule | None:
    """The zone's schedule: its ``schedule`` property, or one given apart (a TOML file);
    required for the kinds that apply only at times, refused for the others."""
    raw = props.get("schedule")
    if raw is not None and given is not None:
        raise ZoneFileError(f"{where}: a schedule in the file and another apart")
    if kind not in SCHEDULED_KINDS:
        if raw is not None or given is not None:
            raise ZoneFileError(f"{where}: {kind} zones apply at all times (no schedule)")
        return None
    if raw is None and given is None:
        raise ZoneFileError(f"{where}: a {kind} zone needs a schedule")
    try:
        return given if given is not None else parse_schedule(raw, f"{where}: schedule")
    except ScheduleError as exc:
        raise ZoneFileError(str(exc)) from None


def zones_from_geojson(
    source: str | bytes | Mapping[str, Any], kind: str, **options: Any
) -> list[Zone]:
    """``read_geojson_zones(...).zones`` (same options)."""
    return read_geojson_zones(source, kind, **options).zones


def zones_from_geofencing(
    zones: Iterable[GeofencingZone],
    operator: str,
    *,
    version: int = 1,
    repair: bool = False,
    repairs: list[str] | None = None,
) -> list[Zone]:
    """The operator's own no-parking areas: geofencing zones with a rule
    ``ride_end_allowed: false`` (whatever its vehicle types), as ``no_parking``
    zones scoped to that operator, effective over the zone's start/end. The
    geometries are checked as a city file's are (``repair`` likewise)."""
    out: list[Zone] = []
    for i, gz in enumerate(zones):
        if not any(r.ride_end_allowed is False for r in gz.rules):
            continue
        out.append(
            Zone(
                id=f"{operator}:geofencing:{i}",
                kind="no_parking",
                geometry=read_geometry(
                    gz.geometry,
                    "no_parking",
                    f"geofencing zone {i}",
                    repair=repair,
                    repairs=repairs,
                ),
                name=(gz.name or "")[: limits.MAX_ZONE_NAME_CHARS],
                version=version,
                effective_from=gz.start,
                effective_to=gz.end,
                operator=operator,
            )
        )
    return out


# --------------------------------------------------------------------------- city area

Placement = Literal["inside", "outside", "swapped"]


def _meets(a: BBox, b: BBox) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def placement(
    geom: BaseGeometry, area: BBox, margin_m: float = limits.CITY_AREA_MARGIN_M
) -> Placement:
    """Where ``geom`` lies relative to the city's ``area`` grown by ``margin_m``:
    ``inside`` (at least partly), ``swapped`` (outside, but inside once its
    coordinates are read as latitude, longitude) or ``outside``."""
    grown = grow_bbox(area, margin_m)
    b = geom.bounds
    if _meets((b[0], b[1], b[2], b[3]), grown):
        return "inside"
    if _meets((b[1], b[0], b[3], b[2]), grown):
        return "swapped"
    return "outside"
