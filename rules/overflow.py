"""Parking-area overflow: an operator's share of a designated area's capacity.

Quota formula (stated in each finding's evidence): for a designated parking
area z of capacity C(z), and the operators o with a permit in force to whom
the area applies, quota(o, z) = floor(C(z) * w(o) / sum of w(o')), where w(o)
is the permit's ``parking.share_weight``, else its total fleet cap, else 1.
Evaluated on the current snapshots (where vehicles stand now), not on samples.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

import numpy as np

from rules.count_rules import vehicles_beyond
from rules.findings import Finding, RuleType, Status
from rules.geo import Located, PreparedCity
from rules.inputs import (
    ZONE_KINDS,
    DeployedVehicle,
    OutageSpan,
    Permit,
    VehicleSnapshot,
    Zone,
    active_permits,
    operators_in_outage,
)


def parking_quotas(
    zones: Iterable[Zone], permits: Iterable[Permit], now: datetime
) -> dict[str, dict[str, int]]:
    """Each operator's share of each designated parking area's capacity, at ``now``.

    quota(o, z) = floor(capacity(z) * w(o) / sum of w(o') over the operators o'
    with a permit in force to whom the area applies), where w(o) is the
    permit's ``parking.share_weight``, else its total fleet cap, else 1.
    """
    active = active_permits(permits, now)
    weight = {
        o: float(
            p.parking.share_weight if p.parking.share_weight is not None else (p.fleet_cap or 1)
        )
        for o, p in active.items()
    }
    out: dict[str, dict[str, int]] = {}
    for z in zones:
        if z.kind != "mandatory_parking" or z.capacity is None or not z.is_effective(now):
            continue
        ops = [o for o in sorted(active) if z.applies_to(o)]
        total = sum(weight[o] for o in ops)
        if total > 0:
            out[z.id] = {o: math.floor(z.capacity * weight[o] / total) for o in ops}
    return out


def evaluate_parking_overflow(
    snapshots: Sequence[VehicleSnapshot],
    city: PreparedCity,
    permits: Iterable[Permit],
    now: datetime,
    *,
    outages: Iterable[OutageSpan] = (),
    located: Located | None = None,
) -> list[Finding]:
    """Operators holding more than their share of a full designated parking area.

    An area is full when the vehicles reported inside it (all operators,
    including those in outage, at their last known position) exceed its
    capacity. An operator is then in breach when its own vehicles there
    exceed its quota (``parking_quotas``): a violation when counting reported
    positions, 'uncertain' when only counting the vehicles within the GPS
    tolerance of the area makes it so. Named beyond the quota: the operator's
    most recently parked vehicles there. Operators in outage get no finding.
    """
    permits = list(permits)
    located = located if located is not None else city.locate(snapshots, now)
    quotas = parking_quotas(city.zones, permits, now)
    if not quotas:
        return []
    active = active_permits(permits, now)
    down = operators_in_outage(outages, now)
    pv, pz, exact = located.pair_v, located.pair_z, located.pair_exact
    cap = np.array([np.nan if z.capacity is None else z.capacity for z in city.zones])
    sel = (city.kind[pz] == ZONE_KINDS.index("mandatory_parking")) & ~np.isnan(cap[pz])
    nz = len(city.zones)
    grown_total = np.bincount(pz[sel], minlength=nz)
    full = np.flatnonzero(grown_total > np.nan_to_num(cap, nan=np.inf))
    out: list[Finding] = []
    for zi in full.tolist():
        zid = city.ids[zi]
        if zid not in quotas:
            continue
        here = np.flatnonzero(sel & (pz == zi))
        exact_here = exact[here]
        total_exact = int(exact_here.sum())
        by_op: dict[str, list[tuple[int, bool]]] = defaultdict(list)
        for j, e in zip(pv[here].tolist(), exact_here.tolist(), strict=True):
            by_op[snapshots[j].operator].append((j, e))
        for op, members in sorted(by_op.items()):
            p = active.get(op)
            quota = quotas[zid].get(op)
            if p is None or quota is None or op in down:
                continue
            n_exact = sum(1 for _, e in members if e)
            if total_exact > cap[zi] and n_exact > quota:
                status: Status = "violation"
                counted = [j for j, e in members if e]
            elif len(members) > quota:
                status = "uncertain"
                counted = [j for j, _ in members]
            else:
                continue
            parked = [
                DeployedVehicle(snapshots[j].key, None, (zid,), snapshots[j].parked_since)
                for j in counted
            ]
            evidence = {
                "capacity": int(cap[zi]),
                "quota": quota,
                "quota_formula": "floor(capacity * weight / sum of the operators' weights)",
                "reported_inside_all_operators": total_exact,
                "within_tolerance_all_operators": len(here),
                "operator_reported_inside": n_exact,
                "operator_within_tolerance": len(members),
                "gps_tolerance_m": city.tolerance_m,
                "vehicle_keys": sorted(snapshots[j].key for j in counted),
            }
            out.append(
                Finding(
                    rule_type=RuleType.PARKING_OVERFLOW,
                    operator=op,
                    subject_key=zid,
                    status=status,
                    measured=len(counted),
                    unit="devices",
                    threshold=quota,
                    clause=p.clause("parking.share"),
                    observed_at=now,
                    permit_version=p.version,
                    zone_id=zid,
                    confidence=1.0 if status == "violation" else 0.5,
                    penalty_eur=p.penalties_eur.get(str(RuleType.PARKING_OVERFLOW))
                    if status == "violation"
                    else None,
                    vehicles_beyond=vehicles_beyond(parked, len(counted) - quota),
                    evidence=evidence,
                )
            )
    return out
