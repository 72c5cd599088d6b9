"""Plain inputs of the rules engine: vehicles, zones, permits, samples, outages.

Everything here is a frozen dataclass with no behaviour beyond small, pure
helpers. Times are timezone-aware ``datetime`` objects (UTC recommended);
coordinates and zone geometries are WGS 84 (EPSG:4326) degrees. The DB layer
builds these from its tables; tests build them by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Literal

from shapely.geometry.base import BaseGeometry

from gbfs_ingest.model import VehicleState
from rules.schedule import Schedule
from rules.stays import StayFacts

DwellConfidence = Literal["continuous", "across_gaps", "rotation_linked"]

ZoneKind = Literal[
    "operating_area",
    "no_parking",
    "mandatory_parking",
    "pedestrian",
    "water",
    "tram_tracks",
    "district",
    "scheduled_restriction",
]
ZONE_KINDS: tuple[str, ...] = (
    "operating_area",
    "no_parking",
    "mandatory_parking",
    "pedestrian",
    "water",
    "tram_tracks",
    "district",
    "scheduled_restriction",
)
#: Zone kinds that apply only at times: each zone of these kinds has a ``Schedule``
#: (and no zone of another kind has one).
SCHEDULED_KINDS: tuple[str, ...] = ("scheduled_restriction",)
#: Zone kinds where parking is forbidden (a vehicle inside is in breach).
PROHIBITED_KINDS: tuple[str, ...] = ("no_parking", "pedestrian", "water", "tram_tracks")

#: "Deployed" = in public space and not on a trip: available, reserved or disabled.
DEPLOYED_STATES: frozenset[VehicleState] = frozenset(
    {VehicleState.AVAILABLE, VehicleState.RESERVED, VehicleState.DISABLED}
)
#: States in which the idle rule applies (rentable, or held for a rider).
RENTABLE_STATES: frozenset[VehicleState] = frozenset(
    {VehicleState.AVAILABLE, VehicleState.RESERVED}
)


@dataclass(frozen=True, slots=True)
class VehicleSnapshot:
    """The last known state of one physical vehicle at evaluation time.

    ``key`` identifies the physical vehicle across GBFS ID rotations (the DB
    layer links rotated IDs by position). ``parked_since`` is the start of the
    current dwell at this place, following rotation links;
    ``parked_since_confidence`` says how that dwell was observed:
    ``continuous`` (seen at every fetch), ``across_gaps`` (some fetches missing
    or the vehicle briefly unlisted) or ``rotation_linked`` (the GBFS id changed
    and the link was made by position only). ``evidence`` holds the fetch ids
    or raw-content hashes the state comes from (first and last at least).
    """

    key: str
    operator: str
    gbfs_id: str
    lat: float
    lon: float
    state: VehicleState
    last_seen: datetime
    parked_since: datetime | None = None
    parked_since_confidence: DwellConfidence = "continuous"
    disabled_since: datetime | None = None
    deployed_since: datetime | None = None
    vehicle_type_id: str | None = None
    form_factor: str | None = None
    evidence: tuple[str, ...] = ()
    in_outage: bool = False
    #: how the stay was observed (None: a hand-made snapshot or a first-definition
    #: stay, whose confidence follows ``parked_since_confidence``)
    stay: StayFacts | None = None


@dataclass(frozen=True, slots=True)
class Zone:
    """A city zone (one version of it).

    ``geometry`` is a shapely geometry in WGS 84; polygons for every kind
    except ``tram_tracks``, which may also be lines (buffered by
    ``buffer_m`` metres on each side, or by the city default). ``operator``
    restricts the zone to one operator (None = all operators).
    ``capacity`` is the number of vehicles a ``mandatory_parking`` area holds.
    ``schedule``: when a zone of a ``SCHEDULED_KINDS`` kind applies (the zone
    version is in force from ``effective_from`` to ``effective_to``; within
    that, the schedule says when the restriction is on).
    """

    id: str
    kind: ZoneKind
    geometry: BaseGeometry
    name: str = ""
    version: int = 1
    effective_from: datetime | None = None
    effective_to: datetime | None = None
    operator: str | None = None
    capacity: int | None = None
    buffer_m: float | None = None
    schedule: Schedule | None = None

    def is_effective(self, at: datetime) -> bool:
        return _in_period(at, self.effective_from, self.effective_to)

    def applies_to(self, operator: str) -> bool:
        return self.operator is None or self.operator == operator


@dataclass(frozen=True, slots=True)
class ParkingTerms:
    """Whether parking is mandatory in designated areas, and where."""

    mandatory: bool = False
    #: mandatory_parking zone ids that count as designated areas (empty = all of them).
    zone_ids: tuple[str, ...] = ()
    #: district / zone ids where the obligation applies (empty = everywhere).
    district_ids: tuple[str, ...] = ()
    #: weight of this operator in the share of each area's capacity
    #: (None = its total fleet cap; see ``rules.count_rules.parking_quotas``).
    share_weight: float | None = None


@dataclass(frozen=True, slots=True)
class DataObligations:
    max_feed_staleness: timedelta = timedelta(minutes=5)
    min_monthly_availability: float | None = 0.99


@dataclass(frozen=True, slots=True)
class NoticeTerms:
    """Deadlines for the operator to act on a notice, by the local time it is sent,
    and per rule type (``deadlines``, rule type -> deadline, whatever the hour;
    rules not listed take ``rules.registry``'s default for the rule, if any)."""

    day_deadline: timedelta = timedelta(hours=2)
    night_deadline: timedelta = timedelta(hours=6)
    day_start: time = time(7, 0)
    day_end: time = time(21, 0)
    #: findings less confident than this are 'uncertain': shown, never noticed
    min_confidence: float | None = None
    deadlines: Mapping[str, timedelta] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LegalClause:
    """The permit's own wording of one clause, quoted in notices."""

    article: str
    text: str


@dataclass(frozen=True, slots=True)
class LegalTerms:
    """What a notice cites: the municipal order, the legal basis, each clause's article."""

    #: e.g. "Arrêté municipal n° 2025-412 du 15 décembre 2025".
    municipal_order: str = ""
    #: e.g. ("Code général de la propriété des personnes publiques, art. L2122-1", ...).
    legal_basis: tuple[str, ...] = ()
    #: clause text keyed by rule type (``idle_too_long``, ``in_water``, ...).
    clauses: Mapping[str, LegalClause] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EscalationTerms:
    """Which act a new notice is: a notice of breach, or a formal notice.

    The next notice to an operator is a formal notice (*mise en demeure*) when,
    within ``lookback`` before it, the operator missed at least
    ``formal_after_missed_deadlines`` deadlines (notices closed ``overdue`` or
    ``partial``) or received at least ``formal_after_notices`` notices; 0
    disables a condition. A penalty statement (*état des pénalités*) follows a
    notice closed with penalties due when ``penalty_statement`` is true.
    """

    formal_after_missed_deadlines: int = 1
    formal_after_notices: int = 0
    lookback: timedelta = timedelta(days=30)
    penalty_statement: bool = True


@dataclass(frozen=True, slots=True)
class CountingMethod:
    """How counts are sampled: on a grid of ``sample_interval`` within operating hours."""

    sample_interval: timedelta = timedelta(minutes=5)
    #: local (start, end) times; None = around the clock. ``end < start`` spans midnight.
    operating_hours: tuple[time, time] | None = None
    #: period over which the evidence of a count finding is summarised.
    window: timedelta = timedelta(hours=24)
    #: below this data coverage a floor breach is only 'uncertain'.
    min_coverage: float = 0.8


@dataclass(frozen=True, slots=True)
class Permit:
    """One version of an operator's permit (titre d'occupation du domaine public)."""

    operator: str
    version: int
    effective_from: datetime
    effective_to: datetime | None = None
    timezone: str = "Europe/Paris"
    fleet_cap: int | None = None
    #: caps per GBFS form factor (bicycle, scooter_standing, ...).
    fleet_cap_by_form_factor: Mapping[str, int] = field(default_factory=dict)
    zone_caps: Mapping[str, int] = field(default_factory=dict)
    zone_floors: Mapping[str, int] = field(default_factory=dict)
    max_idle: timedelta | None = None
    max_disabled: timedelta | None = None
    parking: ParkingTerms = field(default_factory=ParkingTerms)
    prohibited_kinds: tuple[str, ...] = PROHIBITED_KINDS
    #: operating_area zone ids (empty = every operating_area zone applying to the operator).
    operating_area_zone_ids: tuple[str, ...] = ()
    data: DataObligations = field(default_factory=DataObligations)
    notices: NoticeTerms = field(default_factory=NoticeTerms)
    #: EUR per breach, keyed by rule type (see ``rules.findings.RuleType``).
    penalties_eur: Mapping[str, float] = field(default_factory=dict)
    counting: CountingMethod = field(default_factory=CountingMethod)
    gps_tolerance_m: float = 10.0
    mds_provider_id: str | None = None
    name: str = ""
    legal: LegalTerms = field(default_factory=LegalTerms)
    escalation: EscalationTerms = field(default_factory=EscalationTerms)

    def is_effective(self, at: datetime) -> bool:
        return _in_period(at, self.effective_from, self.effective_to)

    def clause(self, name: str) -> str:
        """Reference to a clause of this permit version, e.g. ``permit:trotti:v3#max_idle``."""
        return f"permit:{self.operator}:v{self.version}#{name}"


@dataclass(frozen=True, slots=True)
class FeedHealthSample:
    """One fetch of an operator's vehicle feed, as the ingest saw it."""

    operator: str
    fetched_at: datetime
    ok: bool
    last_updated: datetime | None = None
    vehicle_count: int | None = None
    fetch_ref: str | None = None


@dataclass(frozen=True, slots=True)
class OutageSpan:
    """A period when an operator's feed was unusable (error, empty, vanished)."""

    operator: str
    start: datetime
    end: datetime | None = None  # None = ongoing
    reason: str = ""
    evidence: tuple[str, ...] = ()

    def active_at(self, at: datetime) -> bool:
        return self.start <= at and (self.end is None or at < self.end)


@dataclass(frozen=True, slots=True)
class DeployedVehicle:
    """A vehicle counted in a sample (used to name the vehicles beyond a cap)."""

    key: str
    form_factor: str | None = None
    zone_ids: tuple[str, ...] = ()
    deployed_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class UnplacedVehicle:
    """A vehicle listed without a position (GBFS 2.x allows it for a vehicle docked at a
    station). Decision (docs/rules.md, "Vehicles without a position"): it counts in the
    operator's fleet cap, total and per form factor (it is listed, so not in a rental,
    and an operator must not shrink its counted fleet by leaving positions out), and in
    no rule that needs a place (zone caps and floors, parking, idle, disabled)."""

    key: str
    operator: str
    form_factor: str | None = None
    deployed_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class CountSample:
    """Deployed vehicles of one operator at one sample time.

    ``coverage`` is the fraction of the expected data actually present for
    this sample (1.0 = every expected fetch succeeded; 0 = nothing). Counts
    made on partial data are lower bounds.
    """

    time: datetime
    operator: str
    deployed: int
    coverage: float = 1.0
    by_form_factor: Mapping[str, int] = field(default_factory=dict)
    by_zone: Mapping[str, int] = field(default_factory=dict)
    vehicles: tuple[DeployedVehicle, ...] = ()
    in_outage: bool = False
    #: vehicles listed without a position (:class:`UnplacedVehicle`): included in
    #: ``deployed`` and ``by_form_factor``, in no ``by_zone`` count.
    positionless: int = 0


def _in_period(at: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or start <= at) and (end is None or at < end)


def select_permit(permits: Iterable[Permit], operator: str, at: datetime) -> Permit | None:
    """The permit version of ``operator`` in force at ``at`` (highest version wins), or None."""
    best: Permit | None = None
    for p in permits:
        if (
            p.operator == operator
            and p.is_effective(at)
            and (best is None or p.version > best.version)
        ):
            best = p
    return best


def active_permits(permits: Iterable[Permit], at: datetime) -> dict[str, Permit]:
    """Operator slug -> permit in force at ``at``."""
    out: dict[str, Permit] = {}
    for p in permits:
        if p.is_effective(at):
            cur = out.get(p.operator)
            if cur is None or p.version > cur.version:
                out[p.operator] = p
    return out


def operators_in_outage(outages: Iterable[OutageSpan], at: datetime) -> frozenset[str]:
    return frozenset(o.operator for o in outages if o.active_at(at))
