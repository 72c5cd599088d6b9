"""Building blocks of the simulation: vehicles, per-operator state, the demand model.

Nothing here reads a clock or the global ``random``: every draw comes from a
``random.Random`` owned by an operator and seeded from the simulation's seed.
"""

from __future__ import annotations

import math
import random
from datetime import date

import shapely

from gbfs_simulator.city import City, Zone, distance_m, metres_to_deg
from gbfs_simulator.config import OperatorConfig, derive_seed

DEPOT, PARKED, RIDING, SERVICE = 0, 1, 2, 3
STATUS_NAMES = {DEPOT: "depot", PARKED: "parked", RIDING: "riding", SERVICE: "service"}
LOW_BATTERY = 0.12

# Relative trip demand per local hour (mean 1 after normalisation).
_WEEKDAY = [
    0.15,
    0.08,
    0.05,
    0.04,
    0.05,
    0.2,
    0.6,
    1.6,
    2.2,
    1.2,
    0.9,
    1.1,
    1.5,
    1.3,
    1.1,
    1.2,
    1.6,
    2.2,
    2.1,
    1.6,
    1.2,
    0.9,
    0.6,
    0.3,
]
_WEEKEND = [
    0.3,
    0.2,
    0.12,
    0.08,
    0.06,
    0.1,
    0.2,
    0.4,
    0.7,
    1.1,
    1.5,
    1.7,
    1.8,
    1.8,
    1.9,
    2.0,
    2.0,
    1.9,
    1.7,
    1.5,
    1.2,
    1.0,
    0.8,
    0.5,
]
HOURLY_DEMAND = {
    False: [x * 24 / sum(_WEEKDAY) for x in _WEEKDAY],
    True: [x * 24 / sum(_WEEKEND) for x in _WEEKEND],
}


def period_of(hour: int) -> int:
    """0 morning (06-10), 1 midday (10-16), 2 evening (16-21), 3 night (21-06)."""
    if 6 <= hour < 10:
        return 0
    if 10 <= hour < 16:
        return 1
    if 16 <= hour < 21:
        return 2
    return 3


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth for small means, a rounded normal beyond 30)."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


class Vehicle:
    """One physical vehicle. ``key`` is the simulator's stable identity (never published)."""

    __slots__ = (
        "battery",
        "disabled",
        "elem",
        "epoch",
        "frag",
        "idle_since",
        "idx",
        "key",
        "last_reported",
        "lat",
        "lon",
        "pinned",
        "public_id",
        "recall",
        "reserved",
        "station_id",
        "status",
    )

    def __init__(self, key: str, idx: int, public_id: str) -> None:
        self.key = key
        self.idx = idx
        self.public_id = public_id
        self.lat = 0.0
        self.lon = 0.0
        self.status = DEPOT
        self.reserved = False
        self.disabled = False
        self.battery = 1.0
        self.last_reported = 0  # POSIX seconds
        self.idle_since = 0
        self.pinned: str | None = None  # name of the scripted case holding it
        self.station_id: str | None = None
        self.recall = False  # go back to the depot at the end of the current trip
        self.epoch = 0  # bumped on every status change; stale events are ignored
        self.frag: bytes | None = None  # cached JSON of the fields after the id
        self.elem: bytes | None = None  # cached full JSON element (stable-id operators)


class Pool:
    """A set of vehicle indexes with O(1) add, discard and random pick."""

    __slots__ = ("items", "pos")

    def __init__(self) -> None:
        self.items: list[int] = []
        self.pos: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self.items)

    def add(self, i: int) -> None:
        if i not in self.pos:
            self.pos[i] = len(self.items)
            self.items.append(i)

    def discard(self, i: int) -> None:
        p = self.pos.pop(i, None)
        if p is None:
            return
        last = self.items.pop()
        if p < len(self.items):
            self.items[p] = last
            self.pos[last] = p

    def pick(self, rng: random.Random) -> int:
        return self.items[rng.randrange(len(self.items))]


class OperatorState:
    """Mutable state of one operator; every mutation of a vehicle ends with ``touch``."""

    def __init__(self, cfg: OperatorConfig, seed: int) -> None:
        self.cfg = cfg
        self.seed = seed
        self.rng = random.Random(derive_seed(seed, "behaviour", cfg.slug))
        self.id_rng = random.Random(derive_seed(seed, "ids", cfg.slug))
        self.vehicles: list[Vehicle] = []
        self.pool = Pool()  # rentable vehicles
        self.depot = Pool()  # vehicles in the depot, free for deployment
        self.n_visible = 0
        self.version = 0  # bumped on every change that a feed can show
        self.fetch_no = 0
        self.reshuffles = 0
        self.cap_boost = 0
        self.night_done: date | None = None
        self.last_fetch: tuple[list[int], bytes] | None = None  # every-fetch ids
        kind = "scooter" if "scooter" in cfg.form_factor else "ebike"
        self.vehicle_type_id = f"{cfg.slug}-{kind}"
        self.plan_id = f"{cfg.slug}-standard"

    def new_vehicle(self) -> Vehicle:
        idx = len(self.vehicles)
        v = Vehicle(f"{self.cfg.slug}-{idx:06d}", idx, self.new_public_id())
        self.vehicles.append(v)
        self.depot.add(idx)
        return v

    def spare(self) -> Vehicle:
        """A vehicle from the depot (a new one if the depot is empty)."""
        if self.depot:
            return self.vehicles[self.depot.items[-1]]
        return self.new_vehicle()

    def new_public_id(self) -> str:
        if self.cfg.id_rotation == "never":
            return f"{self.cfg.slug[:3].upper()}{self.id_rng.getrandbits(40):010x}"
        return f"{self.id_rng.getrandbits(128):032x}"

    def visible(self, v: Vehicle) -> bool:
        return v.status == PARKED and (self.cfg.list_disabled or not v.disabled)

    def touch(self, v: Vehicle, was_visible: bool) -> None:
        """Record that ``v`` changed: counters, the rentable pool, cached JSON."""
        now_visible = self.visible(v)
        if now_visible != was_visible:
            self.n_visible += 1 if now_visible else -1
        if (
            v.status == PARKED
            and not v.reserved
            and not v.disabled
            and v.pinned is None
            and not v.recall
            and v.battery >= LOW_BATTERY
        ):
            self.pool.add(v.idx)
        else:
            self.pool.discard(v.idx)
        if v.status == DEPOT and v.pinned is None:
            self.depot.add(v.idx)
        else:
            self.depot.discard(v.idx)
        v.frag = None
        v.elem = None
        self.version += 1

    def reshuffle_ids(self) -> None:
        """Give every vehicle a new published ID at once (positions unchanged)."""
        self.reshuffles += 1
        rng = random.Random(derive_seed(self.seed, "reshuffle", self.cfg.slug, self.reshuffles))
        for v in self.vehicles:
            v.public_id = f"{rng.getrandbits(128):032x}"
            v.elem = None
        self.version += 1


class Geography:
    """Where trips go: hotspots by time of day, drop zones, occasional bad parking."""

    def __init__(self, city: City) -> None:
        self.city = city
        self.hotspots = city.hotspots
        self.cum_weights = [_cumulative([h.weights[p] for h in self.hotspots]) for p in range(4)]
        self.cum_all = _cumulative([sum(h.weights) for h in self.hotspots])
        # drop zones within 900 m of each hotspot (else the nearest one)
        self.near_drop: list[list[Zone]] = []
        for h in self.hotspots:
            dist = sorted(
                (distance_m(h.lon, h.lat, *_centre(z)), i) for i, z in enumerate(city.drop_zones)
            )
            near = [city.drop_zones[i] for d, i in dist if d <= 900] or [
                city.drop_zones[dist[0][1]]
            ]
            self.near_drop.append(near)
        self.pedestrian = city.zones["pedestrian"]

    def pick_hotspot(self, rng: random.Random, period: int | None) -> int:
        cum = self.cum_all if period is None else self.cum_weights[period]
        return _bisect(cum, rng.random() * cum[-1])

    def free_point(self, rng: random.Random, hotspot: int) -> tuple[float, float]:
        """A legal-looking kerbside point near a hotspot: on land, not in a no-parking area."""
        h = self.hotspots[hotspot]
        sigma = h.radius_m / 1.5
        city = self.city
        for _ in range(40):
            dlon, dlat = metres_to_deg(rng.gauss(0, sigma), rng.gauss(0, sigma))
            lon, lat = h.lon + dlon, h.lat + dlat
            if not city.is_land(lon, lat):
                continue
            if any(shapely.contains_xy(z.geom, lon, lat) for z in city.no_parking):
                continue
            if rng.random() < 0.7 and any(
                shapely.contains_xy(z.geom, lon, lat) for z in self.pedestrian
            ):
                continue
            return round(lon, 6), round(lat, 6)
        return round(h.lon, 6), round(h.lat, 6)

    def destination(
        self, rng: random.Random, cfg: OperatorConfig, period: int | None
    ) -> tuple[float, float]:
        r = rng.random()
        if r < cfg.bad_parking:
            zone = self.city.no_parking[rng.randrange(len(self.city.no_parking))]
            return self.city.random_point_in(zone, rng, margin_m=2.0)
        hotspot = self.pick_hotspot(rng, period)
        if r < cfg.bad_parking + cfg.compliance:
            zones = self.near_drop[hotspot]
            return self.city.random_point_in(zones[rng.randrange(len(zones))], rng, 1.0)
        return self.free_point(rng, hotspot)


def _centre(z: Zone) -> tuple[float, float]:
    c = z.geom.centroid
    return c.x, c.y


def _cumulative(weights: list[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def _bisect(cum: list[float], x: float) -> int:
    lo, hi = 0, len(cum) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] > x:
            hi = mid
        else:
            lo = mid + 1
    return lo
