"""Where a vehicle is parked: prohibited zones, operating area, mandatory parking.

GPS tolerance (``PreparedCity.tolerance_m``, from ``Permit.gps_tolerance_m``):
a finding is raised only when the reported position breaches the rule, and it
is a ``violation`` only when it breaches it by more than the tolerance;
a breach by less than the tolerance is ``uncertain`` (the vehicle may be
compliant: GPS error alone could explain the position). Concretely:

- prohibited zones (no parking, pedestrian, water, tram tracks): inside the
  zone shrunk by the tolerance -> violation; inside the zone but within the
  tolerance of its border -> uncertain; outside -> nothing;
- required areas (operating area; designated parking areas where parking is
  mandatory): outside every area grown by the tolerance -> violation; outside
  them but within the tolerance -> uncertain; inside one -> nothing.

``measured`` is the depth inside the prohibited zone, or the distance to the
nearest required area, in metres; ``threshold`` is the tolerance. A reported
position that complies is never a finding, so a vehicle correctly parked in a
bay smaller than the GPS error is not flagged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import numpy as np

from rules.findings import PROHIBITED_KIND_RULES, Finding, RuleType, Status
from rules.geo import Located, PreparedCity
from rules.inputs import PROHIBITED_KINDS, ZONE_KINDS, OutageSpan, Permit, VehicleSnapshot
from rules.vehicle_rules import FleetContext, vehicle_evidence


def _groups(sorted_keys: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of equal values in a sorted array."""
    if len(sorted_keys) == 0:
        return []
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    ends = np.r_[starts[1:], len(sorted_keys)]
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _spatial_finding(
    rule: RuleType,
    permit: Permit,
    clause: str,
    s: VehicleSnapshot,
    status: Status,
    measured_m: float | None,
    city: PreparedCity,
    now: datetime,
    zone_id: str | None,
    zone_ids: list[str],
) -> Finding:
    evidence = vehicle_evidence(s)
    evidence["zones"] = zone_ids
    evidence["gps_tolerance_m"] = city.tolerance_m
    evidence["crs"] = city.crs
    return Finding(
        rule_type=rule,
        operator=s.operator,
        subject_key=s.key,
        status=status,
        measured=None if measured_m is None or math.isnan(measured_m) else round(measured_m, 2),
        unit="m",
        threshold=city.tolerance_m,
        clause=permit.clause(clause),
        observed_at=now,
        permit_version=permit.version,
        since=s.parked_since,
        zone_id=zone_id,
        confidence=1.0 if status == "violation" else 0.5,
        penalty_eur=permit.penalties_eur.get(str(rule)) if status == "violation" else None,
        evidence=evidence,
    )


def evaluate_prohibited_zones(
    snapshots: Sequence[VehicleSnapshot],
    city: PreparedCity,
    permits: Iterable[Permit],
    now: datetime,
    *,
    kinds: Iterable[str] = PROHIBITED_KINDS,
    outages: Iterable[OutageSpan] = (),
    located: Located | None = None,
    fleet: FleetContext | None = None,
) -> list[Finding]:
    """Vehicles parked in no-parking, pedestrian, water or tram-track zones.

    One finding per vehicle and zone kind, naming the zone the vehicle is
    deepest in (all zones in the evidence). A kind is enforced for an
    operator when listed in its permit's ``prohibited_kinds``.
    """
    located = located if located is not None else city.locate(snapshots, now)
    fleet = fleet if fleet is not None else FleetContext.build(snapshots, permits, now, outages)
    pv, pz = located.pair_v, located.pair_z
    opi = fleet.op_idx[pv]
    candidate = (opi >= 0) & located.pair_exact
    out: list[Finding] = []
    for kind in kinds:
        rule = PROHIBITED_KIND_RULES[kind]
        enforce = fleet.per_operator([kind in p.prohibited_kinds for p in fleet.permits], False)
        sel = np.flatnonzero(
            candidate & (city.kind[pz] == ZONE_KINDS.index(kind)) & enforce[opi].astype(bool)
        )
        if len(sel) == 0:
            continue
        v, z, inner = pv[sel], pz[sel], located.pair_inner[sel]
        depth = city.depth_m(v, z, located)
        rank = np.where(np.isnan(depth), np.inf, depth)  # unmeasured: inside a huge zone
        for a, b in _groups(v):
            best = a + int(np.argmax(rank[a:b]))
            s = snapshots[int(v[a])]
            status: Status = "violation" if inner[a:b].any() else "uncertain"
            out.append(
                _spatial_finding(
                    rule,
                    fleet.permits[int(opi[sel[a]])],
                    str(rule),
                    s,
                    status,
                    float(depth[best]),
                    city,
                    now,
                    city.ids[int(z[best])],
                    sorted({city.ids[int(i)] for i in z[a:b]}),
                )
            )
    return out


def _required_area(
    rule: RuleType,
    clause: str,
    allowed: list[np.ndarray],
    subject: np.ndarray,
    snapshots: Sequence[VehicleSnapshot],
    city: PreparedCity,
    located: Located,
    fleet: FleetContext,
    now: datetime,
) -> list[Finding]:
    """Findings for vehicles outside the allowed zones of their operator.

    ``allowed[k]`` lists zone indices allowed for ``fleet.permits[k]``;
    ``subject`` marks vehicles the rule applies to.
    """
    n_ops = len(fleet.permits)
    n = len(snapshots)
    mat = np.zeros((n_ops + 1, len(city.zones)), dtype=bool)  # last row: no permit
    for k, idx in enumerate(allowed):
        mat[k, idx] = True
    pv, pz = located.pair_v, located.pair_z
    pair_ok = mat[fleet.op_idx[pv], pz]
    in_grown = np.zeros(n, dtype=bool)
    in_grown[pv[pair_ok]] = True
    in_exact = np.zeros(n, dtype=bool)
    in_exact[pv[pair_ok & located.pair_exact]] = True
    has_area = fleet.per_operator([len(a) > 0 for a in allowed], False).astype(bool)
    subject = subject & located.valid & (fleet.op_idx >= 0) & has_area[fleet.op_idx]
    flagged = np.flatnonzero(subject & ~in_exact)
    out: list[Finding] = []
    for k, permit in enumerate(fleet.permits):
        mine = flagged[fleet.op_idx[flagged] == k]
        if len(mine) == 0:
            continue
        dist = city.distance_to_nearest_m(allowed[k], mine, located)
        for i, d in zip(mine.tolist(), dist.tolist(), strict=True):
            status: Status = "uncertain" if in_grown[i] else "violation"
            out.append(
                _spatial_finding(rule, permit, clause, snapshots[i], status, d, city, now, None, [])
            )
    return out


def evaluate_outside_operating_area(
    snapshots: Sequence[VehicleSnapshot],
    city: PreparedCity,
    permits: Iterable[Permit],
    now: datetime,
    *,
    outages: Iterable[OutageSpan] = (),
    located: Located | None = None,
    fleet: FleetContext | None = None,
) -> list[Finding]:
    """Vehicles parked outside their operator's operating area.

    The area is the permit's ``operating_area_zone_ids`` or, when empty, every
    operating_area zone applying to the operator; with no such zone the rule
    is not evaluated for that operator.
    """
    located = located if located is not None else city.locate(snapshots, now)
    fleet = fleet if fleet is not None else FleetContext.build(snapshots, permits, now, outages)
    allowed = [
        city.zone_indices("operating_area", p.operator, now, p.operating_area_zone_ids)
        for p in fleet.permits
    ]
    subject = np.ones(len(snapshots), dtype=bool)
    return _required_area(
        RuleType.OUTSIDE_OPERATING_AREA,
        "operating_area",
        allowed,
        subject,
        snapshots,
        city,
        located,
        fleet,
        now,
    )


def evaluate_outside_mandatory_parking(
    snapshots: Sequence[VehicleSnapshot],
    city: PreparedCity,
    permits: Iterable[Permit],
    now: datetime,
    *,
    outages: Iterable[OutageSpan] = (),
    located: Located | None = None,
    fleet: FleetContext | None = None,
) -> list[Finding]:
    """Vehicles parked outside the designated parking areas where the permit makes
    parking mandatory (``parking.mandatory``), in the permit's
    ``parking.district_ids`` (anywhere when empty). Designated areas are the
    ``parking.zone_ids`` mandatory_parking zones (all of them when empty).
    A vehicle counts as in a district when its reported position is inside it.
    """
    located = located if located is not None else city.locate(snapshots, now)
    fleet = fleet if fleet is not None else FleetContext.build(snapshots, permits, now, outages)
    allowed = [
        city.zone_indices("mandatory_parking", p.operator, now, p.parking.zone_ids)
        if p.parking.mandatory
        else np.empty(0, dtype=np.intp)
        for p in fleet.permits
    ]
    subject = np.zeros(len(snapshots), dtype=bool)
    pv, pz = located.pair_v, located.pair_z
    for k, p in enumerate(fleet.permits):
        if not p.parking.mandatory:
            continue
        mine = fleet.op_idx == k
        if not p.parking.district_ids:
            subject |= mine
            continue
        in_district = np.isin(pz, city.indices_of(p.parking.district_ids)) & located.pair_exact
        hit = np.zeros(len(snapshots), dtype=bool)
        hit[pv[in_district]] = True
        subject |= mine & hit
    return _required_area(
        RuleType.OUTSIDE_MANDATORY_PARKING,
        "parking.mandatory",
        allowed,
        subject,
        snapshots,
        city,
        located,
        fleet,
        now,
    )


def _one_kind(kind: str, doc: str) -> Callable[..., list[Finding]]:
    """The evaluator of one prohibited zone kind."""

    def evaluate(
        snapshots: Sequence[VehicleSnapshot],
        city: PreparedCity,
        permits: Iterable[Permit],
        now: datetime,
        *,
        outages: Iterable[OutageSpan] = (),
        located: Located | None = None,
        fleet: FleetContext | None = None,
    ) -> list[Finding]:
        return evaluate_prohibited_zones(
            snapshots,
            city,
            permits,
            now,
            kinds=(kind,),
            outages=outages,
            located=located,
            fleet=fleet,
        )

    evaluate.__doc__ = doc
    evaluate.__name__ = evaluate.__qualname__ = f"evaluate_{PROHIBITED_KIND_RULES[kind]}"
    return evaluate


evaluate_in_no_parking_area = _one_kind("no_parking", "Vehicles parked in a no-parking area.")
evaluate_in_pedestrian_area = _one_kind("pedestrian", "Vehicles parked in a pedestrian area.")
evaluate_in_water = _one_kind("water", "Vehicles in water (lake, river).")
evaluate_on_tram_tracks = _one_kind("tram_tracks", "Vehicles on tram tracks (buffered lines).")
