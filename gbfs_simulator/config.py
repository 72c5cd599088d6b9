"""Configuration of a simulation: operators, scripted cases and scheduled faults.

Times in scripted cases and faults are either absolute (timezone-aware
``datetime``) or a ``timedelta`` offset from the simulation's start, so one
config can be reused with any start date. Positions are ``(lat, lon)`` pairs
(the GBFS order) or the name/slug of a zone or landmark of the city.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Literal

TimeSpec = datetime | timedelta
Position = tuple[float, float] | str  # (lat, lon) or a zone / landmark name

SUPPORTED_VERSIONS = ("1.0", "1.1", "2.0", "2.1", "2.2", "2.3", "3.0")
IdRotation = Literal["never", "after_trip", "every_fetch"]


def derive_seed(seed: int, *parts: object) -> int:
    """A stable 64-bit seed from a base seed and labels (independent of PYTHONHASHSEED)."""
    text = "\x1f".join([str(seed), *map(str, parts)]).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


@dataclass(frozen=True)
class OperatorConfig:
    """One simulated operator (one GBFS system).

    ``vehicles`` is the fleet normally deployed in public space; each night the
    operator deploys ``vehicles x U(*deploy_factor)`` (a factor above 1 puts
    the fleet above a permit cap equal to ``vehicles``). ``permit_cap`` is the
    city's cap for this operator (informational, and the base of CapBreach).
    """

    slug: str
    name: str
    version: str = "2.3"
    form_factor: str = "bicycle"  # bicycle | scooter_standing (GBFS 2.3+/3.0 names)
    propulsion_type: str = "electric_assist"
    vehicles: int = 500
    permit_cap: int | None = None
    languages: tuple[str, ...] = ("fr",)
    id_rotation: IdRotation = "after_trip"
    trips_per_vehicle_day: float = 3.0
    compliance: float = 0.3  # share of trips ending in a mandatory parking area
    bad_parking: float = 0.03  # share of trips ending in a no-parking area
    reservation: float = 0.05  # share of trips preceded by a few minutes' reservation
    breakdown: float = 0.01  # chance that a trip leaves the vehicle disabled
    forgotten_repairs: float = 0.25  # share of breakdowns nobody schedules a repair for
    max_range_m: float = 60_000.0
    speed_kmh: float = 15.0
    ttl: int = 0
    stations: bool = False  # publish the drop zones as virtual stations
    list_disabled: bool = True  # False: disabled vehicles vanish (GBFS 1.x habit)
    deploy_factor: tuple[float, float] = (0.94, 1.0)
    static_age_days: int = 30  # last_updated of slow-changing files, days before start
    price_eur: float = 1.0
    per_min_eur: float = 0.20
    vehicle_model: str = "E-bike"
    #: GPS error of a parked vehicle's published position, metres (sigma per axis of
    #: a fresh fix per file; 0.3 % of fixes jump 15-25 m). 0: exact positions. A
    #: realistic value is 2 (docs/ingest.md "Stays": Lime Seattle's jitter).
    gps_jitter_m: float = 0.0

    def __post_init__(self) -> None:
        if self.version not in SUPPORTED_VERSIONS:
            raise ValueError(f"operator {self.slug}: unsupported GBFS version {self.version!r}")
        if not self.slug.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"operator slug must be alphanumeric: {self.slug!r}")
        if not self.languages:
            raise ValueError(f"operator {self.slug}: at least one language")

    @cached_property
    def vtuple(self) -> tuple[int, int]:
        major, minor = self.version.split(".")
        return int(major), int(minor)

    @property
    def cap(self) -> int:
        return self.permit_cap if self.permit_cap is not None else self.vehicles


# ----------------------------------------------------------------------------
# Scripted cases


@dataclass(frozen=True)
class ScriptedCase:
    """Base of every scripted case: a unique ``name``, an operator and a window."""

    name: str
    operator: str
    start: TimeSpec
    end: TimeSpec | None = None

    kind = "case"


@dataclass(frozen=True)
class Abandoned(ScriptedCase):
    """A vehicle parked at ``at`` from ``start`` that nobody rents or moves until ``end``.

    Its published ID stays the same (no trip), except for an every-fetch
    rotating operator, where only its position stays.
    """

    at: Position = "seynod"
    disabled: bool = False
    kind = "abandoned"


@dataclass(frozen=True)
class DisabledLeft(ScriptedCase):
    """A broken (``is_disabled``) vehicle left in place at ``at`` from ``start``."""

    at: Position = "vieille-ville"
    kind = "disabled"


@dataclass(frozen=True)
class RentedReturned(ScriptedCase):
    """A vehicle parked at ``at`` from ``start``, rented every ``every`` for ``ride``
    (absent from the feed meanwhile) and returned to the same spot each time (a
    new id after each trip when the operator rotates ids): never idle for long."""

    at: Position = "seynod"
    every: timedelta = timedelta(hours=6)
    ride: timedelta = timedelta(minutes=20)
    kind = "rented_returned"


@dataclass(frozen=True)
class InLake(ScriptedCase):
    """A vehicle dumped in the lake at ``start``; ``at`` defaults to a point off the Pâquier."""

    at: Position | None = None
    disabled: bool = False
    kind = "in_lake"


@dataclass(frozen=True)
class InNoParking(ScriptedCase):
    """``count`` vehicles parked inside the no-parking zone ``zone`` for the window."""

    zone: str = "paquier"
    count: int = 1
    kind = "no_parking"


@dataclass(frozen=True)
class CapBreach(ScriptedCase):
    """During the window the operator lists at least ``permit cap + extra`` vehicles."""

    extra: int = 10
    kind = "cap_breach"


@dataclass(frozen=True)
class Outage(ScriptedCase):
    """The operator's feeds (or only ``feeds``) answer HTTP ``status`` during the window."""

    feeds: tuple[str, ...] | None = None
    status: int = 503
    kind = "outage"


@dataclass(frozen=True)
class IdReshuffle(ScriptedCase):
    """At ``start`` every published ID of the operator changes at once (positions stay)."""

    kind = "id_reshuffle"


# ----------------------------------------------------------------------------
# Faults

FAULT_KINDS = ("http_error", "timeout", "empty", "stale", "malformed", "wrong_types", "reshuffle")
MALFORMED_MODES = ("truncate", "html", "garbage")


@dataclass(frozen=True)
class Fault:
    """A feed fault, scheduled by config or posted to ``/admin/faults``.

    kinds: ``http_error`` (answer ``status``, default 503; 429 adds Retry-After),
    ``timeout`` (answer only after ``delay_s`` wall-clock seconds), ``empty``
    (vehicle/station list emptied), ``stale`` (``last_updated`` moved back by
    ``stale_by_s``), ``malformed`` (``mode``: truncate | html | garbage),
    ``wrong_types`` (numbers as strings, booleans as 0/1), ``reshuffle`` (every
    published ID of the operator changes once, at ``start``).
    ``operator`` None = every operator; ``feeds`` None = every feed it applies to.
    Without ``end``/``duration`` a fault lasts until removed.
    """

    kind: str
    operator: str | None = None
    feeds: tuple[str, ...] | None = None
    start: TimeSpec | None = None
    end: TimeSpec | None = None
    duration: timedelta | None = None
    status: int = 503
    delay_s: float = 30.0
    stale_by_s: int = 2 * 86400
    mode: str = "truncate"

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if self.kind == "malformed" and self.mode not in MALFORMED_MODES:
            raise ValueError(f"unknown malformed mode {self.mode!r}")
        if not 100 <= self.status <= 599:
            raise ValueError(f"bad HTTP status {self.status}")
        if self.end is not None and self.duration is not None:
            raise ValueError("give end or duration, not both")
        if not 0 <= self.delay_s <= 600:
            raise ValueError("delay_s must be within 0..600")


@dataclass(frozen=True)
class SimConfig:
    operators: tuple[OperatorConfig, ...]
    cases: tuple[ScriptedCase, ...] = ()
    faults: tuple[Fault, ...] = ()
    tick_s: int = 60
    timezone: str = "Europe/Paris"
    extra: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        slugs = [o.slug for o in self.operators]
        if len(set(slugs)) != len(slugs) or not slugs:
            raise ValueError(f"operator slugs must be unique and non-empty: {slugs}")
        names = [c.name for c in self.cases]
        if len(set(names)) != len(names):
            raise ValueError("scripted case names must be unique")
        for c in self.cases:
            if c.operator not in slugs:
                raise ValueError(f"case {c.name}: unknown operator {c.operator!r}")
        if self.tick_s < 1 or 3600 % self.tick_s:
            raise ValueError("tick_s must divide 3600")


def default_operators(vehicles: int = 1500) -> tuple[OperatorConfig, ...]:
    """The three Annecy operators, sharing ``vehicles`` 40 / 35 / 25 %."""
    n1 = max(1, round(vehicles * 0.40))
    n2 = max(1, round(vehicles * 0.35))
    n3 = max(1, vehicles - n1 - n2)
    return (
        OperatorConfig(
            slug="velomax",
            name="VéloMax Annecy",
            version="1.1",
            vehicles=n1,
            permit_cap=math.ceil(n1 * 1.05),
            languages=("fr", "en"),
            id_rotation="never",
            trips_per_vehicle_day=2.5,
            compliance=0.35,
            list_disabled=False,
            ttl=0,
            deploy_factor=(0.93, 0.99),
            vehicle_model="VéloMax e-bike",
        ),
        OperatorConfig(
            slug="trotti",
            name="Trotti",
            version="2.3",
            form_factor="scooter_standing",
            propulsion_type="electric",
            vehicles=n2,
            permit_cap=n2,
            languages=("fr", "en"),
            id_rotation="after_trip",
            trips_per_vehicle_day=3.5,
            compliance=0.2,
            bad_parking=0.05,
            max_range_m=40_000.0,
            speed_kmh=13.0,
            ttl=60,
            deploy_factor=(0.97, 1.06),
            price_eur=1.0,
            per_min_eur=0.25,
            vehicle_model="Trotti S3",
        ),
        OperatorConfig(
            slug="lacbike",
            name="LacBike",
            version="3.0",
            vehicles=n3,
            permit_cap=math.ceil(n3 * 1.1),
            languages=("fr", "en"),
            id_rotation="every_fetch",
            trips_per_vehicle_day=2.0,
            compliance=0.6,
            bad_parking=0.02,
            stations=True,
            ttl=30,
            deploy_factor=(0.95, 1.0),
            price_eur=0.5,
            per_min_eur=0.15,
            vehicle_model="LacBike e-bike",
        ),
    )


def default_cases(operators: tuple[OperatorConfig, ...]) -> tuple[ScriptedCase, ...]:
    """The demo's scripted cases (offsets from the start)."""
    h = lambda n: timedelta(hours=n)  # noqa: E731
    trotti = next(o for o in operators if o.slug == "trotti")
    return (
        Abandoned("abandoned-seynod", "velomax", start=h(1), at=(45.8802, 6.1035)),
        Abandoned("abandoned-cran-gevrier", "lacbike", start=h(2), at=(45.9008, 6.0975)),
        DisabledLeft("disabled-old-town", "trotti", start=h(3), end=h(99), at=(45.8983, 6.1248)),
        InLake("scooter-in-lake", "trotti", start=h(19), at=(45.9012, 6.1432)),
        InNoParking("paquier-lawn", "trotti", start=h(8), end=h(32), zone="paquier", count=3),
        CapBreach(
            "trotti-cap-breach", "trotti", start=h(28), end=h(34), extra=max(3, trotti.cap // 6)
        ),
        Outage("velomax-outage", "velomax", start=h(26), end=h(27)),
        IdReshuffle("trotti-reshuffle", "trotti", start=h(40)),
    )


def default_config(vehicles: int = 1500, *, cases: bool = True) -> SimConfig:
    """The demo city: three operators (GBFS 1.1, 2.3, 3.0) and, optionally, scripted cases."""
    ops = default_operators(vehicles)
    return SimConfig(operators=ops, cases=default_cases(ops) if cases else ())
