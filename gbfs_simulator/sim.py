"""The deterministic simulation of the city's operators.

Time advances in fixed ticks (``config.tick_s``, 60 s by default) from
``start``; every event is aligned on a tick, so the state at any time equals the
state at the last tick and does not depend on how ``advance_to`` was chunked.
Same config + seed + sequence of calls => the same state and the same feeds.
There is no wall clock in here: callers (tests, the server's ``SimClock``)
decide the time.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gbfs_simulator.behaviour import PINNED_CASES, Behaviour
from gbfs_simulator.city import City, default_city
from gbfs_simulator.config import (
    Fault,
    InNoParking,
    Outage,
    ScriptedCase,
    SimConfig,
    TimeSpec,
    default_config,
)
from gbfs_simulator.engine import (
    RIDING,
    STATUS_NAMES,
    Geography,
    OperatorState,
    Vehicle,
)
from gbfs_simulator.faults import FaultBoard, FaultEntry
from gbfs_simulator.positions import resolve_position
from gbfs_simulator.views import CaseInfo, OperatorSnapshot, VehicleView


class Simulation(Behaviour):
    """Operators, vehicles and scripted cases of the simulated city."""

    def __init__(
        self,
        config: SimConfig | None = None,
        seed: int = 0,
        start: datetime | None = None,
        city: City | None = None,
    ) -> None:
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
            o.slug: OperatorState(o, seed) for o in self.config.operators
        }
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

    def view(
        self, op: OperatorState, v: Vehicle, published: dict[int, str] | None = None
    ) -> VehicleView:
        if published is None:
            published = self._published_map(op)
        return VehicleView(
            key=v.key,
            operator=op.cfg.slug,
            public_id=published.get(v.idx, v.public_id),
            lat=v.lat,
            lon=v.lon,
            status=STATUS_NAMES[v.status],
            visible=op.visible(v),
            is_reserved=v.reserved,
            is_disabled=v.disabled,
            battery=round(v.battery, 3),
            last_reported=datetime.fromtimestamp(v.last_reported, UTC),
            station_id=v.station_id,
            case=v.pinned,
        )

    def vehicle(self, key: str) -> VehicleView:
        slug, _, num = key.rpartition("-")
        op = self.ops[slug]
        return self.view(op, op.vehicles[int(num)])

    def _published_map(self, op: OperatorState) -> dict[int, str]:
        """For an every-fetch rotator: vehicle index -> ID in the last fetch."""
        if op.cfg.id_rotation != "every_fetch" or op.last_fetch is None:
            return {}
        order, ids = op.last_fetch
        return {idx: ids[i * 32 : (i + 1) * 32].decode() for i, idx in enumerate(order)}

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
            views = tuple(
                self.view(op, v, published) for v in op.vehicles if include_hidden or op.visible(v)
            )
            riding = sum(1 for v in op.vehicles if v.status == RIDING)
            return OperatorSnapshot(
                operator, self.state_time, op.n_visible, riding, op.cfg.cap, views
            )

    def listed_count(self, operator: str) -> int:
        return self.ops[operator].n_visible

    def case(self, name: str) -> CaseInfo:
        return self._cases[name]

    def cases(self) -> list[CaseInfo]:
        return list(self._cases.values())

    def add_fault(
        self,
        fault: Fault,
        source: str = "admin",
        case: str | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> FaultEntry:
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

    # ------------------------------------------------------------ scheduling

    def _at(self, k: int, event: tuple[Any, ...]) -> None:
        self._agenda.setdefault(k, []).append(event)

    def _schedule_case(self, case: ScriptedCase) -> None:
        start_k = self._tick_of(self.resolve_time(case.start))
        end_k = self._tick_of(self.resolve_time(case.end)) if case.end is not None else None
        start_dt = datetime.fromtimestamp(self.t0 + start_k * self.tick_s, UTC)
        end_dt = (
            datetime.fromtimestamp(self.t0 + end_k * self.tick_s, UTC)
            if end_k is not None
            else None
        )
        info = CaseInfo(
            case.name,
            case.kind,
            case.operator,
            start_dt,
            end_dt,
            zone=getattr(case, "zone", None),
            extra=getattr(case, "extra", 0),
        )
        if isinstance(case, Outage):
            fault = Fault(
                "http_error", operator=case.operator, feeds=case.feeds, status=case.status
            )
            entry = self.add_fault(
                fault,
                "case",
                case.name,
                start_dt.timestamp(),
                end_dt.timestamp() if end_dt else None,
            )
            info = replace(info, fault_id=entry.id)
        elif isinstance(case, PINNED_CASES):
            count = case.count if isinstance(case, InNoParking) else 1
            positions = [resolve_position(self.city, case, self.seed, i) for i in range(count)]
            info = replace(info, positions=tuple((lat, lon) for lon, lat in positions))
        self._cases[case.name] = info
        self._agenda.setdefault(start_k, []).append(("case_start", case))
        if end_k is not None:
            self._agenda.setdefault(max(end_k, start_k + 1), []).append(("case_end", case))
