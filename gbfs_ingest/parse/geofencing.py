"""``geofencing_zones`` (2.1+): the operator's own zones and rules.

2.1-2.3 rules use ``ride_allowed`` (start *and* end an undocked ride) and
``vehicle_type_id``; 3.0 splits ``ride_start_allowed``/``ride_end_allowed``,
renames ``vehicle_type_ids`` and adds ``global_rules`` for everywhere outside
the zones. Real 3.0 feeds mix both vocabularies (Bolt), so both are read in
every version, with a warning when a key belongs to the other one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gbfs_ingest.model import GeofencingRule, GeofencingZone
from gbfs_ingest.timeutil import parse_timestamp

from ._common import (
    ERROR,
    INFO,
    WARNING,
    Ctx,
    bool_value,
    float_value,
    id_value,
    show,
    text_field,
)

__all__ = ["parse_geofencing_v2", "parse_geofencing_v3", "parse_global_rules"]

_POLYGON_TYPES = ("Polygon", "MultiPolygon")
#: A zone whose bounding box spans this much is "the whole world": operators
#: use one (often with the service area as a hole) to set rules outside it.
_WORLD_LON_SPAN = 180.0
_WORLD_LAT_SPAN = 90.0


def parse_geofencing_v2(ctx: Ctx, data: dict[str, Any]) -> list[GeofencingZone]:
    return _parse_zones(ctx, data)


def parse_geofencing_v3(ctx: Ctx, data: dict[str, Any]) -> list[GeofencingZone]:
    return _parse_zones(ctx, data)


def parse_global_rules(ctx: Ctx, data: dict[str, Any]) -> list[GeofencingRule]:
    """3.0 ``global_rules``: what applies outside every zone (empty before 3.0)."""
    raw = data.get("global_rules")
    if raw is None:
        if ctx.v3:
            ctx.findings.add(WARNING, "geofencing.no_global_rules", "/data", "global_rules missing")
        return []
    if not ctx.v3:
        ctx.findings.add(WARNING, "geofencing.v3_key", "/data/global_rules", "global_rules pre-3.0")
    return _rules(ctx, raw, "/data/global_rules")


def _parse_zones(ctx: Ctx, data: dict[str, Any]) -> list[GeofencingZone]:
    fc = ctx.findings
    collection = data.get("geofencing_zones")
    base = "/data/geofencing_zones/features"
    if type(collection) is not dict or type(collection.get("features")) is not list:
        fc.add(ERROR, "feed.missing_array", base, "geofencing_zones is not a FeatureCollection")
        return []
    features = collection["features"]
    if not features:
        fc.add(INFO, "feed.empty", base, "empty FeatureCollection: no zones")
    item = base + "/*"
    out: list[GeofencingZone] = []
    no_rules = 0
    for feature in features:
        geometry = feature.get("geometry") if type(feature) is dict else None
        problem = _geometry_problem(geometry)
        if problem is not None:
            fc.add(
                ERROR, "geofencing.invalid_geometry", item + "/geometry", f"zone dropped: {problem}"
            )
            ctx.dropped += 1
            continue
        assert geometry is not None
        geometry = _clean_geometry(geometry)
        props = feature.get("properties")
        if type(props) is not dict:
            props = {}
        name = text_field(fc, item + "/properties/name", props.get("name"), ctx.languages)
        rules_raw = props.get("rules")
        rules = _rules(ctx, rules_raw, item + "/properties/rules") if rules_raw is not None else []
        if not rules:
            no_rules += 1
        zone = GeofencingZone(
            name=name,
            geometry=geometry,
            rules=rules,
            start=_time(ctx, item + "/properties/start", props.get("start")),
            end=_time(ctx, item + "/properties/end", props.get("end")),
        )
        span = _bbox_span(geometry)
        if span[0] >= _WORLD_LON_SPAN or span[1] >= _WORLD_LAT_SPAN:
            fc.add(
                WARNING,
                "geofencing.world_zone",
                item + "/geometry",
                f"zone {name!r} spans {span[0]:.0f}° of longitude and {span[1]:.0f}° of latitude:"
                " it covers (nearly) the whole world, i.e. sets rules outside the service area",
            )
        out.append(zone)
    if no_rules:
        fc.add(
            INFO,
            "geofencing.no_rules",
            item + "/properties/rules",
            "zones without rules" + (" (only global_rules apply)" if ctx.v3 else ""),
            no_rules,
        )
    return out


def _rules(ctx: Ctx, raw: Any, path: str) -> list[GeofencingRule]:
    fc = ctx.findings
    if type(raw) is not list:
        fc.add(WARNING, "value.invalid", path, f"rules is not a list: {show(raw)}")
        return []
    item = path + "/*"
    v3 = ctx.v3
    rules: list[GeofencingRule] = []
    for r in raw:
        if type(r) is not dict:
            fc.add(WARNING, "value.invalid", item, f"rule is not an object: {show(r)}")
            continue
        own, other = ("vehicle_type_ids", "vehicle_type_id") if v3 else ("vehicle_type_id", None)
        types_raw = r.get(own)
        if types_raw is None and other is not None and other in r:
            types_raw = r[other]
            fc.add(WARNING, "geofencing.v2_key", f"{item}/{other}", f"2.x key {other!r} in 3.x")
        if types_raw is None and not v3 and "vehicle_type_ids" in r:
            types_raw = r["vehicle_type_ids"]
            fc.add(WARNING, "geofencing.v3_key", f"{item}/vehicle_type_ids", "3.x key before 3.0")
        start = bool_value(fc, f"{item}/ride_start_allowed", r.get("ride_start_allowed"), None)
        end = bool_value(fc, f"{item}/ride_end_allowed", r.get("ride_end_allowed"), None)
        if (start is not None or end is not None) and not v3:
            fc.add(WARNING, "geofencing.v3_key", f"{item}/ride_start_allowed", "3.x keys pre-3.0")
        if "ride_allowed" in r:
            both = bool_value(fc, f"{item}/ride_allowed", r.get("ride_allowed"), None)
            if v3:
                fc.add(
                    WARNING, "geofencing.v2_key", f"{item}/ride_allowed", "2.x ride_allowed in 3.x"
                )
            start = both if start is None else start
            end = both if end is None else end
        rules.append(
            GeofencingRule(
                vehicle_type_ids=_type_ids(ctx, f"{item}/{own}", types_raw),
                ride_start_allowed=start,
                ride_end_allowed=end,
                ride_through_allowed=bool_value(
                    fc, f"{item}/ride_through_allowed", r.get("ride_through_allowed"), None
                ),
                maximum_speed_kph=float_value(
                    fc, f"{item}/maximum_speed_kph", r.get("maximum_speed_kph"), 0.0
                ),
                station_parking=bool_value(
                    fc, f"{item}/station_parking", r.get("station_parking"), None
                ),
            )
        )
    return rules


def _time(ctx: Ctx, path: str, raw: Any) -> datetime | None:
    """Zone start/end: may legitimately lie far in the future, so no plausibility bound."""
    if raw is None:
        return None
    value, _issue = parse_timestamp(raw)
    if value is None:
        ctx.findings.add(WARNING, "time.invalid", path, f"unparsable time {show(raw)}: ignored")
    return value


def _type_ids(ctx: Ctx, path: str, raw: Any) -> list[str] | None:
    """None = the rule applies to every vehicle type."""
    if raw is None:
        return None
    if type(raw) is not list:
        ctx.findings.add(WARNING, "coerce.scalar_list", path, f"single value {show(raw)}: listed")
        raw = [raw]
    ids = [i for i in (id_value(ctx.findings, path, value) for value in raw) if i is not None]
    return ids or None


def _geometry_problem(geometry: Any) -> str | None:
    if type(geometry) is not dict:
        return "no geometry"
    kind = geometry.get("type")
    if kind not in _POLYGON_TYPES:
        return f"geometry type {show(kind)} is not a (Multi)Polygon"
    coordinates = geometry.get("coordinates")
    polygons = [coordinates] if kind == "Polygon" else coordinates
    if type(polygons) is not list or not polygons:
        return "no coordinates"
    for polygon in polygons:
        if type(polygon) is not list or not polygon:
            return "empty polygon"
        for ring in polygon:
            if type(ring) is not list or len(ring) < 4:
                return "ring with fewer than 4 positions"
            for point in ring:
                if (
                    type(point) is not list
                    or len(point) < 2
                    or type(point[0]) not in (int, float)
                    or type(point[1]) not in (int, float)
                    or not (-180.0 <= point[0] <= 180.0 and -90.0 <= point[1] <= 90.0)
                ):
                    return f"invalid position {show(point)}"
    return None


def _clean_geometry(geometry: dict[str, Any]) -> dict[str, Any]:
    """The geometry rebuilt from its checked numbers only: a position's extra members
    (altitude, or anything an operator put there) are not kept."""
    coordinates = geometry["coordinates"]
    polygons = [coordinates] if geometry["type"] == "Polygon" else coordinates
    clean = [[[[point[0], point[1]] for point in ring] for ring in polygon] for polygon in polygons]
    return {
        "type": geometry["type"],
        "coordinates": clean[0] if geometry["type"] == "Polygon" else clean,
    }


def _bbox_span(geometry: dict[str, Any]) -> tuple[float, float]:
    """(longitude span, latitude span) of a geometry that passed _geometry_problem."""
    coordinates = geometry["coordinates"]
    polygons = [coordinates] if geometry["type"] == "Polygon" else coordinates
    lons = [p[0] for polygon in polygons for ring in polygon for p in ring]
    lats = [p[1] for polygon in polygons for ring in polygon for p in ring]
    return max(lons) - min(lons), max(lats) - min(lats)
