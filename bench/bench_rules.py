"""Benchmark: every rule for 100,000 vehicles against 5,000 zones.

Synthetic but realistic city around Annecy (45.90 N, 6.13 E): one operating
area, the lake, 30 districts, 100 pedestrian areas, 800 no-parking areas,
20 tram lines, a world-covering operator zone and ~4,000 designated parking
bays (8 x 3 m); 4 operators, most vehicles compliant (a few percent in
breach, as in real fleets). Times ``evaluate_all`` (median of several runs,
with a ``PreparedCity`` built once and reused, as the scheduler does) and, in
the same run, a naive per-vehicle, per-zone shapely loop on a subset,
extrapolated to the whole fleet (and checked to agree with the engine).

Run: ``.venv/bin/python bench/bench_rules.py [--vehicles N] [--zones N] [--runs N]``
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon, box

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gbfs_ingest.model import VehicleState
from rules import (
    ParkingTerms,
    Permit,
    PreparedCity,
    VehicleSnapshot,
    Zone,
    build_count_samples,
    evaluate_all,
)

LON0, LAT0 = 6.13, 45.90
M_LAT = 111_320.0
M_LON = M_LAT * math.cos(math.radians(LAT0))
NOW = datetime(2025, 6, 3, 10, 0, tzinfo=UTC)
OPERATORS = ("trotti", "velo", "scoot", "ride")


def _at(dx: float, dy: float) -> tuple[float, float]:
    return LON0 + dx / M_LON, LAT0 + dy / M_LAT


def _blob(rng: np.random.Generator, cx: float, cy: float, r: float, n: int) -> Polygon:
    ang = np.sort(rng.uniform(0, 2 * np.pi, n))
    rad = r * rng.uniform(0.75, 1.0, n)
    return Polygon(
        [_at(cx + q * math.cos(a), cy + q * math.sin(a)) for a, q in zip(ang, rad, strict=True)]
    )


def make_zones(n: int, seed: int = 1) -> list[Zone]:
    rng = np.random.default_rng(seed)
    z: list[Zone] = [
        Zone("area:city", "operating_area", _blob(rng, 0, 0, 6500, 64)),
        Zone("water:lake", "water", _blob(rng, 6200, -5200, 2200, 200)),
        Zone("ride:world", "operating_area", box(-180, -90, 180, 90), operator="ride"),
    ]
    for i in range(6):
        for j in range(5):
            x0, y0 = -6000 + i * 2000, -6000 + j * 2400
            z.append(
                Zone(f"district:{i}-{j}", "district", box(*_at(x0, y0), *_at(x0 + 2000, y0 + 2400)))
            )
    for k in range(100):
        z.append(
            Zone(
                f"ped:{k}",
                "pedestrian",
                _blob(rng, *rng.uniform(-4500, 4500, 2), rng.uniform(30, 90), 12),
            )
        )
    for k in range(800):
        z.append(
            Zone(
                f"nopark:{k}",
                "no_parking",
                _blob(rng, *rng.uniform(-4800, 4800, 2), rng.uniform(10, 30), 10),
            )
        )
    for k in range(20):
        pts = np.cumsum(rng.normal(0, 80, (20, 2)), axis=0) + rng.uniform(-3000, 3000, 2)
        z.append(Zone(f"tram:{k}", "tram_tracks", LineString([_at(*p) for p in pts])))
    k = 0
    while len(z) < n:
        x, y = rng.uniform(-4800, 4800, 2)
        z.append(
            Zone(
                f"bay:{k}",
                "mandatory_parking",
                box(*_at(x, y), *_at(x + 8, y + 3)),
                capacity=int(rng.integers(6, 20)),
            )
        )
        k += 1
    return z


def make_vehicles(zones: list[Zone], n: int, seed: int = 2) -> list[VehicleSnapshot]:
    rng = np.random.default_rng(seed)
    bays = [zz.geometry.bounds for zz in zones if zz.kind == "mandatory_parking"]
    out = []
    for i in range(n):
        u = rng.random()
        if u < 0.2 and bays:
            b = bays[int(rng.integers(len(bays)))]
            lon, lat = rng.uniform(b[0], b[2]), rng.uniform(b[1], b[3])
        else:
            r = 5000 * math.sqrt(rng.random()) if u < 0.985 else rng.uniform(6900, 8000)
            a = rng.uniform(0, 2 * math.pi)
            lon, lat = _at(r * math.cos(a), r * math.sin(a))
        s = rng.random()
        state = (
            VehicleState.AVAILABLE
            if s < 0.85
            else VehicleState.RESERVED
            if s < 0.9
            else VehicleState.DISABLED
        )
        parked = NOW - timedelta(hours=float(rng.exponential(30)))
        disabled = (
            NOW - timedelta(hours=float(rng.exponential(8)))
            if state is VehicleState.DISABLED
            else None
        )
        conf = ("continuous", "across_gaps", "rotation_linked")[int(rng.integers(3))]
        out.append(
            VehicleSnapshot(
                key=f"veh-{i}",
                operator=OPERATORS[i % 4],
                gbfs_id=f"g{i}",
                lat=lat,
                lon=lon,
                state=state,
                last_seen=NOW,
                parked_since=parked,
                parked_since_confidence=conf,
                disabled_since=max(disabled, parked) if disabled else None,
                form_factor="bicycle" if i % 3 == 0 else "scooter_standing",
                evidence=(f"fetch:{i % 97}",),
            )
        )
    return out


def make_permits(n_vehicles: int) -> list[Permit]:
    cap = n_vehicles // 4 - n_vehicles // 400
    return [
        Permit(
            operator=op,
            version=1,
            effective_from=NOW - timedelta(days=90),
            fleet_cap=cap,
            fleet_cap_by_form_factor={"bicycle": cap // 3 + 1},
            max_idle=timedelta(days=5),
            max_disabled=timedelta(hours=24),
            parking=ParkingTerms(
                mandatory=op == "trotti", district_ids=("district:2-2", "district:3-2")
            ),
            zone_caps={"district:2-2": 400},
            zone_floors={"district:0-0": 50},
            penalties_eur={"idle_too_long": 49.0, "in_no_parking_area": 35.0},
        )
        for op in OPERATORS
    ]


def naive_classify(city: PreparedCity, snaps: list[VehicleSnapshot], at: datetime) -> dict:
    """Per vehicle, per zone, one shapely call each: no index, no vectorisation."""
    result = {}
    eff = city.effective_mask(at)
    for i, s in enumerate(snaps):
        x, y = city.project_xy(np.array([s.lon]), np.array([s.lat]))
        p = Point(float(x[0]), float(y[0]))
        for zi, zone in enumerate(city.zones):
            if not eff[zi] or not zone.applies_to(s.operator):
                continue
            if city.grown[zi].intersects(p):
                result[(i, zi)] = (
                    bool(city.inner[zi].contains(p)),
                    bool(city.base[zi].intersects(p)),
                )
    return result


def _timed(fn, runs: int) -> tuple[float, float, object]:
    """Median wall-clock and median CPU seconds of ``fn`` over ``runs`` runs, and its result."""
    wall, cpu, result = [], [], None
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vehicles", type=int, default=100_000)
    ap.add_argument("--zones", type=int, default=5_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--naive-subset", type=int, default=200)
    args = ap.parse_args()

    t = time.perf_counter()
    zones = make_zones(args.zones)
    snaps = make_vehicles(zones, args.vehicles)
    permits = make_permits(args.vehicles)
    gen = time.perf_counter() - t
    print(
        f"machine: {os.cpu_count()} CPU(s), load {os.getloadavg()[0]:.2f}, "
        f"shapely {shapely.__version__}, GEOS {shapely.geos_version_string}"
    )
    print(f"data: {len(snaps):,} vehicles, {len(zones):,} zones (generated in {gen:.1f} s)")

    wall, _, city = _timed(lambda: PreparedCity(zones, tolerance_m=10.0), 1)
    print(f"PreparedCity build, once per zones version: {wall:.3f} s ({city.crs})")
    wall, _, samples = _timed(lambda: build_count_samples(snaps, city, permits, NOW), 1)
    print(f"build_count_samples, once per 5-minute sample: {wall:.3f} s")

    wall, cpu, findings = _timed(
        lambda: evaluate_all(snaps, zones, permits, samples, [], NOW, city=city), args.runs
    )
    print(
        f"evaluate_all, every rule: median {wall:.3f} s wall, {cpu:.3f} s CPU "
        f"over {args.runs} runs -> {len(findings):,} findings"
    )
    for (rule, status), count in sorted(
        Counter((f.rule_type.value, f.status) for f in findings).items()
    ):
        print(f"    {rule:28s} {status:10s} {count:6,}")

    sub = snaps[: args.naive_subset]
    naive_wall, _, naive = _timed(lambda: naive_classify(city, sub, NOW), 1)
    estimate = naive_wall / len(sub) * len(snaps)
    loc = city.locate(sub, NOW)
    fast = {
        (int(v), int(z)): (bool(i), bool(e))
        for v, z, i, e in zip(loc.pair_v, loc.pair_z, loc.pair_inner, loc.pair_exact, strict=True)
    }
    agree = (
        "agree" if fast == naive else f"DISAGREE on {len(set(fast.items()) ^ set(naive.items()))}"
    )
    print(
        f"NAIVE per-vehicle x per-zone shapely loop, zone location only (no rules): "
        f"{naive_wall:.2f} s for {len(sub)} vehicles, EXTRAPOLATED to {len(snaps):,}: "
        f"{estimate:.0f} s; its (vehicle, zone) pairs {agree} with the engine's"
    )
    print(
        f"speed-up x{estimate / wall:,.0f}; target <= 0.5 s: {'met' if wall <= 0.5 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
