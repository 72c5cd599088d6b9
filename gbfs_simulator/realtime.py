"""Real-time files (vehicle and station status), assembled from cached fragments.

Each listed vehicle's JSON (the fields after its id) is cached on the vehicle
until it changes, so a 100,000-vehicle document costs a list walk and a
``bytes.join``; missing fragments are built with one orjson call.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from gbfs_simulator.config import derive_seed
from gbfs_simulator.engine import PARKED, OperatorState, Vehicle

if TYPE_CHECKING:
    from gbfs_simulator.sim import Simulation


class RealtimeFeeds:
    """Mixin of ``FeedRenderer``: ``vehicle_doc`` and ``station_status``."""

    sim: Simulation

    def _ts(self, op: OperatorState, ts: int) -> Any:
        if op.cfg.vtuple >= (3, 0):
            return datetime.fromtimestamp(ts, self.sim.tz).isoformat()
        return ts

    def station_id(self, op: OperatorState, zone_id: str) -> str:
        return f"{op.cfg.slug}-{zone_id.split(':', 1)[1]}"

    def record_builder(self, op: OperatorState) -> Callable[[Vehicle], dict[str, Any]]:
        """A function giving a vehicle's fields after its id, version flags resolved once."""
        ver = op.cfg.vtuple
        v21, v22, v23, v3 = ver >= (2, 1), ver >= (2, 2), ver >= (2, 3), ver >= (3, 0)
        as_int = ver < (2, 0)
        type_id, plan_id = op.vehicle_type_id, op.plan_id
        max_range = op.cfg.max_range_m if op.cfg.propulsion_type != "human" else None
        tz = self.sim.tz
        stamps: dict[int, str] = {}

        def stamp(ts: int) -> Any:
            s = stamps.get(ts)
            if s is None:
                s = stamps[ts] = datetime.fromtimestamp(ts, tz).isoformat()
            return s

        def build(v: Vehicle) -> dict[str, Any]:
            if as_int:
                return {
                    "lat": v.lat,
                    "lon": v.lon,
                    "is_reserved": int(v.reserved),
                    "is_disabled": int(v.disabled),
                }
            d: dict[str, Any] = {
                "lat": v.lat,
                "lon": v.lon,
                "is_reserved": v.reserved,
                "is_disabled": v.disabled,
            }
            if v21:
                d["vehicle_type_id"] = type_id
                d["last_reported"] = stamp(v.last_reported) if v3 else v.last_reported
                if max_range is not None:
                    d["current_range_meters"] = round(v.battery * max_range)
                if v.station_id is not None:
                    d["station_id"] = v.station_id
            if v22:
                d["pricing_plan_id"] = plan_id
            if v23:
                d["current_fuel_percent"] = round(v.battery, 2)
            return d

        return build

    def fill_fragments(self, op: OperatorState, vehicles: list[Vehicle]) -> None:
        """Cache on each vehicle lacking one the JSON of its fields after the id
        (``"lat":...}``). One orjson call for all of them, split on ``,{`` (safe:
        no value the simulator writes contains a brace)."""
        missing = [v for v in vehicles if v.frag is None]
        if not missing:
            return
        build = self.record_builder(op)
        parts = orjson.dumps([build(v) for v in missing])[2:-1].split(b",{")
        for v, part in zip(missing, parts, strict=True):
            v.frag = part

    def _header(self, op: OperatorState, key: bytes) -> bytes:
        head = b'{"last_updated":' + orjson.dumps(self._ts(op, self.sim.state_ts))
        head += b',"ttl":' + str(op.cfg.ttl).encode()
        if op.cfg.vtuple >= (1, 1):
            head += b',"version":"' + op.cfg.version.encode() + b'"'
        return head + b',"data":{"' + key + b'":['

    def warm(self) -> None:
        """Build every listed vehicle's JSON fragment now (no fetch is counted), so
        that the first request at 100,000 vehicles costs no more than the next ones."""
        with self.sim.lock:
            for op in self.sim.ops.values():
                self.fill_fragments(op, [v for v in op.vehicles if v.status == PARKED])

    def vehicle_doc(self, op: OperatorState) -> bytes:
        """``free_bike_status`` / ``vehicle_status``: every listed vehicle, in index order."""
        v3 = op.cfg.vtuple >= (3, 0)
        id_open = b'{"vehicle_id":"' if v3 else b'{"bike_id":"'
        all_listed = op.cfg.list_disabled
        listed = [v for v in op.vehicles if v.status == PARKED and (all_listed or not v.disabled)]
        jitter = op.cfg.gps_jitter_m > 0
        if jitter:
            frags = self._jittered(op, listed)
        else:
            self.fill_fragments(op, listed)
            frags = [v.frag for v in listed]  # type: ignore[misc]
        if op.cfg.id_rotation == "every_fetch":
            op.fetch_no += 1
            rng = random.Random(derive_seed(self.sim.seed, "fetch", op.cfg.slug, op.fetch_no))
            ids = rng.randbytes(16 * len(listed)).hex().encode()
            parts = [
                id_open + ids[32 * i : 32 * i + 32] + b'",' + frag for i, frag in enumerate(frags)
            ]
            op.last_fetch = ([v.idx for v in listed], ids)
        else:
            parts = []
            for v, frag in zip(listed, frags, strict=True):
                if jitter:
                    parts.append(id_open + v.public_id.encode() + b'",' + frag)
                    continue
                e = v.elem
                if e is None:
                    e = v.elem = id_open + v.public_id.encode() + b'",' + frag
                parts.append(e)
        key = b"vehicles" if v3 else b"bikes"
        return self._header(op, key) + b",".join(parts) + b"]}}"

    def _jittered(self, op: OperatorState, listed: list[Vehicle]) -> list[bytes]:
        """Each listed vehicle's fields with a fresh GPS fix: a 2-D Gaussian error of
        ``gps_jitter_m`` per axis, and 0.3 % of fixes off by 15-25 m (the jumps seen in
        real series). Deterministic for a simulated time (same file on a refetch)."""
        rng = random.Random(derive_seed(self.sim.seed, "gps", op.cfg.slug, self.sim.state_ts))
        sigma = op.cfg.gps_jitter_m
        build = self.record_builder(op)
        out = []
        for v in listed:
            dx, dy = rng.gauss(0.0, sigma), rng.gauss(0.0, sigma)
            if rng.random() < 0.003:
                d, b = rng.uniform(15.0, 25.0), rng.uniform(0.0, 2 * math.pi)
                dx, dy = dx + d * math.cos(b), dy + d * math.sin(b)
            rec = build(v)
            rec["lat"] = round(v.lat + dy / 111_132.0, 7)
            rec["lon"] = round(v.lon + dx / (111_320.0 * math.cos(math.radians(v.lat))), 7)
            out.append(orjson.dumps(rec)[1:])
        return out

    def station_status(self, op: OperatorState) -> bytes:
        ver = op.cfg.vtuple
        avail: dict[str, int] = {}
        disabled: dict[str, int] = {}
        # GBFS: num_vehicles_available counts the vehicles a rider can take now; a
        # reserved vehicle is not one (the vehicle feed lists it with is_reserved), and
        # station_status has no field for reserved vehicles, so it is in neither count.
        for v in op.vehicles:
            if v.status == PARKED and v.station_id is not None:
                if v.disabled:
                    bucket = disabled
                elif v.reserved:
                    continue
                else:
                    bucket = avail
                bucket[v.station_id] = bucket.get(v.station_id, 0) + 1
        ts = self._ts(op, self.sim.state_ts)
        flag = (lambda b: b) if ver >= (2, 0) else int
        stations = []
        for z in self.sim.city.drop_zones:
            sid = self.station_id(op, z.id)
            n = avail.get(sid, 0)
            st: dict[str, Any] = {"station_id": sid}
            st["num_vehicles_available" if ver >= (3, 0) else "num_bikes_available"] = n
            if ver >= (2, 1):
                st["vehicle_types_available"] = [
                    {"vehicle_type_id": op.vehicle_type_id, "count": n}
                ]
            if ver < (2, 0):
                st["num_docks_available"] = max(0, (z.capacity or 0) - n)
            st["num_bikes_disabled" if ver < (3, 0) else "num_vehicles_disabled"] = disabled.get(
                sid, 0
            )
            st.update(
                is_installed=flag(True),
                is_renting=flag(True),
                is_returning=flag(True),
                last_reported=ts,
            )
            stations.append(st)
        doc: dict[str, Any] = {"last_updated": ts, "ttl": op.cfg.ttl}
        if ver >= (1, 1):
            doc["version"] = op.cfg.version
        doc["data"] = {"stations": stations}
        return orjson.dumps(doc)
