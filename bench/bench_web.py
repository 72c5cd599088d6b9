"""Web benchmarks (issue 5, "Performance (bench)"). Prints its figures with the targets.

A temporary database is seeded with 20,000 vehicles of several operators (stored
as the ingest does, through ``store_vehicle_snapshot``) and a few thousand open
violations; the app is served by waitress on 127.0.0.1. Then:

1. ``/api/vehicles`` for a signed-in officer, median of 10 over loopback HTTP
   (target: 200 ms). Baseline in the same run: the same GeoJSON built in Python
   with the ORM and shapely, one object per row, called in process (no HTTP:
   the baseline is favoured).
2. The map page in headless Chromium (Debian's ``/usr/bin/chromium``), from the
   start of the navigation to "every vehicle drawn (``window.__fleetVehiclesDrawn``,
   set by map.js) and the map redrawn after a zoom", median of 3 (target: 2 s).

Usage: .venv/bin/python bench/bench_web.py [--vehicles N]
Needs the database server of var/database_url (or TEST_DATABASE_URL).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import statistics
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import waitress
from shapely.geometry import Point, mapping
from sqlalchemy import select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_ingest import TempDB  # noqa: E402

from fleet_monitor.database import make_engine  # noqa: E402
from fleet_monitor.models.rules import Violation  # noqa: E402
from fleet_monitor.models.users import UserAccount  # noqa: E402
from fleet_monitor.settings import CitySettings, Settings, WebSettings  # noqa: E402
from fleet_monitor.users import hash_password  # noqa: E402
from fleet_monitor.web import create_app  # noqa: E402
from gbfs_ingest.auth import Secret  # noqa: E402
from gbfs_ingest.db import Dwell, Operator, VehicleCurrent  # noqa: E402
from gbfs_ingest.model import FeedType, Vehicle  # noqa: E402
from gbfs_ingest.registry import ensure_feed, ensure_operator  # noqa: E402
from gbfs_ingest.vehicle_store import VehicleStateCache, store_vehicle_snapshot  # noqa: E402

LAT0, LON0 = 45.8992, 6.1294
T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
OPERATORS = (("velo-lac", "Vélo Lac"), ("trott", "Trott"), ("roule", "Roule"), ("zip", "Zip"))
RULES = (
    "in_water",
    "on_tram_tracks",
    "in_no_parking_area",
    "in_pedestrian_area",
    "outside_mandatory_parking",
    "idle_too_long",
    "disabled_too_long",
)
EMAIL = "bench@annecy.example"
PASSWORD = "correct horse battery staple"
CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
API_TARGET_MS = 200.0
MAP_TARGET_MS = 2000.0


# --------------------------------------------------------------------------- seeding


def seed(url: str, n_vehicles: int, n_violations: int) -> None:
    engine = make_engine(url)
    rnd = random.Random(5)
    per_op = n_vehicles // len(OPERATORS)
    for k, (slug, name) in enumerate(OPERATORS):
        with Session(engine) as s, s.begin():
            op_id = ensure_operator(s, slug, name, None)
            feed_id = ensure_feed(
                s, op_id, FeedType.VEHICLE_STATUS, "free_bike_status", f"file:///{slug}", "2.3"
            )
        fleet = []
        count = per_op if k < len(OPERATORS) - 1 else n_vehicles - per_op * k
        for i in range(count):
            v = Vehicle(
                f"{slug}-{i}",
                LAT0 + rnd.uniform(-0.03, 0.03),
                LON0 + rnd.uniform(-0.045, 0.045),
                vehicle_type_id=rnd.choice(("scooter", "ebike")),
                current_fuel_percent=rnd.random(),
                current_range_meters=rnd.uniform(0, 40_000),
            )
            v.is_disabled = i % 17 == 0
            fleet.append(v)
        with Session(engine) as s, s.begin():
            store_vehicle_snapshot(
                s,
                feed_id=feed_id,
                operator_id=op_id,
                vehicles=fleet,
                observed_at=T0,
                fetch_id=None,
                cache=VehicleStateCache(),
                link_m=15,
            )
    with Session(engine) as s, s.begin():
        rows = s.execute(
            text(
                "SELECT vc.vehicle_id, vc.gbfs_id, o.slug FROM vehicle_current vc"
                " JOIN operator o ON o.id = vc.operator_id"
            )
        ).all()
        picked = rnd.sample(rows, n_violations)
        for j, (vid, gbfs_id, slug) in enumerate(picked):
            rule = RULES[j % len(RULES)]
            s.add(
                Violation(
                    key=f"{rule}:{slug}:{vid}",
                    rule_type=rule,
                    operator=slug,
                    subject_kind="vehicle",
                    subject=gbfs_id,
                    vehicle_id=vid,
                    gbfs_id=gbfs_id,
                    state="held" if j % 23 == 0 else "open",
                    status="uncertain" if j % 7 == 0 else "violation",
                    opened_at=T0,
                    since=T0,
                    last_seen_at=T0,
                    unit="m",
                    clause="§",
                    confidence=1.0,
                )
            )
        # closed ones, which must not show
        for j, (vid, gbfs_id, slug) in enumerate(rnd.sample(rows, n_violations // 2)):
            s.add(
                Violation(
                    key=f"closed:{slug}:{vid}:{j}",
                    rule_type="idle_too_long",
                    operator=slug,
                    subject_kind="vehicle",
                    subject=gbfs_id,
                    vehicle_id=vid,
                    gbfs_id=gbfs_id,
                    state="closed",
                    status="violation",
                    opened_at=T0 - timedelta(days=3),
                    last_seen_at=T0 - timedelta(days=2),
                    closed_at=T0 - timedelta(days=2),
                    closed_reason="moved",
                    unit="s",
                    clause="§",
                    confidence=1.0,
                )
            )
        s.add(
            UserAccount(
                email=EMAIL, password_hash=hash_password(PASSWORD), role="officer", active=True
            )
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


# --------------------------------------------------------------------------- baseline


def baseline_geojson(engine: Any) -> str:
    """The same FeatureCollection built the straightforward way: ORM rows, shapely per row."""
    with Session(engine) as s:
        slugs = dict(s.execute(select(Operator.id, Operator.slug)).all())
        open_by_vehicle: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for v in s.scalars(
            select(Violation).where(Violation.state.in_(("open", "held"))).order_by(Violation.id)
        ):
            open_by_vehicle[v.vehicle_id].append(
                {"id": v.id, "rule_type": v.rule_type, "status": v.status}
            )
        features = []
        rows = s.execute(
            select(VehicleCurrent, Dwell)
            .outerjoin(Dwell, Dwell.id == VehicleCurrent.dwell_id)
            .where(VehicleCurrent.missing_since.is_(None), VehicleCurrent.lat.is_not(None))
        ).all()
        for vc, dwell in rows:
            props: dict[str, Any] = {
                "operator": slugs[vc.operator_id],
                "gbfs_id": vc.gbfs_id,
                "state": vc.state,
                "vehicle_type": vc.vehicle_type_id,
                "battery_pct": None if vc.fuel_percent is None else round(vc.fuel_percent * 100),
                "range_m": None if vc.range_m is None else round(vc.range_m),
                "parked_since": dwell.started_at.strftime("%Y-%m-%dT%H:%M:%SZ") if dwell else None,
                "parked_since_confidence": dwell.start_confidence if dwell else None,
            }
            if vc.vehicle_id in open_by_vehicle:
                props["violations"] = open_by_vehicle[vc.vehicle_id]
            features.append(
                {
                    "type": "Feature",
                    "id": vc.vehicle_id,
                    "geometry": mapping(Point(round(vc.lon, 6), round(vc.lat, 6))),
                    "properties": props,
                }
            )
    return json.dumps({"type": "FeatureCollection", "features": features})


# --------------------------------------------------------------------------- measures


def login(base: str) -> requests.Session:
    http = requests.Session()
    token = CSRF_RE.search(http.get(base + "/login").text)
    assert token, "no CSRF token on /login"
    r = http.post(
        base + "/login",
        data={"email": EMAIL, "password": PASSWORD, "csrf_token": token.group(1)},
        allow_redirects=False,
    )
    assert r.status_code == 302, r.status_code
    return http


def time_api(base: str, http: requests.Session, expected: int) -> tuple[list[float], int]:
    times = []
    size = 0
    for _ in range(11):  # the first one warms the connection pool and the plan cache
        t = time.perf_counter()
        r = http.get(base + "/api/vehicles")
        body = r.content
        times.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200
        size = len(body)
    data = json.loads(body)
    assert len(data["features"]) == expected, len(data["features"])
    return times[1:], size


DRAWN_AND_ZOOMED_JS = """(expected) => new Promise((resolve) => {
  function wait() {
    if (window.__fleetVehiclesDrawn !== expected) { setTimeout(wait, 5); return; }
    const config = JSON.parse(document.getElementById("fm-config").textContent);
    const map = window[config.mapVar];
    const drawn = window.__fleetVehiclesDrawnAt;
    requestAnimationFrame(() => {  // the vehicles' first paint
      const painted = performance.now();
      map.once("zoomend", () => requestAnimationFrame(() => requestAnimationFrame(() => {
        const zoomed = performance.now();
        const d = window.__fleetDensity || {on: false, cells: 0};
        resolve({drawn, painted, zoomed, zoomMs: zoomed - zoomStart,
                 fetchAt: window.__fleetFetchStartedAt, applyMs: window.__fleetApplyMs,
                 density: d.on ? 1 : 0, cells: d.cells});
      })));
      const zoomStart = performance.now();
      map.setZoom(map.getZoom() + 1, {animate: false});
    });
  }
  wait();
})"""


SHOTS = Path(__file__).parents[1] / "var" / "screenshots"


def time_map(base: str, http: requests.Session, expected: int) -> list[dict[str, float]]:
    from playwright.sync_api import sync_playwright

    cookies = [{"name": c.name, "value": c.value or "", "url": base + "/"} for c in http.cookies]
    out = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for _ in range(4):  # the first one warms the browser's and the server's caches
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                context.add_cookies(cookies)  # type: ignore[arg-type]
                page = context.new_page()
                page.goto(base + "/", wait_until="commit")
                # performance.now() counts from the start of the navigation
                out.append(page.evaluate(DRAWN_AND_ZOOMED_JS, expected))
                SHOTS.mkdir(parents=True, exist_ok=True)  # looked at, not committed
                page.screenshot(path=str(SHOTS / f"map_{expected}.png"))
                context.close()
        finally:
            browser.close()
    return out[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vehicles", type=int, default=20_000)
    parser.add_argument("--violations", type=int, default=3_000)
    args = parser.parse_args()
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth" notes

    with TempDB() as url:
        t = time.perf_counter()
        seed(url, args.vehicles, args.violations)
        print(
            f"seeded {args.vehicles:,} vehicles, {args.violations:,} open violations "
            f"in {time.perf_counter() - t:.1f} s"
        )
        engine = make_engine(url)
        settings = Settings(
            database_url=url,
            city=CitySettings(locale="fr"),
            web=WebSettings(secret_key=Secret("bench-secret"), tile_url=""),
        )
        app = create_app(settings, engine=engine, config={"SESSION_COOKIE_SECURE": False})
        server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.effective_port}"
        try:
            http = login(base)
            api, size = time_api(base, http, args.vehicles)
            baseline = []
            for _ in range(3):
                t = time.perf_counter()
                body = baseline_geojson(engine)
                baseline.append((time.perf_counter() - t) * 1000)
            assert len(json.loads(body)["features"]) == args.vehicles
            api_ms = statistics.median(api)
            print(
                f"/api/vehicles, {args.vehicles:,} vehicles ({size / 1e6:.1f} MB): "
                f"median {api_ms:.0f} ms of 10 (min {min(api):.0f}, max {max(api):.0f}); "
                f"target {API_TARGET_MS:.0f} ms: {'OK' if api_ms <= API_TARGET_MS else 'MISSED'}"
            )
            print(
                f"  baseline (ORM + shapely per row, in process, no HTTP): "
                f"median {statistics.median(baseline):.0f} ms of 3 "
                f"({statistics.median(baseline) / api_ms:.1f}x slower)"
            )
            runs = time_map(base, http, args.vehicles)
            total = statistics.median(r["zoomed"] for r in runs)
            each = ", ".join(f"{r['zoomed']:.0f}" for r in runs)
            print(
                f"map page, {args.vehicles:,} vehicles, headless Chromium: navigation to every "
                f"vehicle drawn and a zoom redrawn: median {total:.0f} ms of 3 "
                f"({each}); "
                f"target {MAP_TARGET_MS:.0f} ms: {'OK' if total <= MAP_TARGET_MS else 'MISSED'}"
            )
            print(
                "  of which: vehicles drawn at "
                f"{statistics.median(r['drawn'] for r in runs):.0f} ms, first paint at "
                f"{statistics.median(r['painted'] for r in runs):.0f} ms, zoom redraw "
                f"{statistics.median(r['zoomMs'] for r in runs):.0f} ms"
            )
            print(
                "  the answer asked at "
                f"{statistics.median(r['fetchAt'] for r in runs):.0f} ms (page and scripts loaded),"
                f" drawn in {statistics.median(r['applyMs'] for r in runs):.0f} ms once parsed"
            )
            print(
                "  density view (map-density.js) "
                + ("on" if all(r["density"] for r in runs) else "NOT on in every run")
                + f": {statistics.median(r['cells'] for r in runs):.0f} cells after the zoom"
            )
        finally:
            server.close()
            server.task_dispatcher.shutdown()
            thread.join(timeout=10)
            engine.dispose()


if __name__ == "__main__":
    main()
