"""The plain, normalised data model every GBFS version is parsed into.

This module is the only part of ``gbfs_ingest`` that ``rules`` may import:
plain dataclasses, no database, no HTTP, no clock. Times are timezone-aware
UTC ``datetime`` objects; coordinates are WGS 84 (EPSG:4326) degrees.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class FeedType(enum.StrEnum):
    """The GBFS files we know. ``vehicle_status`` covers 1.x/2.x ``free_bike_status``."""

    GBFS = "gbfs"
    MANIFEST = "manifest"
    GBFS_VERSIONS = "gbfs_versions"
    SYSTEM_INFORMATION = "system_information"
    VEHICLE_TYPES = "vehicle_types"
    VEHICLE_STATUS = "vehicle_status"
    STATION_INFORMATION = "station_information"
    STATION_STATUS = "station_status"
    GEOFENCING_ZONES = "geofencing_zones"
    SYSTEM_REGIONS = "system_regions"
    SYSTEM_PRICING_PLANS = "system_pricing_plans"
    SYSTEM_ALERTS = "system_alerts"
    SYSTEM_HOURS = "system_hours"
    SYSTEM_CALENDAR = "system_calendar"
    # GBFS 3.1 (release candidate 3): availability windows of reservable vehicles
    VEHICLE_AVAILABILITY = "vehicle_availability"

    @classmethod
    def from_name(cls, name: str) -> FeedType | None:
        """Map a discovery ``name`` (any version) to a feed type, or None if unknown."""
        if name == "free_bike_status":
            return cls.VEHICLE_STATUS
        try:
            return cls(name)
        except ValueError:
            return None

    def file_name(self, version: str) -> str:
        """The file's own name in a given GBFS version (``free_bike_status`` before 3.0)."""
        if self is FeedType.VEHICLE_STATUS and not version.startswith("3"):
            return "free_bike_status"
        return self.value


class VehicleState(enum.StrEnum):
    """State of a vehicle not in an active rental, as GBFS can tell it."""

    AVAILABLE = "available"
    RESERVED = "reserved"
    DISABLED = "disabled"


class FormFactor(enum.StrEnum):
    BICYCLE = "bicycle"
    CARGO_BICYCLE = "cargo_bicycle"
    CAR = "car"
    MOPED = "moped"
    SCOOTER_STANDING = "scooter_standing"
    SCOOTER_SEATED = "scooter_seated"
    OTHER = "other"


@dataclass(slots=True)
class Finding:
    """One data-quality observation about a fetched file.

    ``severity`` is ``error`` (a record was dropped), ``warning`` (a value was
    coerced or ignored) or ``schema`` (a finding of the official JSON schema).
    ``count`` aggregates identical findings so a 100,000-vehicle feed with the
    same quirk on every record produces one row, not 100,000.
    """

    severity: str
    code: str
    message: str
    path: str = ""
    count: int = 1


@dataclass(slots=True)
class Vehicle:
    """One vehicle as published in one fetch (not in an active rental)."""

    vehicle_id: str
    lat: float | None
    lon: float | None
    is_reserved: bool = False
    is_disabled: bool = False
    vehicle_type_id: str | None = None
    station_id: str | None = None
    home_station_id: str | None = None
    current_range_meters: float | None = None
    current_fuel_percent: float | None = None  # 0..1 as in GBFS 2.2+
    last_reported: datetime | None = None
    pricing_plan_id: str | None = None
    rental_uri: str | None = None

    @property
    def state(self) -> VehicleState:
        if self.is_disabled:
            return VehicleState.DISABLED
        if self.is_reserved:
            return VehicleState.RESERVED
        return VehicleState.AVAILABLE


@dataclass(slots=True)
class VehicleAvailability:
    """One vehicle of GBFS 3.1 ``vehicle_availability``: where it can be booked, and
    when (``availabilities``: ``(from, until)`` windows, ``until`` None = open-ended)."""

    vehicle_id: str
    station_id: str | None
    vehicle_type_id: str | None = None
    pricing_plan_id: str | None = None
    availabilities: list[tuple[datetime, datetime | None]] = field(default_factory=list)


@dataclass(slots=True)
class VehicleType:
    vehicle_type_id: str
    form_factor: FormFactor = FormFactor.OTHER
    propulsion_type: str = "human"
    name: str | None = None
    max_range_meters: float | None = None


@dataclass(slots=True)
class Station:
    """A station (information merged with status when both are known).

    ``is_virtual`` marks the pseudo-stations of dockless operators (GBFS
    ``is_virtual_station``, or a sentinel capacity such as 999,999 docks, or a
    single "station" holding the whole fleet) so they are never taken for docks.
    """

    station_id: str
    name: str | None = None
    lat: float | None = None
    lon: float | None = None
    capacity: int | None = None
    is_virtual: bool = False
    num_vehicles_available: int | None = None
    num_vehicles_disabled: int | None = None
    num_docks_available: int | None = None
    is_installed: bool | None = None
    is_renting: bool | None = None
    is_returning: bool | None = None
    last_reported: datetime | None = None
    region_id: str | None = None


@dataclass(slots=True)
class GeofencingRule:
    vehicle_type_ids: list[str] | None = None
    ride_start_allowed: bool | None = None
    ride_end_allowed: bool | None = None
    ride_through_allowed: bool | None = None
    maximum_speed_kph: float | None = None
    station_parking: bool | None = None


@dataclass(slots=True)
class GeofencingZone:
    """One feature of ``geofencing_zones``: a (multi)polygon as GeoJSON and its rules."""

    name: str | None
    geometry: dict[str, Any]
    rules: list[GeofencingRule] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None


@dataclass(slots=True)
class SystemInformation:
    system_id: str
    name: str | None = None
    operator: str | None = None
    timezone: str | None = None
    language: str | None = None
    url: str | None = None
    email: str | None = None


@dataclass(slots=True)
class Region:
    region_id: str
    name: str | None = None


@dataclass(slots=True)
class PricingPlan:
    plan_id: str
    name: str | None = None
    currency: str | None = None
    price: float | None = None
    is_taxable: bool | None = None
    description: str | None = None


@dataclass(slots=True)
class FeedRef:
    """A feed named by a discovery file."""

    feed_type: FeedType
    url: str
    name: str  # the name as published (e.g. free_bike_status)


@dataclass(slots=True)
class Discovery:
    """What ``gbfs.json`` (or a 3.x ``manifest.json``) says about a system."""

    version: str  # detected GBFS version, e.g. "2.3"
    version_detected: bool  # True when guessed (no ``version`` field)
    language: str | None
    languages: list[str]
    feeds: dict[FeedType, FeedRef]
    ttl: int | None = None
    last_updated: datetime | None = None
    unknown_feeds: list[str] = field(default_factory=list)
    dropped: int = 0  # feed entries dropped as invalid (a file: URL, credentials...)


@dataclass(slots=True)
class ManifestEntry:
    system_id: str
    versions: dict[str, str]  # version -> discovery URL


@dataclass(slots=True)
class ParsedFeed:
    """The result of parsing one fetched file.

    ``records`` is a list of the model objects of that feed type (vehicles,
    stations, zones, ...) or, for singletons such as ``system_information``,
    a one-element list. ``invalid_records`` counts dropped records;
    ``findings`` explains every drop and every coercion.
    """

    feed_type: FeedType
    version: str
    last_updated: datetime | None
    ttl: int | None
    records: list[Any] = field(default_factory=list)
    invalid_records: int = 0
    findings: list[Finding] = field(default_factory=list)
    discovery: Discovery | None = None
    manifest: list[ManifestEntry] | None = None
    # geofencing_zones 3.0: the rules that apply outside every zone.
    global_rules: list[GeofencingRule] = field(default_factory=list)
    # vehicle files read against the previous file (parse/vehicle_memo.py): for each
    # record, the index of the identical record in ``carry_base`` (the previous
    # file's records), or -1. An integer numpy array; None when not known.
    carried_from: Any = None
    carry_base: list[Any] | None = None
