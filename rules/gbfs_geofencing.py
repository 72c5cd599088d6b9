"""The city's zones as a GBFS ``geofencing_zones.json`` (2.3 and 3.0), for operators
that load geofences from GBFS (pure: zones in, a document out).

What each kind of city zone means for a rider is one table, ``KIND_RULES``:

* ``water``: no ride at all (start, end or through);
* ``no_parking``, ``tram_tracks``: no ride may end there (no parking); starting
  is allowed, so that a badly parked vehicle can be ridden away;
* ``pedestrian``: no parking, and slow: ``pedestrian_speed_kph`` (6 km/h by
  default, walking pace, the French rule for e-scooters in pedestrian areas);
* ``operating_area``: rides allowed; in 3.0 the ``global_rules`` forbid ending a
  ride anywhere else (outside the operating area), in 2.3 (which has no global
  rules) the area is listed for reference;
* ``district`` and ``mandatory_parking`` are not geofences (the bays are not
  GBFS stations, so ``station_parking`` does not apply) and are left out.

GBFS resolves overlapping zones by order ("the first zone in the array takes
precedence"), so zones are listed most restrictive first: water, then the no
parking kinds, then pedestrian areas, then the operating area. Geometries are
MultiPolygons with exterior rings counter-clockwise (RFC 7946's right-hand
rule); lines (tram tracks) are published as the area they cover (buffered in
metres). A zone restricted to one operator goes only into that operator's
file. Zones retired before ``now`` are left out; ``start``/``end`` carry the
zone's dates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal

import shapely
from shapely.geometry import MultiPolygon, mapping
from shapely.geometry.polygon import orient

from rules.inputs import Zone
from rules.mds_geo import COORD_DECIMALS, GeographyCatalog, sanitize_text

GbfsVersion = Literal["2.3", "3.0"]
VERSIONS: tuple[str, ...] = ("2.3", "3.0")
#: GBFS timestamps may not be earlier than this (the schemas' minimum)
GBFS_EPOCH = datetime.fromtimestamp(1450155600, UTC)
TTL_S = 3600


@dataclass(frozen=True, slots=True)
class GeofenceRule:
    """What a rider may do inside a zone of one kind (``order``: first wins)."""

    order: int
    ride_start_allowed: bool
    ride_end_allowed: bool
    ride_through_allowed: bool
    slow: bool = False


KIND_RULES: Mapping[str, GeofenceRule] = MappingProxyType(
    {
        "water": GeofenceRule(10, False, False, False),
        "no_parking": GeofenceRule(20, True, False, True),
        "tram_tracks": GeofenceRule(20, True, False, True),
        "pedestrian": GeofenceRule(30, True, False, True, slow=True),
        "operating_area": GeofenceRule(90, True, True, True),
    }
)
#: outside every zone (3.0 ``global_rules``): no parking outside the operating area
GLOBAL_RULE = GeofenceRule(100, True, False, True)


def _rule(rule: GeofenceRule, version: str, speed_kph: int) -> dict[str, Any]:
    if version == "2.3":  # 2.3: one flag for start and end
        out: dict[str, Any] = {
            "ride_allowed": rule.ride_start_allowed and rule.ride_end_allowed,
            "ride_through_allowed": rule.ride_through_allowed,
        }
    else:
        out = {
            "ride_start_allowed": rule.ride_start_allowed,
            "ride_end_allowed": rule.ride_end_allowed,
            "ride_through_allowed": rule.ride_through_allowed,
        }
    if rule.slow:
        out["maximum_speed_kph"] = speed_kph
    return out


def _time(value: datetime, version: str) -> Any:
    value = max(value, GBFS_EPOCH).astimezone(UTC)
    if version == "2.3":
        return int(value.timestamp())
    return value.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _multipolygon(area: Any) -> dict[str, Any]:
    geom = shapely.set_precision(area, 10**-COORD_DECIMALS)
    polygons = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type == "Polygon"]
    polygons = [orient(p, sign=1.0) for p in polygons if not p.is_empty]
    return mapping(MultiPolygon(polygons))


def geofencing_zones(
    zones: Iterable[Zone],
    *,
    version: str,
    now: datetime,
    operator: str | None = None,
    language: str = "fr",
    line_half_width_m: float = 1.5,
    pedestrian_speed_kph: int = 6,
) -> dict[str, Any]:
    """``geofencing_zones.json`` of GBFS ``version`` (2.3 or 3.0) for ``operator``
    (None: the city-wide zones only)."""
    if version not in VERSIONS:
        raise ValueError(f"GBFS version {version!r}: one of {', '.join(VERSIONS)}")
    chosen = [
        z
        for z in zones
        if z.kind in KIND_RULES
        and (z.operator is None or z.operator == operator)
        and (z.effective_to is None or z.effective_to > now)
    ]
    chosen.sort(key=lambda z: (KIND_RULES[z.kind].order, z.id, z.version))
    catalog = GeographyCatalog(chosen, now, line_half_width_m)
    features = []
    for z in chosen:
        area = catalog.area_deg(z)
        if area.is_empty:
            continue
        name = sanitize_text(z.name or z.id)
        props: dict[str, Any] = {
            "name": name if version == "2.3" else [{"text": name, "language": language}],
            "rules": [_rule(KIND_RULES[z.kind], version, pedestrian_speed_kph)],
        }
        if z.effective_from is not None and z.effective_from > now:
            props["start"] = _time(z.effective_from, version)
        if z.effective_to is not None:
            props["end"] = _time(z.effective_to, version)
        features.append({"type": "Feature", "geometry": _multipolygon(area), "properties": props})
    data: dict[str, Any] = {"geofencing_zones": {"type": "FeatureCollection", "features": features}}
    if version != "2.3":
        has_area = any(z.kind == "operating_area" for z in chosen)
        data["global_rules"] = (
            [_rule(GLOBAL_RULE, version, pedestrian_speed_kph)] if has_area else []
        )
    return {
        "last_updated": _time(now, version),
        "ttl": TTL_S,
        "version": version,
        "data": data,
    }
