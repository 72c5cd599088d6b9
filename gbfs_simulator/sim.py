"""The deterministic simulation of the city's operators.

Time advances in fixed ticks (``config.tick_s``, 60 s by default) from
``start``; every event is aligned on a tick, so the state at any time equals the
state at the last tick and does not depend on how ``advance_to`` was chunked.
Same config + seed + sequence of calls => the same state and the same feeds.
There is no wall clock in here: callers (tests, the server's ``SimClock``)
decide the time.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gbfs_simulator.city import City, default_city, distance_m
from gbfs_simulator.config import (
    Abandoned,
    CapBreach,
    DisabledLeft,
    Fault,
    IdReshuffle,
    InLake,
    InNoParking,
    Outage,
    ScriptedCase,
    SimConfig,
    TimeSpec,
    default_config,
)
from gbfs_simulator.engine import (
    DEPOT,
    HOURLY_DEMAND,
    PARKED,
    RIDING,
    SERVICE,
    STATUS_NAMES,
    Geography,
    OperatorState,
    Vehicle,
    period_of,
    poisson,
)
from gbfs_simulator.faults import FaultBoard, FaultEntry
from gbfs_simulator.positions import resolve_position

_PINNED = (Abandoned, DisabledLeft, InLake, InNoParking)


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


class Simulation:
    """Operators, vehicles and scripted cases of the simulated city."""

    def __init__(self, config: SimConfig | None = None, seed: int = 0,
                 start: datetime | None = None, city: City | None = None) -> None:
        if start is None or start.tzinfo is None:
            raise ValueError("start must be a timezone-aware datetime")
        self.config = config or default_config()
        self.seed = seed
        self.city = city or default_city()
        self.geo = Geography(self.city)
        self.tz = ZoneInfo(self.config.timezone)
        self.tick_s = self.config.tick_s
        self.t0 = int(start.timestamp())
        self.k = 0
        self._now = float(self.t0)
        self.lock = threading.RLock()
        self.faults = FaultBoard()
        self.ops: dict[str, OperatorState] = {
            o.slug: OperatorState(o, seed) for o in self.config.operators}
        self._agenda: dict[int, list[tuple[Any, ...]]] = {}
        self._cases: dict[str, CaseInfo] = {}
        self._case_vehicles: dict[str, list[Vehicle]] = {}
        for op in self.ops.values():
            self._initial_deploy(op)
        for case in self.config.cases:
            self._schedule_case(case)
        for fault in self.config.faults:
            self.add_fault(fault, source="config")
        self._run_events(0)

    # ------------------------------------------------------------------ time

    @property
    def start(self) -> datetime:
        return datetime.fromtimestamp(self.t0, UTC)

    @property
    def now(self) -> datetime:
        """The latest time the simulation was advanced to (UTC)."""
        return datetime.fromtimestamp(self._now, UTC)

    @property
    def state_time(self) -> datetime:
        """The tick the current state belongs to (what feeds call ``last_updated``)."""
        return datetime.fromtimestamp(self.state_ts, UTC)

    @property
    def state_ts(self) -> int:
        return self.t0 + self.k * self.tick_s

    def resolve_time(self, spec: TimeSpec) -> float:
        if isinstance(spec, timedelta):
            return self.t0 + spec.total_seconds()
        if spec.tzinfo is None:
            raise ValueError("datetimes in scripted cases and faults must be timezone-aware")
        return spec.timestamp()

    def _tick_of(self, ts: float) -> int:
        return max(0, math.ceil((ts - self.t0) / self.tick_s))

    def advance_to(self, t: datetime) -> None:
        """Advance to ``t``; an earlier ``t`` (a racing caller) is ignored."""
        ts = t.timestamp()
        with self.lock:
            if ts <= self._now:
                return
            target = int((ts - self.t0) // self.tick_s)
            while self.k < target:
                self.k += 1
                self._process_tick(self.k)
            self._now = ts

    def advance(self, delta: timedelta) -> None:
        self.advance_to(self.now + delta)

    # -------------------------------------------------------------- accessors

    def operator_slugs(self) -> list[str]:
        return list(self.ops)

    def view(self, op: OperatorState, v: Vehicle,
             published: dict[int, str] | None = None) -> VehicleView:
        if published is None:
            published = self._published_map(op)
        return VehicleView(
            key=v.key, operator=op.cfg.slug, public_id=published.get(v.idx, v.public_id),
            lat=v.lat, lon=v.lon, status=STATUS_NAMES[v.status], visible=op.visible(v),
            is_reserved=v.reserved, is_disabled=v.disabled, battery=round(v.battery, 3),
            last_reported=datetime.fromtimestamp(v.last_reported, UTC),
            station_id=v.station_id, case=v.pinned)

    def vehicle(self, key: str) -> VehicleView:
        slug, _, num = key.rpartition("-")
        op = self.ops[slug]
        return self.view(op, op.vehicles[int(num)])

    def _published_map(self, op: OperatorState) -> dict[int, str]:
        """For an every-fetch rotator: vehicle index -> ID in the last fetch."""
        if op.cfg.id_rotation != "every_fetch" or op.last_fetch is None:
            return {}
        order, ids = op.last_fetch
        return {idx: ids[i * 32:(i + 1) * 32].decode() for i, idx in enumerate(order)}

    def published_id(self, key: str) -> str | None:
        """The ID under which the vehicle is (or, for an every-fetch rotator, was last)
        published; None for an every-fetch rotator's vehicle absent from the last fetch."""
        slug, _, num = key.rpartition("-")
        op = self.ops[slug]
        v = op.vehicles[int(num)]
        if op.cfg.id_rotation != "every_fetch":
            return v.public_id
        return self._published_map(op).get(v.idx)

    def snapshot(self, operator: str, include_hidden: bool = False) -> OperatorSnapshot:
        with self.lock:
            op = self.ops[operator]
            published = self._published_map(op)
            views = tuple(self.view(op, v, published) for v in op.vehicles
                          if include_hidden or op.visible(v))
            riding = sum(1 for v in op.vehicles if v.status == RIDING)
            return OperatorSnapshot(operator, self.state_time, op.n_visible, riding,
                                    op.cfg.cap, views)

    def listed_count(self, operator: str) -> int:
        return self.ops[operator].n_visible

    def case(self, name: str) -> CaseInfo:
        return self._cases[name]

    def cases(self) -> list[CaseInfo]:
        return list(self._cases.values())

    def add_fault(self, fault: Fault, source: str = "admin", case: str | None = None,
                  start: float | None = None, end: float | None = None) -> FaultEntry:
        """Register a fault; times default to the fault's own start/end/duration."""
        with self.lock:
            if start is None:
                start = self.resolve_time(fault.start) if fault.start is not None else self._now
            if end is None:
                if fault.end is not None:
                    end = self.resolve_time(fault.end)
                elif fault.duration is not None:
                    end = start + fault.duration.total_seconds()
            if fault.operator is not None and fault.operator not in self.ops:
                raise ValueError(f"unknown operator {fault.operator!r}")
            entry = self.faults.add(fault, start, end, source, case)
            if fault.kind == "reshuffle":
                if start <= self._now:
                    self._reshuffle(fault.operator)
                else:
                    self._at(self._tick_of(start), ("reshuffle", fault.operator))
            return entry

    def _reshuffle(self, operator: str | None) -> None:
        for op in self.ops.values():
            if operator is None or op.cfg.slug == operator:
                op.reshuffle_ids()

    # ------------------------------------------------------------ scheduling

    def _at(self, k: int, event: tuple[Any, ...]) -> None:
        self._agenda.setdefault(k, []).append(event)

    def _schedule_case(self, case: ScriptedCase) -> None:
        start_k = self._tick_of(self.resolve_time(case.start))
        end_k = self._tick_of(self.resolve_time(case.end)) if case.end is not None else None
        start_dt = datetime.fromtimestamp(self.t0 + start_k * self.tick_s, UTC)
        end_dt = (datetime.fromtimestamp(self.t0 + end_k * self.tick_s, UTC)
                  if end_k is not None else None)
        info = CaseInfo(case.name, case.kind, case.operator, start_dt, end_dt,
                        zone=getattr(case, "zone", None), extra=getattr(case, "extra", 0))
        if isinstance(case, Outage):
            fault = Fault("http_error", operator=case.operator, feeds=case.feeds,
                          status=case.status)
            entry = self.add_fault(fault, "case", case.name, start_dt.timestamp(),
                                   end_dt.timestamp() if end_dt else None)
            info = CaseInfo(**{**_asdict(info), "fault_id": entry.id})
        elif isinstance(case, _PINNED):
            count = case.count if isinstance(case, InNoParking) else 1
            positions = [resolve_position(self.city, case, self.seed, i) for i in range(count)]
            info = CaseInfo(**{**_asdict(info), "positions": tuple(
                (lat, lon) for lon, lat in positions)})
        self._cases[case.name] = info
        self._agenda.setdefault(start_k, []).append(("case_start", case))
        if end_k is not None:
            self._agenda.setdefault(max(end_k, start_k + 1), []).append(("case_end", case))

    # ------------------------------------------------------------- the model

    def _process_tick(self, k: int) -> None:
        self._run_events(k)
        t = self.t0 + k * self.tick_s
        local = datetime.fromtimestamp(t, self.tz)
        for op in self.ops.values():
            if 2 <= local.hour < 6 and op.night_done != local.date():
                self._night(op, k, t, local)
            if op.cap_boost:
                self._top_up(op, t, op.cfg.cap + op.cap_boost)
            self._start_trips(op, k, t, local)

    def _run_events(self, k: int) -> None:
        t = self.t0 + k * self.tick_s
        while k in self._agenda:  # handlers may add events for this very tick
            for event in self._agenda.pop(k):
                self._handle(event, k, t)

    def _handle(self, event: tuple[Any, ...], k: int, t: int) -> None:
        kind = event[0]
        if kind == "case_start":
            self._case_start(event[1], k, t)
            return
        if kind == "case_end":
            self._case_end(event[1], t)
            return
        if kind == "reshuffle":
            self._reshuffle(event[1])
            return
        _, slug, idx, epoch, payload = event
        op = self.ops[slug]
        v = op.vehicles[idx]
        if v.epoch != epoch:
            return
        if kind == "ride":
            self._ride(op, v, k, t, payload)
        elif kind == "end":
            self._trip_end(op, v, t, payload)
        elif kind == "repair":
            if v.status == PARKED and v.disabled and v.pinned is None:
                was = op.visible(v)
                v.disabled = False
                v.last_reported = t
                op.touch(v, was)
        elif kind == "deploy":
            self._deploy(op, v, t, payload)

    def _vevent(self, kind: str, op: OperatorState, v: Vehicle, k: int, payload: Any = None,
                ) -> None:
        self._agenda.setdefault(k, []).append((kind, op.cfg.slug, v.idx, v.epoch, payload))

    def _set_status(self, op: OperatorState, v: Vehicle, status: int) -> None:
        was = op.visible(v)
        v.status = status
        v.epoch += 1
        if status != PARKED:
            v.reserved = False
        op.touch(v, was)

    def _place(self, op: OperatorState, v: Vehicle, lon: float, lat: float, t: int) -> None:
        """Park ``v`` at a point (the end of a trip or of a move by the operator)."""
        was = op.visible(v)
        v.lon, v.lat = lon, lat
        v.status = PARKED
        v.epoch += 1
        v.reserved = False
        v.last_reported = t
        v.idle_since = t
        zone = self.city.drop_zone_at(lon, lat) if op.cfg.stations else None
        v.station_id = f"{op.cfg.slug}-{zone.id.split(':', 1)[1]}" if zone else None
        op.touch(v, was)

    def _initial_deploy(self, op: OperatorState) -> None:
        cfg, rng, t = op.cfg, op.rng, self.t0
        fleet = math.ceil(cfg.vehicles * max(1.0, cfg.deploy_factor[1]))
        for _ in range(fleet):
            op.new_vehicle()
        deployed = min(fleet, round(cfg.vehicles * rng.uniform(*cfg.deploy_factor)))
        for v in op.vehicles[:deployed]:
            lon, lat = self.geo.destination(rng, cfg, None)
            v.battery = rng.uniform(0.35, 1.0)
            self._place(op, v, lon, lat, t)
            v.idle_since = v.last_reported = t - rng.randrange(0, 30 * 3600)
            if rng.random() < 0.01:
                was = op.visible(v)
                v.disabled = True
                op.touch(v, was)
                if rng.random() >= cfg.forgotten_repairs:
                    self._vevent("repair", op, v,
                                 rng.randrange(60, 1440 * 2) * 60 // self.tick_s)

    def _start_trips(self, op: OperatorState, k: int, t: int, local: datetime) -> None:
        cfg, rng = op.cfg, op.rng
        demand = HOURLY_DEMAND[local.weekday() >= 5][local.hour]
        lam = len(op.pool) * cfg.trips_per_vehicle_day * demand * self.tick_s / 86400
        n = min(poisson(rng, lam), len(op.pool))
        period = period_of(local.hour)
        for _ in range(n):
            v = op.vehicles[op.pool.pick(rng)]
            dest = self.geo.destination(rng, cfg, period)
            if rng.random() < cfg.reservation:
                was = op.visible(v)
                v.reserved = True
                v.epoch += 1
                op.touch(v, was)
                self._vevent("ride", op, v, k + 1 + rng.randrange(max(1, 600 // self.tick_s)),
                             dest)
            else:
                self._ride(op, v, k, t, dest)

    def _ride(self, op: OperatorState, v: Vehicle, k: int, t: int,
              dest: tuple[float, float]) -> None:
        self._set_status(op, v, RIDING)
        dist = distance_m(v.lon, v.lat, dest[0], dest[1]) * 1.3
        dur = dist / (op.cfg.speed_kmh / 3.6) + op.rng.uniform(60, 300)
        v.battery = max(0.02, v.battery - dist / op.cfg.max_range_m)
        self._vevent("end", op, v, k + max(1, math.ceil(dur / self.tick_s)), dest)

    def _trip_end(self, op: OperatorState, v: Vehicle, t: int, dest: tuple[float, float]) -> None:
        rng = op.rng
        if op.cfg.id_rotation != "never":
            v.public_id = op.new_public_id()
        if v.recall:
            v.recall = False
            self._set_status(op, v, DEPOT)
            return
        self._place(op, v, dest[0], dest[1], t)
        if rng.random() < op.cfg.breakdown:
            was = op.visible(v)
            v.disabled = True
            op.touch(v, was)
            if rng.random() >= op.cfg.forgotten_repairs:
                delay_h = max(1.0, rng.expovariate(1 / 18))
                self._vevent("repair", op, v, self._tick_of(t + delay_h * 3600))

    def _deploy(self, op: OperatorState, v: Vehicle, t: int, where: Any) -> None:
        lon, lat = where if where is not None else self.geo.destination(op.rng, op.cfg, 0)
        if op.cfg.id_rotation != "never":
            v.public_id = op.new_public_id()
        v.battery = 1.0
        v.disabled = False
        self._place(op, v, lon, lat, t)

    def _spare(self, op: OperatorState) -> Vehicle:
        for v in op.vehicles:
            if v.status == DEPOT and v.pinned is None:
                return v
        return op.new_vehicle()

    def _night(self, op: OperatorState, k: int, t: int, local: datetime) -> None:
        """Night work: collect low-battery, broken and idle vehicles; size the fleet."""
        op.night_done = local.date()
        rng, cfg = op.rng, op.cfg
        morning = datetime.combine(local.date(), time(5), tzinfo=self.tz).timestamp()
        morning_k = max(k + 1, self._tick_of(morning))
        spread = max(1, 90 * 60 // self.tick_s)
        for v in op.vehicles:
            if v.status != PARKED or v.pinned is not None:
                continue
            if (v.battery < 0.3 or (v.disabled and rng.random() < 0.5)
                    or (t - v.idle_since > 48 * 3600 and rng.random() < 0.5)
                    or rng.random() < 0.06):
                self._set_status(op, v, SERVICE)
                self._vevent("deploy", op, v, morning_k + rng.randrange(spread))
        target = round(cfg.vehicles * rng.uniform(*cfg.deploy_factor))
        deployed = sum(1 for v in op.vehicles if v.status != DEPOT)
        while deployed < target:
            v = self._spare(op)
            self._set_status(op, v, SERVICE)
            self._vevent("deploy", op, v, morning_k + rng.randrange(spread))
            deployed += 1
        while deployed > target and op.pool and not op.cap_boost:
            v = op.vehicles[op.pool.pick(rng)]
            self._set_status(op, v, DEPOT)
            deployed -= 1

    def _top_up(self, op: OperatorState, t: int, target: int) -> None:
        while op.n_visible < target:
            v = self._spare(op)
            lon, lat = self.geo.destination(op.rng, op.cfg, None)
            self._deploy(op, v, t, (lon, lat))
            self._case_vehicles.setdefault(f"cap:{op.cfg.slug}", []).append(v)

    def _case_start(self, case: ScriptedCase, k: int, t: int) -> None:
        op = self.ops[case.operator]
        info = self._cases[case.name]
        if isinstance(case, CapBreach):
            op.cap_boost += case.extra
            self._top_up(op, t, op.cfg.cap + op.cap_boost)
        elif isinstance(case, IdReshuffle):
            op.reshuffle_ids()
        elif isinstance(case, _PINNED):
            keys = []
            for lat, lon in info.positions:
                v = self._spare(op)
                if op.cfg.id_rotation != "never":
                    v.public_id = op.new_public_id()
                v.pinned = case.name
                v.disabled = isinstance(case, DisabledLeft) or getattr(case, "disabled", False)
                v.battery = 0.6
                self._place(op, v, lon, lat, t)
                keys.append(v.key)
                self._case_vehicles.setdefault(case.name, []).append(v)
            self._cases[case.name] = CaseInfo(**{**_asdict(info), "vehicle_keys": tuple(keys)})

    def _case_end(self, case: ScriptedCase, t: int) -> None:
        op = self.ops[case.operator]
        if isinstance(case, CapBreach):
            op.cap_boost -= case.extra
            if op.cap_boost == 0:
                for v in self._case_vehicles.pop(f"cap:{op.cfg.slug}", []):
                    if v.status == PARKED and v.pinned is None:
                        self._set_status(op, v, DEPOT)
                    elif v.status == RIDING:
                        v.recall = True
        elif isinstance(case, _PINNED):
            for v in self._case_vehicles.pop(case.name, []):
                v.pinned = None
                self._set_status(op, v, DEPOT)
                v.disabled = False


def _asdict(info: CaseInfo) -> dict[str, Any]:
    return {f: getattr(info, f) for f in CaseInfo.__slots__}
