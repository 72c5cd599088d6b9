"""How each rule type of the engine is published in MDS 2.0 Policy: one table.

``MDS_RULES`` holds, per :class:`~rules.findings.RuleType`, the MDS rule type,
the vehicle states it applies to, which policy of the permit it belongs to
(its *facet*), its place in that policy's first-match order, and which
``rate_recurrence`` a penalty is published with. It is the one place the MDS
export reads; the rule registry (``rules.registry``) can take it over as is.

Why several policies per permit (facets). MDS matches a vehicle against a
policy's rules in order and counts it **only for the first rule it matches**.
The permit's constraints are not a partition: a vehicle parked in a bay of the
centre counts for the bay's share, for the centre's zone cap *and* for the
fleet cap. In one ordered list the fleet cap would never see the vehicles in
bays. So each group of rules that *is* a partition (most specific first)
becomes its own policy, and the groups are independent:

* ``parking``: prohibited zones (maximum 0), then each bay's share, then the
  designated areas (no limit), then "no parking outside designated areas"
  (maximum 0) over the districts where parking is mandatory;
* ``zone_caps``: caps and floors per zone; zones that overlap go to separate
  policies (``zone_caps``, ``zone_caps-2``...), so each vehicle counts for
  every capped zone it is in, as the engine counts it;
* ``fleet``: the fleet cap over the operating area (all vehicle types);
* ``fleet_by_vehicle_type``: one cap per vehicle type (disjoint by type);
* ``time``: idle while rentable (``available``, ``reserved``) and disabled
  (``non_operational``), disjoint by state;
* ``event-<hash>``: one policy per one-off event of a scheduled restriction
  zone, from the event's start to its end (weekly windows of such zones are
  time-bounded rules at the head of the ``parking`` policy, from
  ``rules.mds_schedules``).

Penalties. Count rules publish a penalty as ``rate_amount`` (cents) with
``rate_recurrence: once_on_match`` and ``rate_applies_when: out_of_bounds``.
MDS time rules only know rates that recur per time unit (``each_time_unit``,
``per_complete_time_unit``); the permit's penalties are per breach, so a
time rule publishes none (``None`` below) and the policy description states
the amount: a rate per hour or per day would misstate the permit.

Not expressible in MDS Policy (stated in the description, or not at all):
the operating-area rule (MDS rules apply *inside* their geographies; "outside
the operating area" would need the complement of the city), feed outages,
staleness and monthly availability (data obligations), notice deadlines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from rules.findings import RuleType

MdsRuleType = Literal["count", "time", "speed", "user"]
Facet = Literal["parking", "zone_caps", "fleet", "fleet_by_vehicle_type", "time", "event"]

#: the order of the facets' policies in a published document
FACETS: tuple[Facet, ...] = (
    "parking",
    "zone_caps",
    "fleet",
    "fleet_by_vehicle_type",
    "time",
    "event",
)
FACET_TITLES: Mapping[str, str] = MappingProxyType(
    {
        "parking": "parking",
        "zone_caps": "zone caps",
        "fleet": "fleet cap",
        "fleet_by_vehicle_type": "fleet cap per vehicle type",
        "time": "time limits",
        "event": "event restriction",
    }
)

#: ``rate_recurrence`` values the MDS 2.0 schema allows per rule type (policy-rule.yaml)
VALID_RECURRENCES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "count": frozenset({"once_on_match", "once_on_unmatch"}),
        "speed": frozenset({"once_on_match", "once_on_unmatch"}),
        "time": frozenset({"each_time_unit", "per_complete_time_unit"}),
        "user": frozenset(),
    }
)
#: ``rule_units`` per rule type
VALID_UNITS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "count": frozenset({"devices"}),
        "speed": frozenset({"mph", "kph"}),
        "time": frozenset({"seconds", "minutes", "hours", "days"}),
    }
)

#: MDS 2.0 vehicle types (data-types/vehicle-type.yaml); GBFS form factors map onto them.
MDS_VEHICLE_TYPES: frozenset[str] = frozenset(
    {
        "bicycle",
        "bus",
        "cargo_bicycle",
        "car",
        "delivery_robot",
        "moped",
        "motorcycle",
        "scooter_standing",
        "scooter_seated",
        "truck",
        "other",
    }
)

PARKED_STATES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"available": (), "reserved": (), "non_operational": ()}
)


@dataclass(frozen=True, slots=True)
class MdsRuleMapping:
    """How one engine rule type is published (see the module docstring)."""

    mds_rule_type: MdsRuleType
    facet: Facet
    #: first-match order inside the facet's policy: lower comes first (more specific)
    order: int
    states: Mapping[str, tuple[str, ...]]
    #: ``rate_recurrence`` of a penalty; None: the penalty is in the description only
    penalty_recurrence: str | None
    #: the rule name as published (``{zone}``, ``{kind}``, ``{vehicle_type}`` filled in)
    name: str


MDS_RULES: Mapping[RuleType, MdsRuleMapping] = MappingProxyType(
    {
        RuleType.SCHEDULED_RESTRICTION: MdsRuleMapping(
            "count", "parking", 5, PARKED_STATES, None, "Event restriction {zone} {start}"
        ),
        RuleType.IN_NO_PARKING_AREA: MdsRuleMapping(
            "count", "parking", 10, PARKED_STATES, "once_on_match", "No parking: {kind}"
        ),
        RuleType.IN_PEDESTRIAN_AREA: MdsRuleMapping(
            "count", "parking", 10, PARKED_STATES, "once_on_match", "No parking: {kind}"
        ),
        RuleType.IN_WATER: MdsRuleMapping(
            "count", "parking", 10, PARKED_STATES, "once_on_match", "No parking: {kind}"
        ),
        RuleType.ON_TRAM_TRACKS: MdsRuleMapping(
            "count", "parking", 10, PARKED_STATES, "once_on_match", "No parking: {kind}"
        ),
        RuleType.PARKING_OVERFLOW: MdsRuleMapping(
            "count", "parking", 20, PARKED_STATES, "once_on_match", "Parking share {zone}"
        ),
        RuleType.OUTSIDE_MANDATORY_PARKING: MdsRuleMapping(
            "count",
            "parking",
            30,
            PARKED_STATES,
            "once_on_match",
            "No parking outside designated areas",
        ),
        RuleType.ZONE_CAP: MdsRuleMapping(
            "count", "zone_caps", 40, PARKED_STATES, "once_on_match", "Zone cap {zone}"
        ),
        RuleType.ZONE_FLOOR: MdsRuleMapping(
            "count", "zone_caps", 40, PARKED_STATES, None, "Zone floor {zone}"
        ),
        RuleType.FLEET_CAP: MdsRuleMapping(
            "count", "fleet", 50, PARKED_STATES, "once_on_match", "Fleet cap"
        ),
        RuleType.IDLE_TOO_LONG: MdsRuleMapping(
            "time",
            "time",
            60,
            MappingProxyType({"available": (), "reserved": ()}),
            None,
            "Maximum idle time while rentable",
        ),
        RuleType.DISABLED_TOO_LONG: MdsRuleMapping(
            "time",
            "time",
            70,
            MappingProxyType({"non_operational": ()}),
            None,
            "Maximum time disabled",
        ),
    }
)

#: rule types with no MDS Policy form, and why (the policy description states the terms)
NOT_IN_MDS: Mapping[RuleType, str] = MappingProxyType(
    {
        RuleType.OUTSIDE_OPERATING_AREA: "MDS rules apply inside their geographies only",
        RuleType.FEED_OUTAGE: "a data obligation",
        RuleType.FEED_STALENESS: "a data obligation",
        RuleType.MONTHLY_AVAILABILITY: "a data obligation",
    }
)

#: the per-vehicle-type fleet caps: same rule type as the fleet cap, another facet
FLEET_CAP_BY_TYPE = MdsRuleMapping(
    "count", "fleet_by_vehicle_type", 55, PARKED_STATES, "once_on_match", "Fleet cap {vehicle_type}"
)
#: the designated parking areas: matched before "outside", no limit (first-match partition)
DESIGNATED_AREAS = MdsRuleMapping(
    "count", "parking", 25, PARKED_STATES, None, "Designated parking areas"
)


def time_units(seconds: float) -> tuple[str, int]:
    """The largest MDS time unit that states ``seconds`` exactly, and the value in it.

    ``90s`` is ``(seconds, 90)``, ``5d`` is ``(days, 5)``, ``36h`` is ``(hours, 36)``:
    never rounded to a coarser unit. Below one second the value is rounded to the
    nearest second (at least 1): MDS has no finer unit."""
    whole = max(1, round(seconds))
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if whole % size == 0:
            return unit, whole // size
    return "seconds", whole


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def valid_provider_id(value: object) -> bool:
    """An MDS provider id: a UUID written ``8-4-4-4-12`` in lowercase hex (the schema's pattern)."""
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


def permit_mds_problem(mds_provider_id: str | None, vehicle_types: Iterable[str]) -> str | None:
    """Why a permit's MDS terms cannot be published, or None (checked at permit import)."""
    if mds_provider_id is not None and not valid_provider_id(mds_provider_id):
        return (
            "mds_provider_id: expected the MDS provider id, a lowercase UUID such as"
            f" 'c20e08cf-8488-46a6-a66c-5d8fb827f7e0', got {mds_provider_id!r}"
        )
    unknown = sorted(set(vehicle_types) - MDS_VEHICLE_TYPES)
    if unknown:
        return (
            f"fleet.cap_by_form_factor: {', '.join(map(repr, unknown))} is not an MDS vehicle type"
            f" (one of {', '.join(sorted(MDS_VEHICLE_TYPES))})"
        )
    return None
