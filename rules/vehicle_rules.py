"""Per-vehicle time rules (idle too long, disabled too long) and shared helpers.

Both measure the vehicle's current stay (docs/ingest.md "Stays"):
``idle_too_long`` its length whatever the state flags (available, reserved or
disabled: a disabled vehicle that has not moved is the likeliest abandoned one),
``disabled_too_long`` the time disabled within it. The finding's confidence is
the stay's (``rules.stays``); below the permit's ``notices.min_confidence`` the
finding is ``uncertain``.

Outage-aware: a vehicle whose operator's feed is in outage at ``now`` (an
active ``OutageSpan``, or ``in_outage`` on the snapshot) yields no finding;
the DB layer holds its open violations until the feed is back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from rules.findings import DWELL_CONFIDENCE, Finding, RuleType
from rules.inputs import (
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
    out: dict[str, Any] = {
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
    if s.stay is not None and s.parked_since is not None:
        out["stay"] = s.stay.to_evidence(_stay_seconds(s))
    return out


def _stay_seconds(s: VehicleSnapshot) -> float:
    return 0.0 if s.parked_since is None else (s.last_seen - s.parked_since).total_seconds()


def stay_confidence_of(s: VehicleSnapshot) -> float:
    """The confidence of the vehicle's stay (first-definition stays: by how observed)."""
    if s.stay is not None:
        return s.stay.confidence(_stay_seconds(s))
    return DWELL_CONFIDENCE.get(s.parked_since_confidence, 0.5)


def _duration_rule(
    rule: RuleType,
    clause: str,
    snapshots: Sequence[VehicleSnapshot],
    permits: Iterable[Permit],
    now: datetime,
    outages: Iterable[OutageSpan],
    disabled: bool,
) -> list[Finding]:
    """Vehicles in a state (disabled, or rentable) since longer than the permit allows.

    The duration runs from the episode start (``disabled_since`` or
    ``parked_since``) to the last sighting, never past ``now``.
    """
    active = active_permits(permits, now)
    down = operators_in_outage(outages, now)
    limits: dict[str, tuple[Permit, timedelta, datetime]] = {}
    for op, p in active.items():
        limit = p.max_disabled if disabled else p.max_idle
        if limit is not None and op not in down:
            limits[op] = (p, limit, now - limit)
    out: list[Finding] = []
    for s in snapshots:
        start = s.disabled_since if disabled else s.parked_since
        if start is None:
            continue
        entry = limits.get(s.operator)
        # cheap necessary condition first: the episode started before now - limit
        if entry is None or start >= entry[2] or s.in_outage:
            continue
        if disabled and s.state is not VehicleState.DISABLED:
            continue
        p, limit, _ = entry
        duration = (s.last_seen if s.last_seen <= now else now) - start
        if duration <= limit:
            continue
        evidence = vehicle_evidence(s)
        if disabled:
            evidence["disabled_since"] = start
        confidence = stay_confidence_of(s)
        floor = p.notices.min_confidence
        if floor is not None:
            evidence["min_confidence_for_notice"] = floor
        out.append(
            Finding(
                rule_type=rule,
                operator=s.operator,
                subject_key=s.key,
                status="uncertain" if floor is not None and confidence < floor else "violation",
                measured=duration.total_seconds(),
                unit="s",
                threshold=limit.total_seconds(),
                clause=p.clause(clause),
                observed_at=now,
                permit_version=p.version,
                since=start,
                confidence=confidence,
                penalty_eur=p.penalties_eur.get(str(rule)),
                evidence=evidence,
            )
        )
    return out


def evaluate_idle(
    snapshots: Sequence[VehicleSnapshot],
    permits: Iterable[Permit],
    now: datetime,
    *,
    outages: Iterable[OutageSpan] = (),
) -> list[Finding]:
    """Vehicles whose stay has lasted more than ``max_idle``, whatever their state flags.

    The idle duration is the stay, ``parked_since`` to the last sighting (the
    ingest carries a stay across linked ID rotations, bridged gaps and state
    changes in place). Its confidence is the stay's (``rules.stays``; for
    first-definition stays: continuous 1.0, across gaps 0.8, rotation-linked 0.7).
    """
    return _duration_rule(
        RuleType.IDLE_TOO_LONG, "max_idle", snapshots, permits, now, outages, disabled=False
    )


def evaluate_disabled(
    snapshots: Sequence[VehicleSnapshot],
    permits: Iterable[Permit],
    now: datetime,
    *,
    outages: Iterable[OutageSpan] = (),
) -> list[Finding]:
    """Vehicles disabled (not rentable, in public space) for more than ``max_disabled``,
    counted from ``disabled_since`` (when the vehicle became disabled within its
    stay), with the confidence of the stay."""
    return _duration_rule(
        RuleType.DISABLED_TOO_LONG, "max_disabled", snapshots, permits, now, outages, disabled=True
    )
