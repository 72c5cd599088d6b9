"""Publish the city's permits and zones as MDS 2.0 Policy and Geography JSON.

Shapes follow the MDS 2.0 Policy README (flat file ``policies.json``:
``version``, ``updated``, ``data.policies``; policy fields ``name``,
``mode_id``, ``policy_id``, ``provider_ids``, ``description``, ``currency``,
``start_date``, ``end_date``, ``published_date``, ``prev_policies``,
``rules``; rule fields ``name``, ``rule_id``, ``rule_type`` (count, time),
``rule_units`` (devices, minutes), ``geographies``, ``states``,
``vehicle_types``, ``minimum``, ``maximum``, ``rate_*``) and the Geography
README (``geographies.json``: ``version``, ``updated``, ``geographies`` with
``geography_id``, ``geography_type``, ``name``, ``description``,
``published_date``, ``effective_date``, ``retire_date``, ``prev_geographies``,
``geography_json``). Timestamps are integer milliseconds since the epoch.

IDs are deterministic UUIDv5 (same permit or zone version -> same UUID).
Provider ids are the permit's ``mds_provider_id`` when set, else a UUIDv5 of
the operator slug (not an official MDS provider id). Data obligations,
notice deadlines and most penalties have no MDS equivalent and are described
in the policy description only; penalties for time rules are published as
``rate_amount`` (cents, out of bounds, once on match).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import mapping

from rules.findings import RuleType
from rules.geo import local_crs
from rules.inputs import Permit, Zone
from rules.mds_schedules import event_policies, scheduled_rules
from rules.overflow import parking_quotas

MDS_VERSION = "2.0.0"
NAMESPACE = uuid.UUID("6f1c1d4e-7a8b-5c2d-9e0f-a1b2c3d4e5f6")
#: MDS timestamps must be on or after 2018-01-01; used when no date is known.
EPOCH_FLOOR = datetime(2018, 1, 1, tzinfo=UTC)
PARKED_STATES: dict[str, list[str]] = {"available": [], "reserved": [], "non_operational": []}
GEOGRAPHY_TYPES = {"district": "neighborhood"}  # others: policy_zone


def _uuid(name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, name))


def _ms(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def geography_id(zone: Zone) -> str:
    return _uuid(f"geography:{zone.id}:v{zone.version}")


def policy_id(permit: Permit) -> str:
    return _uuid(f"policy:{permit.operator}:v{permit.version}")


def provider_id(permit: Permit) -> str:
    return permit.mds_provider_id or _uuid(f"provider:{permit.operator}")


def _area_geometry(zone: Zone, line_half_width_m: float) -> dict[str, Any]:
    """GeoJSON geometry of the zone; lines and points become their buffered area."""
    geom = zone.geometry
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        c = geom.centroid
        crs = local_crs(c.x, c.y)
        fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        inv = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        metric = shapely.transform(geom, lambda xy: _apply(fwd, xy))
        area = shapely.buffer(metric, zone.buffer_m or line_half_width_m)
        geom = shapely.transform(area, lambda xy: _apply(inv, xy))
    return mapping(geom)


def _apply(t: Transformer, xy: np.ndarray) -> np.ndarray:
    x, y = t.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def zones_to_mds_geographies(
    zones: Iterable[Zone],
    *,
    published_at: datetime | None = None,
    line_half_width_m: float = 1.5,
) -> dict[str, Any]:
    """MDS 2.0 ``geographies.json`` for these zone versions.

    ``published_date`` is ``published_at`` if given, else the zone's
    ``effective_from``, else 2018-01-01. Earlier versions of a zone present
    in ``zones`` are listed in ``prev_geographies``.
    """
    zones = sorted(zones, key=lambda z: (z.id, z.version))
    versions: dict[str, list[Zone]] = {}
    for z in zones:
        versions.setdefault(z.id, []).append(z)
    out = []
    for z in zones:
        published = published_at or z.effective_from or EPOCH_FLOOR
        prev = [geography_id(p) for p in versions[z.id] if p.version < z.version]
        feature = {
            "type": "Feature",
            "geometry": _area_geometry(z, line_half_width_m),
            "properties": {"zone_id": z.id, "kind": z.kind, "version": z.version},
        }
        if z.capacity is not None:
            feature["properties"]["capacity"] = z.capacity
        geo: dict[str, Any] = {
            "geography_id": geography_id(z),
            "geography_type": GEOGRAPHY_TYPES.get(z.kind, "policy_zone"),
            "name": z.name or z.id,
            "description": f"{z.kind} zone {z.id} v{z.version}"
            + (f" (operator {z.operator} only)" if z.operator else ""),
            "published_date": _ms(published),
            "geography_json": {"type": "FeatureCollection", "features": [feature]},
        }
        if z.effective_from is not None:
            geo["effective_date"] = _ms(max(z.effective_from, published))
        if z.effective_to is not None:
            geo["retire_date"] = _ms(z.effective_to)
        if prev:
            geo["prev_geographies"] = prev
        out.append(geo)
    updated = max((g["published_date"] for g in out), default=_ms(EPOCH_FLOOR))
    return {"version": MDS_VERSION, "updated": updated, "geographies": out}


def _rule(permit: Permit, name: str, rule_type: str, units: str, geos: list[str], **extra: Any):
    rule: dict[str, Any] = {
        "name": name,
        "rule_id": _uuid(f"rule:{permit.operator}:v{permit.version}:{name}"),
        "rule_type": rule_type,
        "rule_units": units,
        "geographies": geos,
        "states": extra.pop("states", PARKED_STATES),
    }
    rule.update({k: v for k, v in extra.items() if v is not None})
    return rule


def _time_rule(permit: Permit, name: str, rule: RuleType, minutes: float, states, geos):
    penalty = permit.penalties_eur.get(str(rule))
    rate = {}
    if penalty is not None:
        rate = {
            "rate_amount": round(penalty * 100),
            "rate_recurrence": "once_on_match",
            "rate_applies_when": "out_of_bounds",
        }
    return _rule(
        permit, name, "time", "minutes", geos, states=states, maximum=round(minutes), **rate
    )


def _ids(zones: Sequence[Zone], permit: Permit, kinds: Iterable[str], only: Sequence[str] = ()):
    kinds = set(kinds)
    return [
        geography_id(z)
        for z in zones
        if z.kind in kinds
        and z.operator in (None, permit.operator)
        and (not only or z.id in only)
        and _overlaps(z, permit)
    ]


def _overlaps(z: Zone, p: Permit) -> bool:
    return (z.effective_to is None or z.effective_to > p.effective_from) and (
        p.effective_to is None or z.effective_from is None or z.effective_from < p.effective_to
    )


def permit_rules(permit: Permit, zones: Sequence[Zone], quotas: dict[str, int]) -> list[dict]:
    """MDS rules of one permit, most specific first (MDS order of operations)."""
    area = _ids(zones, permit, ["operating_area"], permit.operating_area_zone_ids)
    # time-bounded restrictions first: the most specific (rules.mds_schedules)
    rules: list[dict[str, Any]] = scheduled_rules(permit, zones, geography_id)
    for kind in permit.prohibited_kinds:
        geos = _ids(zones, permit, [kind])
        if geos:
            rules.append(_rule(permit, f"No parking: {kind}", "count", "devices", geos, maximum=0))
    for zid, cap in sorted(permit.zone_caps.items()):
        geos = [geography_id(z) for z in zones if z.id == zid and _overlaps(z, permit)]
        if geos:
            floor = permit.zone_floors.get(zid)
            rules.append(
                _rule(
                    permit, f"Zone cap {zid}", "count", "devices", geos, maximum=cap, minimum=floor
                )
            )
    for zid, floor in sorted(permit.zone_floors.items()):
        geos = [geography_id(z) for z in zones if z.id == zid and _overlaps(z, permit)]
        if geos and zid not in permit.zone_caps:
            rules.append(
                _rule(permit, f"Zone floor {zid}", "count", "devices", geos, minimum=floor)
            )
    if permit.parking.mandatory:
        bays = [
            z
            for z in zones
            if z.kind == "mandatory_parking"
            and (not permit.parking.zone_ids or z.id in permit.parking.zone_ids)
            and z.operator in (None, permit.operator)
            and _overlaps(z, permit)
        ]
        for z in bays:
            if z.capacity is not None and z.id in quotas:
                rules.append(
                    _rule(
                        permit,
                        f"Parking share {z.id}",
                        "count",
                        "devices",
                        [geography_id(z)],
                        maximum=quotas[z.id],
                    )
                )
        if bays:
            rules.append(
                _rule(
                    permit,
                    "Designated parking areas",
                    "count",
                    "devices",
                    [geography_id(z) for z in bays],
                )
            )
        where = (
            _ids(zones, permit, ["district", "operating_area"], permit.parking.district_ids)
            if permit.parking.district_ids
            else area
        )
        if where:
            rules.append(
                _rule(
                    permit,
                    "No parking outside designated areas",
                    "count",
                    "devices",
                    where,
                    maximum=0,
                )
            )
    if area:
        for ff, cap in sorted(permit.fleet_cap_by_form_factor.items()):
            rules.append(
                _rule(
                    permit,
                    f"Fleet cap {ff}",
                    "count",
                    "devices",
                    area,
                    vehicle_types=[ff],
                    maximum=cap,
                )
            )
        if permit.fleet_cap is not None:
            rules.append(
                _rule(permit, "Fleet cap", "count", "devices", area, maximum=permit.fleet_cap)
            )
        if permit.max_idle is not None:
            rules.append(
                _time_rule(
                    permit,
                    "Maximum idle time while rentable",
                    RuleType.IDLE_TOO_LONG,
                    permit.max_idle.total_seconds() / 60,
                    {"available": [], "reserved": []},
                    area,
                )
            )
        if permit.max_disabled is not None:
            rules.append(
                _time_rule(
                    permit,
                    "Maximum time disabled",
                    RuleType.DISABLED_TOO_LONG,
                    permit.max_disabled.total_seconds() / 60,
                    {"non_operational": []},
                    area,
                )
            )
    return rules


def _description(p: Permit) -> str:
    parts = [f"Permit {p.operator} v{p.version}"]
    d = p.data
    parts.append(f"feed staleness <= {d.max_feed_staleness.total_seconds():g} s")
    if d.min_monthly_availability is not None:
        parts.append(f"monthly feed availability >= {d.min_monthly_availability:.2%}")
    n = p.notices
    day_h = n.day_deadline.total_seconds() / 3600
    night_h = n.night_deadline.total_seconds() / 3600
    parts.append(
        f"notice deadlines {day_h:g} h by day ({n.day_start:%H:%M}-{n.day_end:%H:%M}), "
        f"{night_h:g} h by night"
    )
    parts.append(f"GPS tolerance {p.gps_tolerance_m:g} m")
    return "; ".join(parts)[:255]


def permits_to_mds_policy(
    permits: Iterable[Permit], zones: Iterable[Zone], *, published_at: datetime | None = None
) -> dict[str, Any]:
    """MDS 2.0 ``policies.json``: one policy per permit version.

    ``published_date`` is ``published_at`` if given, else the permit's
    ``effective_from``. Earlier versions of the same operator's permit are
    listed in ``prev_policies``.
    """
    permits = sorted(permits, key=lambda p: (p.operator, p.version))
    zones = sorted(zones, key=lambda z: (z.id, z.version))
    policies = []
    for p in permits:
        quotas: dict[str, int] = {}
        if p.parking.mandatory and any(z.kind == "mandatory_parking" for z in zones):
            at_start = parking_quotas(zones, permits, p.effective_from)
            quotas = {zid: q[p.operator] for zid, q in at_start.items() if p.operator in q}
        policy: dict[str, Any] = {
            "name": p.name or f"{p.operator} permit v{p.version}",
            "mode_id": "micromobility",
            "policy_id": policy_id(p),
            "provider_ids": [provider_id(p)],
            "description": _description(p),
            "currency": "EUR",
            "start_date": _ms(p.effective_from),
            "published_date": _ms(published_at or p.effective_from),
            "rules": permit_rules(p, zones, quotas),
        }
        if p.effective_to is not None:
            policy["end_date"] = _ms(p.effective_to)
        prev = [policy_id(q) for q in permits if q.operator == p.operator and q.version < p.version]
        if prev:
            policy["prev_policies"] = prev
        policies.append(policy)
    policies += event_policies(permits, zones, geography_id, provider_id, policy_id)
    updated = max((pol["published_date"] for pol in policies), default=_ms(EPOCH_FLOOR))
    return {"version": MDS_VERSION, "updated": updated, "data": {"policies": policies}}
