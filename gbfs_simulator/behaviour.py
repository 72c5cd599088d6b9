"""The model's mechanics: trips, night work, fleet sizing and scripted cases.

A mixin of ``Simulation`` (which owns the attributes declared below); split out
only to keep modules short. Every draw uses an operator's own ``random.Random``.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from gbfs_simulator.city import City, distance_m
from gbfs_simulator.config import (
    Abandoned,
    CapBreach,
    DisabledLeft,
    IdReshuffle,
    InLake,
    InNoParking,
    RentedReturned,
    ScriptedCase,
)
from gbfs_simulator.engine import (
    DEPOT,
    HOURLY_DEMAND,
    PARKED,
    RIDING,
    SERVICE,
    Geography,
    OperatorState,
    Vehicle,
    period_of,
    poisson,
)
from gbfs_simulator.views import CaseInfo

PINNED_CASES = (Abandoned, DisabledLeft, InLake, InNoParking, RentedReturned)


class Behaviour:
    ops: dict[str, OperatorState]
    city: City
    geo: Geography
    tz: ZoneInfo
    tick_s: int
    t0: int
    k: int
    _agenda: dict[int, list[tuple[Any, ...]]]
    _cases: dict[str, CaseInfo]
    _case_vehicles: dict[str, list[Vehicle]]

    def _tick_of(self, ts: float) -> int:
        """The first tick at or after a POSIX time."""
        return max(0, math.ceil((ts - self.t0) / self.tick_s))

    def _reshuffle(self, operator: str | None) -> None:
        for op in self.ops.values():
            if operator is None or op.cfg.slug == operator:
                op.reshuffle_ids()

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
        if kind in ("case_ride", "case_back"):
            self._rented_returned(kind, event[1], event[2], k, t)
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

    def _vevent(
        self,
        kind: str,
        op: OperatorState,
        v: Vehicle,
        k: int,
        payload: Any = None,
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
                    self._vevent("repair", op, v, rng.randrange(60, 1440 * 2) * 60 // self.tick_s)

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
                self._vevent("ride", op, v, k + 1 + rng.randrange(max(1, 600 // self.tick_s)), dest)
            else:
                self._ride(op, v, k, t, dest)

    def _ride(
        self, op: OperatorState, v: Vehicle, k: int, t: int, dest: tuple[float, float]
    ) -> None:
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
            if (
                v.battery < 0.3
                or (v.disabled and rng.random() < 0.5)
                or (t - v.idle_since > 48 * 3600 and rng.random() < 0.5)
                or rng.random() < 0.06
            ):
                self._set_status(op, v, SERVICE)
                self._vevent("deploy", op, v, morning_k + rng.randrange(spread))
        target = round(cfg.vehicles * rng.uniform(*cfg.deploy_factor))
        deployed = sum(1 for v in op.vehicles if v.status != DEPOT)
        while deployed < target:
            v = op.spare()
            self._set_status(op, v, SERVICE)
            self._vevent("deploy", op, v, morning_k + rng.randrange(spread))
            deployed += 1
        while deployed > target and op.pool and not op.cap_boost:
            v = op.vehicles[op.pool.pick(rng)]
            self._set_status(op, v, DEPOT)
            deployed -= 1

    def _top_up(self, op: OperatorState, t: int, target: int) -> None:
        while op.n_visible < target:
            v = op.spare()
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
        elif isinstance(case, PINNED_CASES):
            keys = []
            for lat, lon in info.positions:
                v = op.spare()
                if op.cfg.id_rotation != "never":
                    v.public_id = op.new_public_id()
                v.pinned = case.name
                v.disabled = isinstance(case, DisabledLeft) or getattr(case, "disabled", False)
                v.battery = 0.6
                self._place(op, v, lon, lat, t)
                keys.append(v.key)
                self._case_vehicles.setdefault(case.name, []).append(v)
                if isinstance(case, RentedReturned):
                    every = max(1, int(case.every.total_seconds() // self.tick_s))
                    self._agenda.setdefault(k + every, []).append(("case_ride", case, v))
            self._cases[case.name] = replace(info, vehicle_keys=tuple(keys))

    def _rented_returned(self, kind: str, case: RentedReturned, v: Vehicle, k: int, t: int) -> None:
        """A scripted rental: the vehicle leaves the feed, then is back at its spot."""
        if v.pinned != case.name:
            return  # the case ended
        op = self.ops[case.operator]
        if kind == "case_ride":
            self._set_status(op, v, RIDING)
            ride = max(1, int(case.ride.total_seconds() // self.tick_s))
            self._agenda.setdefault(k + ride, []).append(("case_back", case, v))
            return
        lat, lon = self._cases[case.name].positions[0]
        if op.cfg.id_rotation != "never":
            v.public_id = op.new_public_id()
        self._place(op, v, lon, lat, t)
        every = max(1, int(case.every.total_seconds() // self.tick_s))
        self._agenda.setdefault(k + every, []).append(("case_ride", case, v))

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
        elif isinstance(case, PINNED_CASES):
            for v in self._case_vehicles.pop(case.name, []):
                v.pinned = None
                self._set_status(op, v, DEPOT)
                v.disabled = False
