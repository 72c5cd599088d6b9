"""Benchmark (issue 6): statistics of one month for 20,000 vehicles.

Synthesises, with set-based SQL (``generate_series``), one month of history as
the ingest stores it: 3 operators (scooters and bikes), a vehicle feed fetched
every minute with one 2-hour outage, ~4 stays a day per vehicle (each ended by a
trip, a few by a repair), the six districts of the simulated Annecy, violations.
Then:

1. aggregates the month (the scheduled job's work: every day once);
2. times the statistics page (``/stats``) and the JSON API (``/api/stats``) for
   the month, signed in as an officer (median of several requests): target 1 s;
3. in the same run, times the same report computed from the raw history
   (``report_from_raw``: what each request would cost without the aggregates),
   and checks both give the same figures.

Run: ``.venv/bin/python bench/bench_stats.py [--vehicles N] [--days N] [--runs N]``
Needs the database server of var/database_url (or TEST_DATABASE_URL).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import psycopg
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fleet_monitor.database import make_engine, upgrade  # noqa: E402
from fleet_monitor.settings import (  # noqa: E402
    CitySettings,
    Settings,
    WebSettings,
    normalise_database_url,
)
from fleet_monitor.stats.aggregate import AggregateConfig, aggregate  # noqa: E402
from fleet_monitor.stats.periods import parse_period  # noqa: E402
from fleet_monitor.stats.raw import report_from_raw  # noqa: E402
from fleet_monitor.stats.report import ReportQuery  # noqa: E402
from fleet_monitor.stats.service import run_report  # noqa: E402
from gbfs_ingest.auth import Secret  # noqa: E402
from gbfs_simulator import city_zones  # noqa: E402

TZ = "Europe/Paris"
OPERATORS = (
    ("trotti", "scooter_standing", 0.40),
    ("velomax", "bicycle", 0.35),
    ("lacbike", "bicycle", 0.25),
)
STAYS_PER_DAY = 4


def server_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL") or (ROOT / "var" / "database_url").read_text().strip()
    return normalise_database_url(url)


def create_db() -> tuple[str, str, str]:
    name = f"fm_bench_stats_{uuid.uuid4().hex[:8]}"
    base = make_url(server_url())
    admin = base.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    url = base.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    upgrade(url)
    return name, admin, url


def synthesise(url: str, vehicles: int, first: date, days: int) -> dict[str, float]:
    """One month of history, set-based. Returns row counts and seconds taken."""
    t = time.perf_counter()
    start = datetime(first.year, first.month, first.day, tzinfo=UTC) - timedelta(hours=2)
    end = start + timedelta(days=days, hours=4)
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq) as conn, conn.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        for feature in city_zones()["district"]["features"]:
            cur.execute(
                "INSERT INTO zone (zone_id, version, kind, name, geom, properties, content_hash)"
                " VALUES (%s, 1, 'district', %s, ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326),"
                " '{}'::jsonb, 'bench')",
                (
                    feature["id"],
                    feature["properties"]["name"],
                    orjson.dumps(feature["geometry"]).decode(),
                ),
            )
        first_vehicle = 0
        for k, (slug, form_factor, share) in enumerate(OPERATORS):
            n = int(vehicles * share)
            cur.execute(
                "INSERT INTO operator (slug, name, gbfs_version, version_detected, created_at)"
                " VALUES (%s, %s, '2.3', false, now()) RETURNING id",
                (slug, slug),
            )
            op = cur.fetchone()[0]
            feeds = {}
            for ft in ("vehicle_status", "vehicle_types"):
                cur.execute(
                    "INSERT INTO feed (operator_id, feed_type, name, url, version, active,"
                    " consecutive_failures, state_token) VALUES (%s, %s, %s, 'file:///b', '2.3',"
                    " true, 0, 0) RETURNING id",
                    (op, ft, ft),
                )
                feeds[ft] = cur.fetchone()[0]
            cur.execute(
                "INSERT INTO feed_document (feed_id, content_hash, observed_at, records)"
                " VALUES (%s, 'b', now(), %s::jsonb)",
                (
                    feeds["vehicle_types"],
                    f'[{{"vehicle_type_id": "t", "form_factor": "{form_factor}"}}]',
                ),
            )
            feed = feeds["vehicle_status"]
            outage = start + timedelta(days=10 + 3 * k, hours=8)
            cur.execute(
                "INSERT INTO feed_fetch (feed_id, started_at, observed_at, source, outcome,"
                " record_count, invalid_count, schema_error_count, latency_ms)"
                " SELECT %(f)s, t, CASE WHEN ok THEN t END, 'http',"
                " CASE WHEN ok THEN 'ok' ELSE 'error' END, CASE WHEN ok THEN %(n)s END,"
                " CASE WHEN ok THEN (random() * 3)::int END, 0, 80 + random() * 200"
                " FROM generate_series(%(a)s::timestamptz, %(b)s, interval '1 minute') t,"
                " LATERAL (SELECT NOT (t >= %(o)s AND t < %(o)s + interval '2 hours') AS ok) x",
                {"f": feed, "n": n, "a": start, "b": end, "o": outage},
            )
            cur.execute(
                "INSERT INTO outage (feed_id, kind, started_at, ended_at)"
                " VALUES (%s, 'unavailable', %s, %s)",
                (feed, outage, outage + timedelta(hours=2)),
            )
            # a physical vehicle is its first alias (``vehicle`` is a view over them,
            # migration 0007)
            cur.execute(
                "INSERT INTO vehicle_alias (vehicle_id, feed_id, gbfs_id, first_seen_at)"
                " SELECT %(v0)s + v, %(f)s, 'v' || (%(v0)s + v), %(a)s"
                " FROM generate_series(1, %(n)s) v",
                {"v0": first_vehicle, "f": feed, "a": start, "n": n},
            )
            slots = days * STAYS_PER_DAY + 1
            step = 86400 / STAYS_PER_DAY
            # stay s of vehicle v: from start + s x 6 h (+ a per-vehicle offset), until the
            # next one 20 min before (a trip), at a random place in town; every 25th is a
            # repair in place (disabled); the last one is still open
            cur.execute(
                "INSERT INTO dwell (id, vehicle_id, feed_id, operator_id, gbfs_id, lat, lon, geom,"
                " state, vehicle_type_id, started_at, start_confidence, ended_at, last_seen_at,"
                " end_reason, rotations)"
                " SELECT row_number() OVER () + %(d0)s, %(v0)s + v, %(f)s, %(op)s,"
                " 'g' || v || '-' || s,"
                " lat, lon, ST_SetSRID(ST_MakePoint(lon, lat), 4326),"
                " CASE WHEN s %% 25 = 7 THEN 'disabled' WHEN s %% 11 = 3 THEN 'reserved'"
                "  ELSE 'available' END, 't', st,"
                " CASE WHEN s = 0 THEN 'first_seen' ELSE 'observed' END,"
                " CASE WHEN s < %(last)s THEN st + make_interval(secs => %(step)s - 1200) END,"
                " CASE WHEN s < %(last)s THEN st + make_interval(secs => %(step)s - 1260) END,"
                " CASE WHEN s < %(last)s THEN 'vanished' END, 0"
                " FROM generate_series(1, %(n)s) v, generate_series(0, %(last)s) s,"
                " LATERAL (SELECT 45.87 + random() * 0.06 AS lat, 6.08 + random() * 0.09 AS lon,"
                "   %(a)s::timestamptz + make_interval(secs => s * %(step)s + (v %% 300) * 60)"
                "   AS st) x",
                {
                    "d0": first_vehicle * slots,
                    "v0": first_vehicle,
                    "f": feed,
                    "op": op,
                    "n": n,
                    "last": slots - 1,
                    "step": step,
                    "a": start,
                },
            )
            cur.execute(
                "INSERT INTO vehicle_current (feed_id, gbfs_id, operator_id, vehicle_id, dwell_id,"
                " lat, lon, geom, state, vehicle_type_id, first_seen_at)"
                " SELECT feed_id, gbfs_id, operator_id, vehicle_id, id, lat, lon, geom, state,"
                " vehicle_type_id, started_at FROM dwell WHERE feed_id = %s AND ended_at IS NULL",
                (feed,),
            )
            cur.execute(
                "INSERT INTO violation (key, rule_type, operator, subject_kind, subject, state,"
                " status, opened_at, since, last_seen_at, closed_at, unit, clause, confidence,"
                " geom, vehicles_beyond, evidence)"
                " SELECT %(slug)s || ':' || i, (ARRAY['idle_too_long', 'in_no_parking_area',"
                " 'disabled_too_long'])[1 + i %% 3], %(slug)s, 'vehicle', 'v', 'closed',"
                " CASE WHEN i %% 10 = 0 THEN 'uncertain' ELSE 'violation' END, t, t, t,"
                " t + interval '3 hours', 's', 'art. 1', 1.0,"
                " ST_SetSRID(ST_MakePoint(6.08 + random() * 0.09, 45.87 + random() * 0.06), 4326),"
                " '[]'::jsonb, '{}'::jsonb"
                " FROM generate_series(1, %(m)s) i,"
                " LATERAL (SELECT %(a)s::timestamptz + make_interval(secs => i * 86400.0 * %(days)s"
                "   / %(m)s) AS t) x",
                {"slug": slug, "m": days * 40, "a": start + timedelta(hours=2), "days": days},
            )
            first_vehicle += n
        cur.execute("SELECT setval('dwell_id_seq', (SELECT max(id) FROM dwell))")
        cur.execute("SELECT setval('vehicle_id_seq', (SELECT max(id) FROM vehicle))")
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")
        cur.execute("SELECT count(*) FROM dwell")
        dwells = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM feed_fetch")
        fetches = cur.fetchone()[0]
    return {"dwells": dwells, "fetches": fetches, "seconds": time.perf_counter() - t}


def history(
    name: str, url: str, vehicles: int, first: date, days: int
) -> tuple[Settings, Engine, datetime]:
    """Synthesise the history, then aggregate every day as the scheduled job does
    (printing both): (settings, engine, the instant the days are complete at)."""
    print(f"database {name}: synthesising {vehicles:,} vehicles x {days} days ...")
    made = synthesise(url, vehicles, first, days)
    print(f"  {made['dwells']:,} stays, {made['fetches']:,} fetches in {made['seconds']:.1f} s")
    settings = Settings(
        database_url=url,
        city=CitySettings(timezone=TZ, locale="fr"),
        web=WebSettings(secret_key=Secret("bench-secret")),
    )
    engine = make_engine(url, pool_size=4)
    until = datetime(first.year, first.month, first.day, tzinfo=UTC) + timedelta(days=days, hours=6)
    t = time.perf_counter()
    summary = aggregate(engine, AggregateConfig.from_settings(settings), until=until, first=first)
    agg_s = time.perf_counter() - t
    print(
        f"aggregation: {len(summary.days)} days in {agg_s:.1f} s"
        f" ({agg_s / max(1, len(summary.days)):.2f} s per day, once, by the scheduled job)"
    )
    return settings, engine, until


def timed(fn, runs: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="Keep the database.")
    args = parser.parse_args()

    first = date(2026, 9, 1)
    period_label = (
        f"{first:%Y-%m}" if args.days == 30 else f"{first}..{first + timedelta(days=args.days - 1)}"
    )
    name, admin, url = create_db()
    try:
        settings, engine, until = history(name, url, args.vehicles, first, args.days)
        query = ReportQuery(parse_period(period_label, TZ), lang="fr")
        report_s, stored = timed(
            lambda: run_report(engine, settings, query, visible=None, now=until), args.runs
        )
        first_s, page_s, api_s = time_web(settings, engine, period_label, args.runs)
        raw_s, raw = timed(
            lambda: report_from_raw(engine, settings, query, visible=None, now=until), 1
        )
        same = all(
            raw["sections"][s]["rows"] == stored["sections"][s]["rows"]  # type: ignore[index]
            for s in ("fleet", "idle", "use", "violations", "feeds", "zones")
        )
        fleet = {r["operator"]: r for r in stored["sections"]["fleet"]["rows"]}  # type: ignore[index]
        print(f"statistics of {period_label} ({args.vehicles} vehicles), median of {args.runs}:")
        print(f"  report from the aggregates:      {report_s * 1000:8.0f} ms")
        print(
            f"  page /stats, first view:         {first_s * 1000:8.0f} ms   target <= 1000 ms"
            "   (charts drawn)"
        )
        print(
            f"  page /stats (HTML, charts, map): {page_s * 1000:8.0f} ms   target <= 1000 ms"
            "   (views after the first: charts from the SVG cache)"
        )
        print(f"  JSON API /api/stats:             {api_s * 1000:8.0f} ms   target <= 1000 ms")
        print(
            f"  same report from raw history:    {raw_s * 1000:8.0f} ms"
            f"   (x{raw_s / first_s:.0f} the first view)"
        )
        print(f"  raw and aggregated figures identical: {same}")
        print(
            f"  all operators: mean {fleet['*']['deployed_avg']}, p95 {fleet['*']['deployed_p95']},"
            f" max {fleet['*']['deployed_max']}, coverage {fleet['*']['coverage']}"
        )
        engine.dispose()
    finally:
        if not args.keep:
            with psycopg.connect(admin, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def time_web(
    settings: Settings, engine: object, period: str, runs: int
) -> tuple[float, float, float]:
    """(first view of the page, median of the next views, median of the API)."""
    from sqlalchemy.orm import Session

    from fleet_monitor.models.users import UserAccount
    from fleet_monitor.users import hash_password
    from fleet_monitor.web import create_app

    with Session(engine) as s, s.begin():  # type: ignore[call-overload]
        s.add(
            UserAccount(
                email="bench@annecy.example", password_hash=hash_password("x" * 20), role="officer"
            )
        )
    app = create_app(settings, engine=engine)  # type: ignore[arg-type]
    app.testing = True
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    client.post(
        "/login", data={"email": "bench@annecy.example", "password": "x" * 20, "csrf_token": token}
    )

    def get(path: str) -> None:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        response.get_data()

    # the process's first page imports matplotlib and compiles the templates: warm up
    # on another period, so that the first view measured is the drawing of its charts
    get("/stats?period=2020-01")
    first_s, _ = timed(lambda: get(f"/stats?period={period}"), 1)
    page_s, _ = timed(lambda: get(f"/stats?period={period}"), runs)
    api_s, _ = timed(lambda: get(f"/api/stats?period={period}"), runs)
    return first_s, page_s, api_s


if __name__ == "__main__":
    main()
