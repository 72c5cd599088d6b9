"""Ingest benchmarks (issue 2). Prints its figures; compares with baselines in the same run.

1. One poll of a 20,000 (and 100,000) vehicle feed with 5 % of vehicles changed
   since the previous poll, fetched over loopback HTTP, parsed, validated,
   diffed and stored: median over several polls. Baseline in the same run: the
   straightforward approach, upserting every vehicle row on every poll through
   the ORM.
2. Storage per vehicle-day at 60-second polling for a simulated day, against
   one row per observation.
3. 200 feeds polled concurrently by one scheduler process, one of them slow:
   how regularly the others are polled.

Usage: .venv/bin/python bench/bench_ingest.py [--quick]
Needs the database server of var/database_url (or TEST_DATABASE_URL).
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
import psycopg
from geoalchemy2 import WKTElement
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from yardstick_run import COPY_MERGE, run_yardstick  # noqa: E402

from fleet_monitor.database import make_engine, upgrade  # noqa: E402
from fleet_monitor.settings import Settings, normalise_database_url  # noqa: E402
from gbfs_ingest.config import IngestSettings, OperatorSettings  # noqa: E402
from gbfs_ingest.db import VehicleCurrent  # noqa: E402
from gbfs_ingest.model import FeedType  # noqa: E402
from gbfs_ingest.parse import parse_feed  # noqa: E402
from gbfs_ingest.pipeline import Ingestor  # noqa: E402
from gbfs_ingest.process import load_feed_row, process_body  # noqa: E402
from gbfs_ingest.registry import ensure_feed, ensure_operator  # noqa: E402
from gbfs_ingest.vehicle_store import VehicleStateCache  # noqa: E402

LAT0, LON0 = 45.90, 6.13
T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- infrastructure


def server_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        url = (ROOT / "var" / "database_url").read_text().strip()
    return normalise_database_url(url)


class TempDB:
    def __init__(self) -> None:
        self.name = f"fm_bench_{uuid.uuid4().hex[:8]}"
        base = make_url(server_url())
        self.admin = base.set(drivername="postgresql", database="postgres").render_as_string(
            hide_password=False
        )
        self.url = base.set(database=self.name).render_as_string(hide_password=False)

    def __enter__(self) -> str:
        with psycopg.connect(self.admin, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{self.name}"')
        upgrade(self.url)
        return self.url

    def __exit__(self, *exc: object) -> None:
        with psycopg.connect(self.admin, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class FeedServer:
    """Serves in-memory bodies on 127.0.0.1; optional per-path delay."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}
        self.delays: dict[str, float] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                if path in owner.delays:
                    time.sleep(owner.delays[path])
                body = owner.bodies.get(path)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def make_fleet(n: int, rng: random.Random) -> list[dict]:
    return [
        {
            "bike_id": uuid.UUID(int=rng.getrandbits(128)).hex,
            "lat": round(LAT0 + rng.uniform(-0.04, 0.04), 6),
            "lon": round(LON0 + rng.uniform(-0.05, 0.05), 6),
            "is_reserved": False,
            "is_disabled": rng.random() < 0.03,
            "vehicle_type_id": "scooter",
            "current_range_meters": rng.randint(1000, 40000),
            "last_reported": int(T0.timestamp()),
        }
        for _ in range(n)
    ]


def change(fleet: list[dict], frac: float, rng: random.Random) -> None:
    """Move ``frac`` of the fleet beyond GPS noise (a trip ended elsewhere, new ID)."""
    for v in rng.sample(fleet, int(len(fleet) * frac)):
        v["lat"] = round(v["lat"] + rng.uniform(0.002, 0.01), 6)
        v["bike_id"] = uuid.UUID(int=rng.getrandbits(128)).hex


def doc(fleet: list[dict], at: datetime) -> bytes:
    return orjson.dumps(
        {"last_updated": int(at.timestamp()), "ttl": 0, "version": "2.3", "data": {"bikes": fleet}}
    )


def discovery(server: FeedServer, prefix: str) -> bytes:
    feeds = [{"name": "free_bike_status", "url": server.url(f"{prefix}/fbs.json")}]
    return orjson.dumps(
        {
            "last_updated": int(T0.timestamp()),
            "ttl": 0,
            "version": "2.3",
            "data": {"en": {"feeds": feeds}},
        }
    )


class Clock:
    def __init__(self, t: datetime) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t


# --------------------------------------------------------------------------- 1. poll time


def bench_poll(n: int, polls: int, baseline_polls: int) -> tuple[float, float, float]:
    """Medians of polls 1-7 (just after start), of the last 10 polls (steady state:
    by then the long-lived per-feed caches are scattered in memory, see README),
    and of the ORM baseline."""
    rng = random.Random(n)
    server = FeedServer()
    fleet = make_fleet(n, rng)
    server.bodies["/s/gbfs.json"] = discovery(server, "/s")
    settings = IngestSettings(
        allowed_private_hosts=("127.0.0.1",), max_body_mb=128, max_decoded_mb=256
    )
    times: list[float] = []
    with TempDB() as url:
        engine = make_engine(url, pool_size=2)
        clock = Clock(T0)
        ing = Ingestor(engine, settings, clock=clock)
        op = OperatorSettings(slug="s", name="S", discovery_url=server.url("/s/gbfs.json"))
        fid = ing.discover(op).feed_ids[FeedType.VEHICLE_STATUS]
        for k in range(polls + 1):
            clock.t = T0 + timedelta(minutes=k)
            if k:
                change(fleet, 0.05, rng)
            server.bodies["/s/fbs.json"] = doc(fleet, clock.t)
            start = time.perf_counter()
            res = ing.poll(fid)
            elapsed = time.perf_counter() - start
            assert res.outcome == "ok", res
            if k:  # the first poll inserts the whole fleet
                times.append(elapsed)
        ing.close()
        engine.dispose()
    cold = statistics.median(times[:7])
    steady = statistics.median(times[-10:])

    # baseline: fetch + parse as above, then upsert every row through the ORM
    base_times: list[float] = []
    with TempDB() as url:
        engine = make_engine(url, pool_size=2)
        import httpx

        with Session(engine) as s, s.begin():
            opid = ensure_operator(s, "b", "B", None)
            bfid = ensure_feed(s, opid, FeedType.VEHICLE_STATUS, "free_bike_status", "x", "2.3")
        with httpx.Client() as client:
            for k in range(baseline_polls + 1):
                at = T0 + timedelta(minutes=k)
                if k:
                    change(fleet, 0.05, rng)
                server.bodies["/s/fbs.json"] = doc(fleet, at)
                start = time.perf_counter()
                body = client.get(server.url("/s/fbs.json")).content
                parsed = parse_feed(FeedType.VEHICLE_STATUS, orjson.loads(body), "2.3")
                with Session(engine) as s, s.begin():
                    for v in parsed.records:
                        s.merge(
                            VehicleCurrent(
                                feed_id=bfid,
                                gbfs_id=v.vehicle_id,
                                operator_id=opid,
                                vehicle_id=0,
                                dwell_id=0,
                                lat=v.lat,
                                lon=v.lon,
                                geom=WKTElement(f"POINT({v.lon} {v.lat})", srid=4326),
                                state=v.state.value,
                                vehicle_type_id=v.vehicle_type_id,
                                range_m=v.current_range_meters,
                                first_seen_at=at,
                            )
                        )
                if k:
                    base_times.append(time.perf_counter() - start)
        engine.dispose()
    server.stop()
    return cold, steady, statistics.median(base_times)


# --------------------------------------------------------------------------- 2. storage


def bench_storage(n: int, minutes: int) -> dict[str, float]:
    """A simulated day at 60 s polling: each vehicle makes ~3 trips (vanishes
    ~15 min, reappears elsewhere under a new ID) and jitters within GPS noise."""
    rng = random.Random(7)
    fleet = make_fleet(n, rng)
    riding: list[tuple[int, dict]] = []
    settings = IngestSettings()
    with TempDB() as url:
        engine = make_engine(url, pool_size=2)
        cache = VehicleStateCache()
        with Session(engine) as s, s.begin():
            opid = ensure_operator(s, "d", "D", None)
            fid = ensure_feed(s, opid, FeedType.VEHICLE_STATUS, "free_bike_status", "x", "2.3")
        p_trip = 3 / minutes
        for k in range(minutes):
            at = T0 + timedelta(minutes=k)
            back = [v for t, v in riding if t <= k]
            riding = [(t, v) for t, v in riding if t > k]
            for v in back:
                v["bike_id"] = uuid.UUID(int=rng.getrandbits(128)).hex
                v["lat"] = round(LAT0 + rng.uniform(-0.04, 0.04), 6)
                v["lon"] = round(LON0 + rng.uniform(-0.05, 0.05), 6)
                fleet.append(v)
            keep = []
            for v in fleet:
                if rng.random() < p_trip:
                    riding.append((k + rng.randint(5, 25), v))
                else:
                    keep.append(v)
            fleet = keep
            for v in rng.sample(fleet, len(fleet) // 10):  # GPS jitter, a few metres
                v["lat"] = round(v["lat"] + rng.uniform(-3e-5, 3e-5), 6)
            with Session(engine) as s, s.begin():
                feed = load_feed_row(s, fid)
                process_body(
                    s,
                    feed,
                    doc(fleet, at),
                    fetched_at=at,
                    settings=settings,
                    cache=cache,
                    live=False,
                    fetch_meta={},
                )
        with engine.connect() as c:
            history = c.execute(
                text(
                    "SELECT sum(pg_total_relation_size(t)) FROM unnest(ARRAY['dwell',"
                    "'vehicle_alias','vehicle_current']::regclass[]) t"  # vehicle: a view
                )
            ).scalar()
            rows = c.execute(
                text("SELECT (SELECT count(*) FROM dwell), (SELECT count(*) FROM vehicle_alias)")
            ).fetchone()
            raw = c.execute(text("SELECT sum(compressed_size) FROM raw_blob")).scalar()
            # one row per observation, as the naive design would store it: measured on
            # a tenth of the day's observations and scaled up
            c.execute(
                text(
                    "CREATE TABLE obs (feed_id int, gbfs_id text, observed_at timestamptz,"
                    " geom geometry(Point, 4326), state text, range_m float8)"
                )
            )
            c.execute(text("CREATE INDEX ON obs (gbfs_id, observed_at)"))
            c.execute(text("CREATE INDEX ON obs USING gist (geom)"))
            sample = minutes // 10
            c.execute(
                text(
                    "INSERT INTO obs SELECT 1, md5(v::text), now() + make_interval(mins => m),"
                    " ST_SetSRID(ST_MakePoint(6.13 + random() / 20, 45.9 + random() / 20), 4326),"
                    " 'available', 1000 FROM generate_series(1, :n) v, generate_series(1, :m) m"
                ),
                {"n": n, "m": sample},
            )
            c.commit()
            naive = c.execute(text("SELECT pg_total_relation_size('obs')")).scalar() * 10
        engine.dispose()
    return {
        "history_bytes_per_vehicle_day": float(history) / n,
        "naive_bytes_per_vehicle_day": naive / n,
        "dwell_rows_per_vehicle_day": rows[0] / n,
        "alias_rows_per_vehicle_day": rows[1] / n,
        "raw_evidence_bytes_per_vehicle_day": float(raw or 0) / n,
    }


# --------------------------------------------------------------------------- 3. 200 feeds


def bench_scheduler(feeds: int, seconds: float, interval: int) -> dict[str, float]:
    from fleet_monitor.scheduler import IngestScheduler

    rng = random.Random(3)
    server = FeedServer()
    ops = []
    for i in range(feeds):
        prefix = f"/o{i}"
        server.bodies[f"{prefix}/gbfs.json"] = discovery(server, prefix)
        server.bodies[f"{prefix}/fbs.json"] = doc(make_fleet(200, rng), T0)
        ops.append(
            OperatorSettings(
                slug=f"o{i}", name=f"O{i}", discovery_url=server.url(f"{prefix}/gbfs.json")
            )
        )
    server.delays["/o0/fbs.json"] = 8.0  # the slow feed
    ingest = IngestSettings(
        allowed_private_hosts=("127.0.0.1",),
        poll_floor_s=interval,
        default_interval_s=interval,
        read_timeout_s=10.0,
    )
    polls: dict[int, list[float]] = {}
    lock = threading.Lock()

    def after(feed_id: int, outcome: str) -> None:
        with lock:
            polls.setdefault(feed_id, []).append(time.monotonic())

    with TempDB() as url:
        settings = Settings(database_url=url, ingest=ingest, operators=tuple(ops))
        sched = IngestScheduler(settings, after_poll=after)
        sched.start()
        time.sleep(seconds)
        sched.shutdown(wait=True)
        with sched.engine.connect() as c:
            slow_id = c.execute(
                text(
                    "SELECT f.id FROM feed f JOIN operator o ON o.id = f.operator_id"
                    " WHERE o.slug = 'o0'"
                )
            ).scalar()
        sched.engine.dispose()
    server.stop()
    gaps = []
    counts = []
    for fid, ts in polls.items():
        if fid == slow_id:
            continue
        counts.append(len(ts))
        gaps.extend(b - a for a, b in itertools.pairwise(ts))
    gaps.sort()
    return {
        "feeds_polled": len(counts) + (1 if slow_id in polls else 0),
        "polls_per_fast_feed_median": statistics.median(counts) if counts else 0,
        "gap_p50_s": gaps[len(gaps) // 2] if gaps else float("nan"),
        "gap_p95_s": gaps[int(len(gaps) * 0.95)] if gaps else float("nan"),
        "gap_max_s": gaps[-1] if gaps else float("nan"),
        "slow_feed_polls": len(polls.get(slow_id, [])),
    }


def main() -> None:
    from fleet_monitor.runtime import tune_gc

    tune_gc()  # as the service's processes do (fleet-monitor CLI, scheduler, demo)
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller runs (smoke test)")
    args = ap.parse_args()
    q = args.quick
    print("== 1. one poll, 5 % changed (fetch over loopback + parse + validate + diff + store)")
    for n in [2000] if q else [20_000, 100_000]:
        cold, steady, base = bench_poll(
            n, polls=12 if q else 40, baseline_polls=1 if q or n > 20_000 else 3
        )
        print(
            f"{n:>7} vehicles: ours median {cold * 1000:7.1f} ms (polls 1-7),"
            f" {steady * 1000:7.1f} ms (steady state, last 10 polls) | ORM upsert-all baseline"
            f" {base * 1000:8.1f} ms | x{base / steady:.1f}"
        )
        with TempDB() as url:  # the machine's yardstick, in this run (see bench/README.md)
            figures, out = run_yardstick(url, n)
        naive = figures.get(COPY_MERGE)
        print(
            f"{'':>7}  yardstick naive COPY + upsert of {n} vehicles: "
            + (
                f"{naive:7.1f} ms; ours steady state = {steady * 1000 / naive:.2f} of it"
                if naive
                else out.strip()
            )
        )
    print("== 2. storage per vehicle-day, 60 s polling, ~3 trips per vehicle")
    st = bench_storage(200 if q else 2000, 120 if q else 1440)
    print(
        f"history (dwell+alias+current): {st['history_bytes_per_vehicle_day']:9.0f} B"
        f" | one row per observation: {st['naive_bytes_per_vehicle_day']:9.0f} B"
        f" | x{st['naive_bytes_per_vehicle_day'] / st['history_bytes_per_vehicle_day']:.0f}"
        f" smaller"
    )
    print(
        f"dwell rows/vehicle-day {st['dwell_rows_per_vehicle_day']:.2f}, alias rows "
        f"{st['alias_rows_per_vehicle_day']:.2f}, raw evidence (zstd) "
        f"{st['raw_evidence_bytes_per_vehicle_day']:.0f} B"
    )
    print("== 3. 200 feeds in one scheduler process, one feed answering in 8 s")
    sc = bench_scheduler(20 if q else 200, 12 if q else 40, 5)
    print(
        f"feeds polled {sc['feeds_polled']}, polls per fast feed (median) "
        f"{sc['polls_per_fast_feed_median']}, gap between polls of a fast feed (target 5 s):"
        f" p50 {sc['gap_p50_s']:.2f} s, p95 {sc['gap_p95_s']:.2f} s, max {sc['gap_max_s']:.2f} s;"
        f" slow feed polls {sc['slow_feed_polls']}"
    )


if __name__ == "__main__":
    main()
