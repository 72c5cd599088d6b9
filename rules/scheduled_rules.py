"""Scheduled and event restrictions: zones where parking is forbidden only at times
(the old town's market mornings, the lake festival), with a lead time for
operators to clear them.

For each vehicle located in a ``scheduled_restriction`` zone (one applying to
its operator, in force at ``now``), by the zone's schedule at ``now``:

* **active** (inside a window): a ``violation`` when the position is inside the
  zone shrunk by the GPS tolerance, ``uncertain`` within the tolerance of the
  border (as for every parking rule, see ``rules.parking_rules``);
* **upcoming** (within the lead time before a window): ``uncertain``, with
  ``evidence["phase"] = "upcoming"`` and the time by which the zone must be
  clear: shown to officers and to the operator, never noticed or billed;
* otherwise nothing.

Each window is its own episode (``Finding.episode`` = the window's start): a
vehicle reported as to be cleared keeps the same key when the window opens,
so its case goes from "to clear" to "in breach" in one violation, and a
vehicle still there at the next market is a new one. ``since`` is the
vehicle's arrival (the same in both phases); the window is in the evidence.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from rules.findings import Finding, RuleType, Status
from rules.inputs import ZONE_KINDS
from rules.parking_rules import _groups
from rules.schedule import Phase
from rules.vehicle_rules import FleetContext, vehicle_evidence

if TYPE_CHECKING:
    from rules.registry import EvaluationContext

KIND = "scheduled_restriction"
CLAUSE = "scheduled_restriction"


def evaluate_scheduled_restrictions(ctx: EvaluationContext) -> list[Finding]:
    """The findings of one evaluation (see the module docstring)."""
    city = ctx.require_city()
    if KIND not in ZONE_KINDS:
        return []
    now: datetime = ctx.now
    snapshots = ctx.snapshots
    located = ctx.located if ctx.located is not None else city.locate(snapshots, now)
    fleet = ctx.fleet or FleetContext.build(snapshots, ctx.permits, now, ctx.outages)
    pv, pz = located.pair_v, located.pair_z
    opi = fleet.op_idx[pv]
    sel = np.flatnonzero(
        (opi >= 0) & located.pair_exact & (city.kind[pz] == ZONE_KINDS.index(KIND))
    )
    out: list[Finding] = []
    if len(sel) == 0:
        return out
    phases: dict[int, tuple[Phase, datetime, datetime] | None] = {}
    for zi in set(pz[sel].tolist()):
        schedule = city.zones[zi].schedule
        phases[zi] = schedule.phase_at(now) if schedule is not None else None
    keep = np.array([phases[int(z)] is not None for z in pz[sel]], dtype=bool)
    sel = sel[keep]
    if len(sel) == 0:
        return out
    v, z, inner = pv[sel], pz[sel], located.pair_inner[sel]
    depth = city.depth_m(v, z, located)
    rank = np.where(np.isnan(depth), np.inf, depth)
    for a, b in _groups(v):
        # the zone the vehicle is deepest in, active zones before upcoming ones
        best = max(
            range(a, b),
            key=lambda i: (phases[int(z[i])][0] == "active", rank[i]),  # type: ignore[index]
        )
        phase, start, end = phases[int(z[best])]  # type: ignore[misc]
        s = snapshots[int(v[a])]
        permit = fleet.permits[int(opi[sel[a]])]
        status: Status = "violation" if phase == "active" and bool(inner[best]) else "uncertain"
        zone = city.zones[int(z[best])]
        evidence = vehicle_evidence(s)
        evidence.update(
            {
                "zones": sorted({city.ids[int(i)] for i in z[a:b]}),
                "gps_tolerance_m": city.tolerance_m,
                "crs": city.crs,
                "phase": phase,
                "window": (start, end),
                "clear_by": start,
                "lead_s": zone.schedule.lead.total_seconds() if zone.schedule else None,
            }
        )
        measured = float(depth[best])
        out.append(
            Finding(
                rule_type=RuleType.SCHEDULED_RESTRICTION,
                operator=s.operator,
                subject_key=s.key,
                status=status,
                measured=None if math.isnan(measured) else round(measured, 2),
                unit="m",
                threshold=city.tolerance_m,
                clause=permit.clause(CLAUSE),
                observed_at=now,
                permit_version=permit.version,
                since=s.parked_since,
                zone_id=zone.id,
                confidence=1.0 if status == "violation" else 0.5,
                penalty_eur=(
                    permit.penalties_eur.get(str(RuleType.SCHEDULED_RESTRICTION))
                    if status == "violation"
                    else None
                ),
                evidence=evidence,
                episode=start.isoformat(),
            )
        )
    return out
