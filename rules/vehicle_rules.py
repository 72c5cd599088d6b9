"""Per-vehicle time rules (idle too long, disabled too long) and shared helpers.

Outage-aware: a vehicle whose operator's feed is in outage at ``now`` (an
active ``OutageSpan``, or ``in_outage`` on the snapshot) yields no finding;
the DB layer holds its open violations until the feed is back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from rules.findings import DWELL_CONFIDENCE, Finding, RuleType
from rules.inputs import (
    RENTABLE_STATES,
    OutageSpan,
    Permit,
    VehicleSnapshot,
    VehicleState,
    active_permits,
    operators_in_outage,
)


@dataclass(frozen=True, slots=True)
class FleetContext:
    """Which permit governs each vehicle at ``now``, outages considered.

    ``op_idx[i]`` indexes ``permits`` for vehicle ``i``, or is -1 when the
    vehicle is not evaluated (no permit in force, or its feed is in outage).
    """

    permits: tuple[Permit, ...]
    op_idx: np.ndarray
    suspended_operators: frozenset[str]

    @classmethod
    def build(
        cls,
        snapshots: Sequence[VehicleSnapshot],
        permits: Iterable[Permit],
        now: datetime,
        outages: Iterable[OutageSpan] = (),
    ) -> FleetContext:
        active = active_permits(permits, now)
        ordered = tuple(active[k] for k in sorted(active))
        index = {p.operator: i for i, p in enumerate(ordered)}
        down = operators_in_outage(outages, now)
        op_idx = np.fromiter(
            (
                -1 if (s.in_outage or s.operator in down) else index.get(s.operator, -1)
                for s in snapshots
            ),
            dtype=np.intp,
            count=len(snapshots),
        )
        return cls(ordered, op_idx, down)

    def per_operator(self, values: list[Any], default: Any) -> np.ndarray:
        """Array indexable by ``op_idx`` (index -1 maps to ``default``)."""
        return np.array([*values, default])


def vehicle_evidence(s: VehicleSnapshot) -> dict[str, Any]:
    """The observation behind a per-vehicle finding (``Finding.to_dict`` makes it JSON)."""
    return {
        "vehicle_key": s.key,
        "gbfs_id": s.gbfs_id,
        "state": s.state.value,
        "position": (s.lon, s.lat),
        "last_seen": s.last_seen,
        "parked_since": s.parked_since,
        "dwell_confidence": s.parked_since_confidence,
        "vehicle_type_id": s.vehicle_type_id,
        "form_factor": s.form_factor,
        "fetch_refs": s.evidence,
    }


def _penalty(permit: Permit, rule: RuleType) -> float | None:
    return permit.penalties_eur.get(str(rule))


def _observed_end(s: VehicleSnapshot, now: datetime) -> datetime:
    """End of the observed dwell: the last sighting, never after ``now``."""
    return s.last_seen if s.last_seen <= now else now


def evaluate_idle(
    snapshots: Sequence[VehicleSnapshot],
    permits: Iterable[Permit],
    now: datetime,
    *,
    outages: Iterable[OutageSpan] = (),
) -> list[Finding]:
    """Rentable (available or reserved) vehicles that have not moved for more than ``max_idle``.

    The idle duration is the observed dwell at this place, ``parked_since`` to
    the last sighting (the DB layer follows rotation links to find
    ``parked_since``). Its confidence follows how it was observed:
    continuous 1.0, across gaps 0.8, rotation-linked 0.7. Disabled vehicles
    fall under the disabled rule instead.
    """
    active = active_permits(permits, now)
    down = operators_in_outage(outages, now)
    out: list[Finding] = []
    for s in snapshots:
        if s.state not in RENTABLE_STATES or s.parked_since is None:
            continue
        p = active.get(s.operator)
        if p is None or p.max_idle is None or s.in_outage or s.operator in down:
            continue
        dwell = _observed_end(s, now) - s.parked_since
        if dwell <= p.max_idle:
            continue
        out.append(
            Finding(
                rule_type=RuleType.IDLE_TOO_LONG,
                operator=s.operator,
                subject_key=s.key,
                status="violation",
                measured=dwell.total_seconds(),
                unit="s",
                threshold=p.max_idle.total_seconds(),
                clause=p.clause("max_idle"),
                observed_at=now,
                permit_version=p.version,
                since=s.parked_since,
                confidence=DWELL_CONFIDENCE.get(s.parked_since_confidence, 0.5),
                penalty_eur=_penalty(p, RuleType.IDLE_TOO_LONG),
                evidence=vehicle_evidence(s),
            )
        )
    return out


def evaluate_disabled(
    snapshots: Sequence[VehicleSnapshot],
    permits: Iterable[Permit],
    now: datetime,
    *,
    outages: Iterable[OutageSpan] = (),
) -> list[Finding]:
    """Vehicles disabled (not rentable, in public space) for more than ``max_disabled``."""
    active = active_permits(permits, now)
    down = operators_in_outage(outages, now)
    out: list[Finding] = []
    for s in snapshots:
        if s.state is not VehicleState.DISABLED or s.disabled_since is None:
            continue
        p = active.get(s.operator)
        if p is None or p.max_disabled is None or s.in_outage or s.operator in down:
            continue
        duration = _observed_end(s, now) - s.disabled_since
        if duration <= p.max_disabled:
            continue
        evidence = vehicle_evidence(s)
        evidence["disabled_since"] = s.disabled_since
        out.append(
            Finding(
                rule_type=RuleType.DISABLED_TOO_LONG,
                operator=s.operator,
                subject_key=s.key,
                status="violation",
                measured=duration.total_seconds(),
                unit="s",
                threshold=p.max_disabled.total_seconds(),
                clause=p.clause("max_disabled"),
                observed_at=now,
                permit_version=p.version,
                since=s.disabled_since,
                confidence=DWELL_CONFIDENCE.get(s.parked_since_confidence, 0.5),
                penalty_eur=_penalty(p, RuleType.DISABLED_TOO_LONG),
                evidence=evidence,
            )
        )
    return out
