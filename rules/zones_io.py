"""Zones from GeoJSON text (city files) or from an operator's parsed geofencing zones.

Parses what it is given (no file I/O): the CLI (``fleet-monitor zones import
FILE --kind KIND``) reads the file and stores the zones these functions return.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import orjson
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from gbfs_ingest.model import GeofencingZone
from rules.inputs import ZONE_KINDS, Zone


class ZoneFileError(ValueError):
    """An unusable zones file; the message names the feature."""


def _features(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    kind = doc.get("type")
    if kind == "FeatureCollection":
        feats = doc.get("features")
        if not isinstance(feats, list):
            raise ZoneFileError("FeatureCollection without a 'features' list")
        return feats
    if kind == "Feature":
        return [doc]
    if isinstance(kind, str):  # a bare geometry
        return [{"type": "Feature", "geometry": doc, "properties": {}}]
    raise ZoneFileError("not GeoJSON: no 'type'")


def _geometry(raw: Any, where: str) -> BaseGeometry:
    try:
        geom = shape(raw)
    except Exception as exc:  # shapely raises several types on bad GeoJSON
        raise ZoneFileError(f"{where}: invalid geometry ({exc})") from None
    if geom.is_empty:
        raise ZoneFileError(f"{where}: empty geometry")
    return geom


def zones_from_geojson(
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
) -> list[Zone]:
    """One ``Zone`` per GeoJSON feature (FeatureCollection, Feature or bare geometry).

    The zone id is the feature's ``id_property`` property, else its ``id``
    member, else its position; it is prefixed with ``id_prefix`` (default:
    the kind), e.g. ``no_parking:12``. Mandatory parking areas take their
    capacity from ``capacity_property``.
    """
    if kind not in ZONE_KINDS:
        raise ZoneFileError(f"unknown zone kind {kind!r} (one of {', '.join(ZONE_KINDS)})")
    try:
        doc = orjson.loads(source) if isinstance(source, str | bytes) else source
    except orjson.JSONDecodeError as exc:
        raise ZoneFileError(f"invalid JSON: {exc}") from None
    if not isinstance(doc, Mapping):
        raise ZoneFileError("not GeoJSON: expected an object")
    prefix = kind if id_prefix is None else id_prefix
    zones: list[Zone] = []
    seen: set[str] = set()
    for i, feat in enumerate(_features(doc)):
        props = feat.get("properties") or {}
        raw_id = props.get(id_property, feat.get("id", i))
        zid = f"{prefix}:{raw_id}" if prefix else str(raw_id)
        where = f"feature {i} ({zid})"
        if zid in seen:
            raise ZoneFileError(f"{where}: duplicate zone id")
        seen.add(zid)
        capacity = props.get(capacity_property)
        if capacity is not None and (
            isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0
        ):
            raise ZoneFileError(f"{where}: {capacity_property} must be a non-negative integer")
        zones.append(
            Zone(
                id=zid,
                kind=kind,  # type: ignore[arg-type]
                geometry=_geometry(feat.get("geometry"), where),
                name=str(props.get(name_property) or ""),
                version=version,
                effective_from=effective_from,
                effective_to=effective_to,
                operator=operator,
                capacity=capacity,
                buffer_m=buffer_m,
            )
        )
    return zones


def zones_from_geofencing(
    zones: Iterable[GeofencingZone], operator: str, *, version: int = 1
) -> list[Zone]:
    """The operator's own no-parking areas: geofencing zones with a rule
    ``ride_end_allowed: false`` (whatever its vehicle types), as ``no_parking``
    zones scoped to that operator, effective over the zone's start/end."""
    out: list[Zone] = []
    for i, gz in enumerate(zones):
        if not any(r.ride_end_allowed is False for r in gz.rules):
            continue
        out.append(
            Zone(
                id=f"{operator}:geofencing:{i}",
                kind="no_parking",
                geometry=_geometry(gz.geometry, f"geofencing zone {i}"),
                name=gz.name or "",
                version=version,
                effective_from=gz.start,
                effective_to=gz.end,
                operator=operator,
            )
        )
    return out
