"""The rule registry: one declaration (``RuleSpec``) per rule type.

Everything the service knows about a rule type is declared here, once: its id,
what it is about (a vehicle, a zone or an operator), the evaluator that finds
it, the permit terms it reads, whether it is urgent and its default notice
deadline, its names in French and English, its colour and map symbol, and how
it maps to MDS. The engine (``rules.engine.evaluate_all``) loops over
``REGISTRY``; the violation lifecycle, the notice planner, the map (page and
``map.js``, through a JSON config), case files, PDF documents, settings and
translations read it instead of keeping their own lists.

Adding a rule type: write its evaluator (a pure function of an
``EvaluationContext``), add its id to ``rules.findings.RuleType`` and one
``RuleSpec`` below. Order matters: ``REGISTRY`` is in decreasing urgency
(the map rings a vehicle in the colour of its first rule here).

Zone kinds are declared here too (``ZONE_KIND_SPECS``): their names, their
style on the map and whether their layer is shown when the map opens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from rules.count_rules import evaluate_count_rules
from rules.data_rules import (
    evaluate_feed_outage,
    evaluate_feed_staleness,
    evaluate_monthly_availability,
)
from rules.findings import Finding, RuleType
from rules.geo import Located, PreparedCity
from rules.inputs import (
    ZONE_KINDS,
    CountSample,
    FeedHealthSample,
    OutageSpan,
    Permit,
    VehicleSnapshot,
)
from rules.overflow import evaluate_parking_overflow
from rules.parking_rules import (
    evaluate_outside_mandatory_parking,
    evaluate_outside_operating_area,
    evaluate_prohibited_zones,
)
from rules.scheduled_rules import evaluate_scheduled_restrictions
from rules.timing import notice_deadline as timing_notice_deadline
from rules.vehicle_rules import FleetContext, evaluate_disabled, evaluate_idle

SubjectKind = Literal["vehicle", "zone", "operator"]
#: what an evaluator needs: ``data`` (no geometry), ``located`` (the vehicles of
#: operators sharing one GPS tolerance, located in the city prepared with it) or
#: ``city`` (every vehicle in one city, e.g. a capacity shared by all operators)
Needs = Literal["data", "located", "city"]
LANGUAGES: tuple[str, ...] = ("fr", "en")


@dataclass(frozen=True, slots=True)
class EvaluationContext:
    """The inputs of one evaluation, as an evaluator sees them."""

    snapshots: Sequence[VehicleSnapshot]
    permits: Sequence[Permit]
    now: datetime
    outages: Sequence[OutageSpan] = ()
    samples: Sequence[CountSample] = ()
    health: Sequence[FeedHealthSample] = ()
    city: PreparedCity | None = None
    located: Located | None = None
    fleet: FleetContext | None = None

    def require_city(self) -> PreparedCity:
        if self.city is None:
            raise ValueError("this evaluator needs a prepared city")
        return self.city


@dataclass(frozen=True, slots=True)
class Evaluator:
    """A pure function finding one or more rule types (several specs may share one:
    the engine calls each evaluator once per evaluation)."""

    name: str
    needs: Needs
    run: Callable[[EvaluationContext], list[Finding]]


@dataclass(frozen=True, slots=True)
class MdsMapping:
    """How a rule is published in an MDS 2.0 policy (``rules.mds``)."""

    rule_type: Literal["count", "time"]
    rule_units: Literal["devices", "minutes"]
    states: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: published with ``days``/``start_time``/``end_time`` (time-bounded rules)
    time_bounded: bool = False


@dataclass(frozen=True, slots=True)
class RuleSpec:
    id: RuleType
    subject: SubjectKind
    evaluator: Evaluator
    #: permit clauses (TOML keys) the rule reads; ``Finding.clause`` names one of them
    permit_terms: tuple[str, ...]
    labels: Mapping[str, str]  # language -> name
    colour: str  # "#rrggbb", the vehicle's ring on the map, chips in lists
    symbol: str  # one character shown beside the name on the map and in lists
    urgent: bool = False
    #: the notice deadline for this rule unless the permit states one
    #: (``[notices.deadlines]``); None: the permit's day/night deadline
    deadline: timedelta | None = None
    mds: MdsMapping | None = None
    #: the zone kind whose zones this rule enforces, if any
    zone_kind: str | None = None

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels["en"]


@dataclass(frozen=True, slots=True)
class ZoneKindSpec:
    kind: str
    labels: Mapping[str, str]
    style: Mapping[str, Any]  # Leaflet path options
    shown: bool  # layer on when the map opens

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels["en"]


# --------------------------------------------------------------------------- evaluators


def _parking(name: str, fn: Callable[..., list[Finding]]) -> Evaluator:
    def run(c: EvaluationContext) -> list[Finding]:
        return fn(
            c.snapshots,
            c.require_city(),
            c.permits,
            c.now,
            outages=c.outages,
            located=c.located,
            fleet=c.fleet,
        )

    return Evaluator(name, "located", run)


#: one pass for the four prohibited zone kinds (each enforced as the permit's
#: ``parking.prohibited_kinds`` says): in water, on tram tracks, no parking, pedestrian
PROHIBITED = _parking("prohibited_zones", evaluate_prohibited_zones)
IDLE = Evaluator(
    "idle", "data", lambda c: evaluate_idle(c.snapshots, c.permits, c.now, outages=c.outages)
)
DISABLED = Evaluator(
    "disabled",
    "data",
    lambda c: evaluate_disabled(c.snapshots, c.permits, c.now, outages=c.outages),
)
COUNTS = Evaluator(
    "counts",
    "data",
    lambda c: evaluate_count_rules(c.samples, c.permits, c.now, outages=c.outages),
)
OVERFLOW = Evaluator(
    "parking_overflow",
    "city",
    lambda c: evaluate_parking_overflow(
        c.snapshots, c.require_city(), c.permits, c.now, outages=c.outages, located=c.located
    ),
)
OUTAGE = Evaluator(
    "feed_outage", "data", lambda c: evaluate_feed_outage(c.outages, c.permits, c.now)
)
STALENESS = Evaluator(
    "feed_staleness",
    "data",
    lambda c: evaluate_feed_staleness(c.health, c.permits, c.now, outages=c.outages),
)
AVAILABILITY = Evaluator(
    "monthly_availability",
    "data",
    lambda c: evaluate_monthly_availability(c.outages, c.permits, c.now, health=c.health),
)
_PARKED = {"available": (), "reserved": (), "non_operational": ()}
_NO_PARKING = MdsMapping("count", "devices", _PARKED)

# --------------------------------------------------------------------------- the rules

REGISTRY: tuple[RuleSpec, ...] = (
    RuleSpec(
        RuleType.IN_WATER,
        "vehicle",
        PROHIBITED,
        ("parking.prohibited_kinds", "penalties.in_water"),
        {"fr": "Dans l’eau", "en": "In water"},
        "#0050d8",
        "≈",
        urgent=True,
        deadline=timedelta(hours=1),
        mds=_NO_PARKING,
        zone_kind="water",
    ),
    RuleSpec(
        RuleType.ON_TRAM_TRACKS,
        "vehicle",
        PROHIBITED,
        ("parking.prohibited_kinds", "penalties.on_tram_tracks"),
        {"fr": "Sur les voies du tramway", "en": "On tram tracks"},
        "#6a1fb0",
        "‡",
        urgent=True,
        deadline=timedelta(minutes=30),
        mds=_NO_PARKING,
        zone_kind="tram_tracks",
    ),
    RuleSpec(
        RuleType.SCHEDULED_RESTRICTION,
        "vehicle",
        Evaluator("scheduled_restriction", "located", evaluate_scheduled_restrictions),
        ("penalties.scheduled_restriction", "notices.deadlines.scheduled_restriction"),
        {"fr": "Dans une zone à accès restreint", "en": "In a restricted zone (market, event)"},
        "#c4003a",
        "⚑",
        urgent=True,
        deadline=timedelta(hours=1),
        mds=MdsMapping("count", "devices", _PARKED, time_bounded=True),
        zone_kind="scheduled_restriction",
    ),
    RuleSpec(
        RuleType.IN_NO_PARKING_AREA,
        "vehicle",
        PROHIBITED,
        ("parking.prohibited_kinds", "penalties.in_no_parking_area"),
        {"fr": "Stationnement en zone interdite", "en": "Parked in a no-parking area"},
        "#c0001b",
        "⊘",
        mds=_NO_PARKING,
        zone_kind="no_parking",
    ),
    RuleSpec(
        RuleType.IN_PEDESTRIAN_AREA,
        "vehicle",
        PROHIBITED,
        ("parking.prohibited_kinds", "penalties.in_pedestrian_area"),
        {"fr": "En zone piétonne", "en": "In a pedestrian area"},
        "#9a4a00",
        "⚠",
        mds=_NO_PARKING,
        zone_kind="pedestrian",
    ),
    RuleSpec(
        RuleType.OUTSIDE_OPERATING_AREA,
        "vehicle",
        _parking("outside_operating_area", evaluate_outside_operating_area),
        ("operating_area.zones", "penalties.outside_operating_area"),
        {"fr": "Hors du périmètre autorisé", "en": "Outside the operating area"},
        "#111111",
        "⬚",
        mds=MdsMapping("count", "devices", _PARKED),
        zone_kind="operating_area",
    ),
    RuleSpec(
        RuleType.OUTSIDE_MANDATORY_PARKING,
        "vehicle",
        _parking("outside_mandatory_parking", evaluate_outside_mandatory_parking),
        ("parking.mandatory", "parking.zones", "parking.districts"),
        {"fr": "Hors des emplacements obligatoires", "en": "Outside mandatory parking areas"},
        "#6b5300",
        "P",
        mds=MdsMapping("count", "devices", _PARKED),
        zone_kind="mandatory_parking",
    ),
    RuleSpec(
        RuleType.DISABLED_TOO_LONG,
        "vehicle",
        DISABLED,
        ("time_limits.max_disabled",),
        {"fr": "Hors service trop longtemps", "en": "Disabled too long"},
        "#b0135f",
        "✖",
        mds=MdsMapping("time", "minutes", {"non_operational": ()}),
    ),
    RuleSpec(
        RuleType.IDLE_TOO_LONG,
        "vehicle",
        IDLE,
        ("time_limits.max_idle",),
        {"fr": "Immobilisation prolongée", "en": "Idle too long"},
        "#6f3f08",
        "◷",
        # issue 11: the stay is measured whatever the state flags
        mds=MdsMapping("time", "minutes", {"available": (), "reserved": (), "non_operational": ()}),
    ),
    RuleSpec(
        RuleType.FLEET_CAP,
        "operator",
        COUNTS,
        ("fleet.cap", "fleet.cap_by_form_factor", "counting"),
        {"fr": "Plafond de flotte dépassé", "en": "Fleet cap exceeded"},
        "#542788",
        "Σ",
        mds=MdsMapping("count", "devices", _PARKED),
    ),
    RuleSpec(
        RuleType.ZONE_CAP,
        "zone",
        COUNTS,
        ("zones.caps", "counting"),
        {"fr": "Plafond de zone dépassé", "en": "Zone cap exceeded"},
        "#b35806",
        "▲",
        mds=MdsMapping("count", "devices", _PARKED),
    ),
    RuleSpec(
        RuleType.ZONE_FLOOR,
        "zone",
        COUNTS,
        ("zones.floors", "counting"),
        {"fr": "Minimum de zone non atteint", "en": "Zone floor not met"},
        "#1b7837",
        "▼",
        mds=MdsMapping("count", "devices", _PARKED),
    ),
    RuleSpec(
        RuleType.PARKING_OVERFLOW,
        "zone",
        OVERFLOW,
        ("parking.share_weight", "fleet.cap"),
        {"fr": "Emplacement saturé", "en": "Parking area overflow"},
        "#c51b7d",
        "⊞",
        mds=MdsMapping("count", "devices", _PARKED),
        zone_kind="mandatory_parking",
    ),
    RuleSpec(
        RuleType.FEED_OUTAGE,
        "operator",
        OUTAGE,
        ("data.max_feed_staleness",),
        {"fr": "Flux indisponible", "en": "Feed outage"},
        "#4d4d4d",
        "⌁",
    ),
    RuleSpec(
        RuleType.FEED_STALENESS,
        "operator",
        STALENESS,
        ("data.max_feed_staleness",),
        {"fr": "Flux non mis à jour", "en": "Stale feed"},
        "#878787",
        "◔",
    ),
    RuleSpec(
        RuleType.MONTHLY_AVAILABILITY,
        "operator",
        AVAILABILITY,
        ("data.min_monthly_availability",),
        {"fr": "Disponibilité mensuelle du flux", "en": "Monthly feed availability"},
        "#2166ac",
        "%",
    ),
)

ZONE_KIND_SPECS: tuple[ZoneKindSpec, ...] = (
    # drawing order: large areas first
    ZoneKindSpec(
        "operating_area",
        {"fr": "Périmètre d’exploitation", "en": "Operating area"},
        {"color": "#12355b", "weight": 2, "dashArray": "6 6", "fillOpacity": 0},
        False,
    ),
    ZoneKindSpec(
        "district",
        {"fr": "Quartiers", "en": "Districts"},
        {"color": "#6b6b6b", "weight": 1, "fillOpacity": 0},
        False,
    ),
    ZoneKindSpec(
        "pedestrian",
        {"fr": "Aires piétonnes", "en": "Pedestrian areas"},
        {"color": "#c46a00", "weight": 1.5, "fillColor": "#f4a93b"},
        True,
    ),
    ZoneKindSpec(
        "no_parking",
        {"fr": "Stationnement interdit", "en": "No parking"},
        {"color": "#b2182b", "weight": 1.5, "fillColor": "#d6604d"},
        True,
    ),
    ZoneKindSpec(
        "scheduled_restriction",
        {"fr": "Restrictions horaires (marchés, événements)", "en": "Timed restrictions"},
        {"color": "#e4003a", "weight": 2, "dashArray": "2 4", "fillColor": "#ff8fab"},
        True,
    ),
    ZoneKindSpec(
        "water",
        {"fr": "Plans d’eau", "en": "Water"},
        {"color": "#1f5f9e", "weight": 1, "fillColor": "#4f94d4"},
        True,
    ),
    ZoneKindSpec(
        "tram_tracks",
        {"fr": "Voies du tram", "en": "Tram tracks"},
        {"color": "#5e2a84", "weight": 2, "fillColor": "#8e63b3"},
        True,
    ),
    ZoneKindSpec(
        "mandatory_parking",
        {"fr": "Aires de stationnement", "en": "Parking areas"},
        {"color": "#1b7837", "weight": 2, "fillColor": "#5aae61"},
        True,
    ),
)

# --------------------------------------------------------------------------- lookups

_BY_ID: dict[str, RuleSpec] = {str(s.id): s for s in REGISTRY}
_ZONE_KINDS: dict[str, ZoneKindSpec] = {z.kind: z for z in ZONE_KIND_SPECS}


def spec(rule: str | RuleType) -> RuleSpec:
    """The declaration of ``rule``; ``KeyError`` for an unknown rule type."""
    return _BY_ID[str(rule)]


def rule_ids() -> tuple[str, ...]:
    """Every rule type, most urgent first."""
    return tuple(_BY_ID)


def rules_about(subject: SubjectKind) -> tuple[str, ...]:
    return tuple(str(s.id) for s in REGISTRY if s.subject == subject)


def urgent_rule_ids() -> tuple[str, ...]:
    return tuple(str(s.id) for s in REGISTRY if s.urgent)


def evaluators() -> list[Evaluator]:
    """Each evaluator once, in registry order."""
    seen: dict[str, Evaluator] = {}
    for s in REGISTRY:
        seen.setdefault(s.evaluator.name, s.evaluator)
    return list(seen.values())


def rule_label(rule: str, lang: str) -> str:
    """The name of ``rule`` in ``lang`` (an unknown code, which is data, shows as itself)."""
    s = _BY_ID.get(rule)
    return s.label(lang) if s is not None else rule.replace("_", " ")


def zone_kind_spec(kind: str) -> ZoneKindSpec | None:
    return _ZONE_KINDS.get(kind)


def zone_kind_label(kind: str, lang: str) -> str:
    z = _ZONE_KINDS.get(kind)
    return z.label(lang) if z is not None else kind.replace("_", " ")


def rule_deadline(permit: Permit, rule: str) -> timedelta | None:
    """The notice deadline for ``rule`` under ``permit``: the permit's
    ``[notices.deadlines]``, else the registry's default, else None (day/night)."""
    own = permit.notices.deadlines.get(rule)
    if own is not None:
        return own
    s = _BY_ID.get(rule)
    return s.deadline if s is not None else None


def notice_deadline(permit: Permit, sent_at: datetime, rules: Iterable[str] = ()) -> datetime:
    """When the operator must have acted on a notice sent at ``sent_at`` naming
    ``rules``: the shortest of the deadlines of its rules, none later than the
    permit's day/night deadline (``rules.timing.notice_deadline``)."""
    deadline = timing_notice_deadline(permit, sent_at)
    for rule in set(rules):
        own = rule_deadline(permit, rule)
        if own is not None:
            deadline = min(deadline, sent_at + own)
    return deadline


def map_rules(lang: str) -> list[dict[str, Any]]:
    """The vehicle rules for the map's JavaScript (JSON), most urgent first."""
    return [
        {"id": str(s.id), "label": s.label(lang), "colour": s.colour, "symbol": s.symbol}
        for s in REGISTRY
        if s.subject == "vehicle"
    ]


def check_registry() -> list[str]:
    """What is inconsistent in the declarations (empty when all is well)."""
    problems = []
    if set(_BY_ID) != {str(r) for r in RuleType}:
        problems.append("REGISTRY and RuleType do not list the same rule types")
    for s in REGISTRY:
        if set(s.labels) != set(LANGUAGES):
            problems.append(f"{s.id}: labels in {sorted(s.labels)}, not {list(LANGUAGES)}")
        if s.zone_kind is not None and s.zone_kind not in ZONE_KINDS:
            problems.append(f"{s.id}: unknown zone kind {s.zone_kind}")
    if set(_ZONE_KINDS) != set(ZONE_KINDS):
        problems.append("ZONE_KIND_SPECS and rules.inputs.ZONE_KINDS differ")
    return problems
