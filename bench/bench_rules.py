"""Benchmark: every rule for 100,000 vehicles against 5,000 zones.

Synthetic but realistic city around Annecy (45.90 N, 6.13 E): one operating
area, the lake, 30 districts, 100 pedestrian areas, 800 no-parking areas,
20 tram lines, a world-covering operator zone and ~4,000 designated parking
bays (8 x 3 m); 4 operators, most vehicles compliant (a few percent in
breach, as in real fleets). Times ``evaluate_all`` (median of several runs,
with a ``PreparedCity`` built once and reused, as the scheduler does) and, in
the same run, a naive per-vehicle, per-zone shapely loop on a subset,
extrapolated to the whole fleet (and checked to agree with the engine).

With ``--db``, also the database side, end to end, on the same city and fleet:
the vehicles stored by the ingest (three polls: 6 days ago, 12 h ago, now), the
zones and permits imported, then the time to load the 100,000 snapshots from
PostGIS (current state and as of a past time), to take a count sample, and to
evaluate every rule with the violation lifecycle (``evaluate_rules``: first
run, which opens every violation, then a steady-state run). Needs the server
of ``var/database_url`` (or ``TEST_DATABASE_URL``); a scratch database is
created and dropped.

Run: ``.venv/bin/python bench/bench_rules.py [--vehicles N] [--zones N] [--runs N] [--db]``
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
import orjson
import shapely
from shapely.geometry import LineString, Point, Polygon, box

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gbfs_ingest.model import VehicleState
from rules import (
    EvaluationInputs,
    ParkingTerms,
    Permit,
    PreparedCity,
    VehicleSnapshot,
    Zone,
    build_count_samples,
    evaluate_all,
    evaluate_checked,
    prepare_zones,
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
    ap.add_argument("--db", action="store_true", help="also the database side, end to end")
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
    checked, _, prepared = _timed(lambda: prepare_zones(zones, tolerance_m=10.0), 1)
    print(
        f"prepare_zones (every zone checked, then built): {checked:.3f} s,"
        f" x{checked / wall:.2f} the bare build; {len(prepared.issues)} issues"
    )
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
    inputs = EvaluationInputs(snaps, permits, samples, [], NOW, city=city)
    guarded, _, _ = _timed(lambda: evaluate_checked(inputs), args.runs)
    print(
        f"evaluate_checked (permits checked, bulkhead): median {guarded:.3f} s,"
        f" x{guarded / wall:.2f} evaluate_all"
    )

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
    if args.db:
        bench_database(zones, snaps, args.runs)


# --------------------------------------------------------------------------- database side


def _permit_text(op: str, cap: int) -> str:
    mandatory = 'mandatory = true\ndistricts = ["district:2-2", "district:3-2"]\n'
    return (
        f'operator = "{op}"\nversion = 1\neffective_from = 2025-01-01T00:00:00Z\n'
        f"[fleet]\ncap = {cap}\ncap_by_form_factor = {{ bicycle = {cap // 3 + 1} }}\n"
        '[zones]\ncaps = { "district:2-2" = 400 }\nfloors = { "district:0-0" = 50 }\n'
        '[time_limits]\nmax_idle = "5d"\nmax_disabled = "24h"\n'
        f"[parking]\n{mandatory if op == 'trotti' else ''}"
        "[penalties]\nidle_too_long = 49\nin_no_parking_area = 35\n"
    )


def bench_database(zones: list[Zone], snaps: list[VehicleSnapshot], runs: int) -> None:
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url
    from sqlalchemy.orm import Session

    from fleet_monitor.database import make_engine, upgrade
    from fleet_monitor.settings import RulesSettings, normalise_database_url
    from fleet_monitor.violations import (
        CityCache,
        evaluate_rules,
        import_permit,
        import_zones,
        load_snapshots,
        sample_counts,
    )
    from gbfs_ingest.config import IngestSettings
    from gbfs_ingest.model import FeedType
    from gbfs_ingest.process import load_feed_row, process_body
    from gbfs_ingest.registry import ensure_feed, ensure_operator
    from gbfs_ingest.vehicle_store import VehicleStateCache

    root = Path(__file__).resolve().parents[1]
    server = os.environ.get("TEST_DATABASE_URL") or (root / "var" / "database_url").read_text()
    base = make_url(normalise_database_url(server.strip()))
    name = f"fm_bench_rules_{uuid.uuid4().hex[:6]}"
    admin = base.set(drivername="postgresql", database="postgres")
    admin_url = admin.render_as_string(hide_password=False)
    url = base.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    try:
        upgrade(url)
        engine = make_engine(url, pool_size=2)
        rng = np.random.default_rng(3)
        ingest = IngestSettings(validate_schema=False)
        t0 = time.perf_counter()
        for op in OPERATORS:
            mine = [s for s in snaps if s.operator == op]
            cache = VehicleStateCache()
            with Session(engine) as ses, ses.begin():
                op_id = ensure_operator(ses, op, op, None)
                feed = ensure_feed(
                    ses,
                    op_id,
                    FeedType.VEHICLE_STATUS,
                    "free_bike_status",
                    f"file:///{op}.json",
                    "2.3",
                )
            # 6 days ago all here; 12 h ago 97 % elsewhere; now 5 % moved again
            lat = np.array([s.lat for s in mine])
            lon = np.array([s.lon for s in mine])
            for when, share in (
                (timedelta(days=6), 0.0),
                (timedelta(hours=12), 0.97),
                (timedelta(0), 0.05),
            ):
                moved = rng.random(len(mine)) < share
                lat = np.where(moved, lat + 0.0005, lat)
                bikes = [
                    {
                        "bike_id": s.key,
                        "lat": float(a),
                        "lon": float(b),
                        "is_disabled": s.state is VehicleState.DISABLED,
                        "is_reserved": s.state is VehicleState.RESERVED,
                        "vehicle_type_id": s.form_factor,
                    }
                    for s, a, b in zip(mine, lat, lon, strict=True)
                ]
                at = NOW - when
                body = orjson.dumps(
                    {
                        "last_updated": int(at.timestamp()),
                        "ttl": 0,
                        "version": "2.3",
                        "data": {"bikes": bikes},
                    }
                )
                with Session(engine) as ses, ses.begin():
                    process_body(
                        ses,
                        load_feed_row(ses, feed),
                        body,
                        fetched_at=at,
                        settings=ingest,
                        cache=cache,
                        live=False,
                        fetch_meta={},
                    )
        stored = time.perf_counter() - t0
        with Session(engine) as ses, ses.begin():
            for kind in sorted({z.kind for z in zones}):
                import_zones(
                    ses,
                    [z for z in zones if z.kind == kind and z.operator is None],
                    kind=kind,
                    operator=None,
                    now=NOW,
                )
            import_zones(
                ses,
                [z for z in zones if z.operator == "ride"],
                kind="operating_area",
                operator="ride",
                now=NOW,
            )
            for op in OPERATORS:
                import_permit(
                    ses,
                    _permit_text(op, len(snaps) // 4 - len(snaps) // 400),
                    default_tolerance_m=10.0,
                )
        with psycopg.connect(
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
            autocommit=True,
        ) as c:
            c.execute("ANALYZE")
        print(
            f"database: {len(snaps):,} vehicles stored by the ingest (3 polls) in {stored:.1f} s,"
            f" {len(zones):,} zones and {len(OPERATORS)} permits imported"
        )

        def load(as_of: bool, at: datetime) -> object:
            with Session(engine) as ses:
                return load_snapshots(ses, at, as_of=as_of)

        wall, _, res = _timed(lambda: load(False, NOW), runs)
        print(
            f"load_snapshots, current state: median {wall:.3f} s for "
            f"{len(res.snapshots):,} vehicles (target: well under 1 s)"
        )
        past = NOW - timedelta(hours=6)
        wall, _, res = _timed(lambda: load(True, past), max(1, runs // 2))
        print(
            f"load_snapshots, as of 6 h ago (dwell history): median {wall:.3f} s for "
            f"{len(res.snapshots):,} vehicles"
        )
        city = CityCache()
        settings = RulesSettings()
        t = time.perf_counter()
        with Session(engine) as ses, ses.begin():
            n = sample_counts(ses, NOW, city_cache=city, settings=settings)
        print(
            f"sample_counts (first call builds the PreparedCity): {time.perf_counter() - t:.3f} s,"
            f" {n} samples"
        )
        for label, at in (
            ("first run, opens every violation", NOW),
            ("steady state, same data 1 min later", NOW + timedelta(minutes=1)),
            ("steady state, 2 min later", NOW + timedelta(minutes=2)),
        ):
            t = time.perf_counter()
            with Session(engine) as ses, ses.begin():
                summary = evaluate_rules(ses, at, city_cache=city, settings=settings)
            total = time.perf_counter() - t
            lc = summary.lifecycle
            print(
                f"evaluate_rules end to end, {label}: {total:.3f} s (load"
                f" {summary.timings_ms['load'] / 1000:.3f}, samples"
                f" {summary.timings_ms['samples'] / 1000:.3f}, rules"
                f" {summary.timings_ms['evaluate'] / 1000:.3f}, lifecycle"
                f" {summary.timings_ms['lifecycle'] / 1000:.3f}); {summary.findings:,} findings,"
                f" opened {len(lc.opened):,}, unchanged {lc.unchanged:,}"
            )
        engine.dispose()
    finally:
        with psycopg.connect(admin_url, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
