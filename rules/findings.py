"""What an evaluator returns: a finding, with its evidence.

A finding is a statement about the data at ``observed_at`` ("now"): either a
``violation`` or an ``uncertain`` case (shown to officers, never billed). The
DB layer turns findings into violations: it opens one on first detection,
keeps it open while the same ``key`` is found again, and closes it when an
evaluation of fresh data no longer returns that key (outages aside: while an
operator is in outage its vehicle and count rules return nothing, and open
violations must be *held*, not closed; see ``rules.engine``).

``key`` is stable: re-evaluating the same data yields the same key, so the DB
layer can deduplicate on it. For per-vehicle rules it is
``rule|operator|vehicle key``; ``since`` carries the start of the episode
(the dwell start for parking rules): when an open violation is found again
with a different ``since``, the vehicle left and came back, and the DB layer
should close the old violation and open a new one.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

Status = Literal["violation", "uncertain"]


class RuleType(enum.StrEnum):
    IDLE_TOO_LONG = "idle_too_long"
    DISABLED_TOO_LONG = "disabled_too_long"
    IN_NO_PARKING_AREA = "in_no_parking_area"
    OUTSIDE_MANDATORY_PARKING = "outside_mandatory_parking"
    OUTSIDE_OPERATING_AREA = "outside_operating_area"
    IN_WATER = "in_water"
    ON_TRAM_TRACKS = "on_tram_tracks"
    IN_PEDESTRIAN_AREA = "in_pedestrian_area"
    FLEET_CAP = "fleet_cap"
    ZONE_CAP = "zone_cap"
    ZONE_FLOOR = "zone_floor"
    PARKING_OVERFLOW = "parking_overflow"
    FEED_OUTAGE = "feed_outage"
    FEED_STALENESS = "feed_staleness"
    MONTHLY_AVAILABILITY = "monthly_availability"
    SCHEDULED_RESTRICTION = "scheduled_restriction"


#: Zone kind -> the rule breached by parking inside it.
PROHIBITED_KIND_RULES: Mapping[str, RuleType] = {
    "no_parking": RuleType.IN_NO_PARKING_AREA,
    "pedestrian": RuleType.IN_PEDESTRIAN_AREA,
    "water": RuleType.IN_WATER,
    "tram_tracks": RuleType.ON_TRAM_TRACKS,
}

#: Confidence attached to a dwell, by how it was observed.
DWELL_CONFIDENCE: Mapping[str, float] = {
    "continuous": 1.0,
    "across_gaps": 0.8,
    "rotation_linked": 0.7,
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule breach (or possible breach) found in the data.

    ``measured``/``unit``/``threshold``: for durations, seconds; for counts,
    devices; for parking rules, the depth in metres of the position inside the
    forbidden zone (or its distance outside the required area) against the GPS
    tolerance (None when not measured: a vehicle far outside the city, inside a
    world-covering zone); for availability, a ratio. ``vehicles_beyond`` names, for count
    rules, the vehicles beyond the cap in a documented, deterministic order.
    ``coverage`` is the fraction of expected data behind the finding (None
    when not applicable). ``evidence`` holds plain values (strings, numbers,
    datetimes, tuples, lists, dicts); ``to_dict`` returns it JSON-ready.
    """

    rule_type: RuleType
    operator: str
    subject_key: str
    status: Status
    measured: float | None
    unit: str
    threshold: float | None
    clause: str
    observed_at: datetime
    permit_version: int | None = None
    since: datetime | None = None
    zone_id: str | None = None
    confidence: float = 1.0
    coverage: float | None = None
    penalty_eur: float | None = None
    vehicles_beyond: tuple[str, ...] = ()
    evidence: Mapping[str, Any] = field(default_factory=dict)
    episode: str | None = None

    @property
    def key(self) -> str:
        """Stable deduplication key (see module docstring)."""
        base = f"{self.rule_type}|{self.operator}|{self.subject_key}"
        return base if self.episode is None else f"{base}|{self.episode}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (datetimes as ISO 8601 strings)."""
        return {
            "key": self.key,
            "rule_type": str(self.rule_type),
            "operator": self.operator,
            "subject_key": self.subject_key,
            "status": self.status,
            "measured": self.measured,
            "unit": self.unit,
            "threshold": self.threshold,
            "clause": self.clause,
            "observed_at": iso(self.observed_at),
            "permit_version": self.permit_version,
            "since": iso(self.since),
            "zone_id": self.zone_id,
            "confidence": self.confidence,
            "coverage": self.coverage,
            "penalty_eur": self.penalty_eur,
            "vehicles_beyond": list(self.vehicles_beyond),
            "evidence": jsonable(self.evidence),
            "episode": self.episode,
        }


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def jsonable(value: Any) -> Any:
    """``value`` with datetimes as ISO 8601 strings and tuples as lists, recursively."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def seconds(value: timedelta) -> float:
    return value.total_seconds()


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Deterministic order: by rule type, operator, then key."""
    return sorted(findings, key=lambda f: (str(f.rule_type), f.operator, f.key))
