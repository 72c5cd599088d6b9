"""Read-only views of the simulation's state, returned to callers (tests, admin, record)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class VehicleView:
    """The truth about one vehicle (what the feeds show, plus what they hide)."""

    key: str
    operator: str
    public_id: str
    lat: float
    lon: float
    status: str  # depot | parked | riding | service
    visible: bool
    is_reserved: bool
    is_disabled: bool
    battery: float
    last_reported: datetime
    station_id: str | None
    case: str | None


@dataclass(frozen=True, slots=True)
class OperatorSnapshot:
    operator: str
    time: datetime
    listed: int  # vehicles a vehicle feed lists now
    riding: int
    cap: int
    vehicles: tuple[VehicleView, ...]


@dataclass(frozen=True, slots=True)
class CaseInfo:
    """Where and when a scripted case happens (times aligned on ticks)."""

    name: str
    kind: str
    operator: str
    start: datetime
    end: datetime | None
    vehicle_keys: tuple[str, ...] = ()
    positions: tuple[tuple[float, float], ...] = ()  # (lat, lon)
    zone: str | None = None
    extra: int = 0
    fault_id: str | None = None
