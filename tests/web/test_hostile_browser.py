"""Hostile operators' data in a real browser: no script runs, every page still works.

An operator's GBFS feed, served over real HTTP and ingested by the real
pipeline, carries payloads in its vehicle ids, vehicle type ids and names and
its system name; the city's zone file carries payloads in zone names and ids;
an operator's name and a contact's name too. Ids the ingest boundary may drop
(control characters, over 256 characters) and line separators are written
straight into the database, so that the pages are tested whatever the ingest
keeps. The rules, notices, reports and statistics then run on that data.

Each payload, if ever run, sets ``window.__xss`` and requests ``/__xss/<tag>``.
Every page that shows them is opened in headless Chromium as an administrator
with every map tooltip and popup opened: the global must stay unset, no
``/__xss`` request may leave, no CSP violation or script error may occur, no
executable inline script may hold any payload, the maps must be drawn, and the
hostile texts must be shown literally.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from fleet_monitor.notices.jobs import plan
from fleet_monitor.reports import generate_day
from fleet_monitor.stats.aggregate import AggregateConfig, aggregate
from fleet_monitor.violations import import_permit, import_zones
from gbfs_ingest.config import IngestSettings, OperatorSettings
from gbfs_ingest.model import Vehicle
from gbfs_ingest.pipeline import Ingestor
from rules.zones_io import zones_from_geojson
from tests.httpserver import LocalHTTPServer, Reply
from tests.notices.helpers import (
    M_LAT,
    M_LON,
    NO_PARKING,
    T0,
    WATER,
    add_contact,
    evaluate,
    permit_text,
    settings_for,
    square,
)
from tests.web.conftest import PASSWORD, Fleet, add_user, served
from tests.web.test_browser import ARGS, CHROMIUM

EMAIL = "admin@annecy.example"


def payload(tag: str, kind: str) -> str:
    """A payload that, if it ever ran, would set window.__xss and request /__xss/<tag>."""
    run = f"window.__xss={json.dumps(tag)};fetch(`/__xss/{tag}`)"
    return {
        # the attacker's shape: a template literal, no quotes, no <>&
        "template": f"${{window.__xss=1,fetch(`/__xss/{tag}`)}}",
        "backtick": f"`;{run};`",
        "script": f"</script><script>{run}</script>",
        "img": f"<img src=/__xss/{tag} onerror=window.__xss=1>",
        "quotes": f"\"');{run};//",
        "svg": f"<svg/onload=window.__xss=1><image href=/__xss/{tag}>",
        "comment": f"*/{run};/*--><!--",
        "backslash": f"\\`${{window.__xss=1,fetch(`/__xss/{tag}`)}}\\",
        "entities": "&lt;b&gt;&amp;amp;",
        "unicode": "Vélo 🚲 «ü»",
    }[kind]


KINDS = (
    "template",
    "backtick",
    "script",
    "img",
    "quotes",
    "svg",
    "comment",
    "backslash",
    "entities",
    "unicode",
)
# vehicle ids over HTTP: one vehicle per payload
VEHICLE_IDS = [payload(f"v-{k}", k) for k in KINDS]
TYPE_ID = payload("type-id", "quotes")
OPERATOR_NAME = payload("op-name", "script")
SYSTEM_NAME = payload("system", "template")
ZONE_NAMES = {
    "water": payload("zone-water", "template"),
    "no_parking": payload("zone-np", "script"),
    "district": payload("zone-district", "img"),
}
ZONE_ID = payload("zone-id", "backtick")
CONTACT_NAME = payload("contact", "svg")
# written straight into the database: what the ingest boundary may drop, and more
DIRECT_IDS = [
    "\x1b[31mred\x7f",
    "long-" + "x" * 300 + payload("v-long", "img"),
    "ls\u2028" + payload("v-ls", "backtick") + "\u2029ps",
]
AUDIT_DETAIL = payload("audit", "quotes")


# --------------------------------------------------------------------------- the city


def feed_routes(server: LocalHTTPServer) -> None:
    now = int(T0.timestamp())

    def doc(data: object) -> Reply:
        body = {"last_updated": now, "ttl": 0, "version": "2.3", "data": data}
        return Reply.json(json.dumps(body))

    feeds = [
        {"name": name, "url": server.url(f"/trotti/{name}.json")}
        for name in ("system_information", "vehicle_types", "free_bike_status")
    ]
    server.route("/trotti/gbfs.json", doc({"en": {"feeds": feeds}}))
    server.route(
        "/trotti/system_information.json",
        doc(
            {
                "system_id": "trotti-annecy",
                "language": "en",
                "name": SYSTEM_NAME,
                "timezone": "Europe/Paris",
            }
        ),
    )
    server.route(
        "/trotti/vehicle_types.json",
        doc(
            {
                "vehicle_types": [
                    {
                        "vehicle_type_id": TYPE_ID,
                        "form_factor": "scooter",
                        "propulsion_type": "electric",
                        "name": payload("type-name", "img"),
                        "max_range_meters": 20000,
                    }
                ]
            }
        ),
    )
    bikes = []
    for i, vid in enumerate(VEHICLE_IDS):
        lat, lon = WATER if i % 2 == 0 else NO_PARKING
        bikes.append(
            {
                "bike_id": vid,
                "lat": lat + (i // 2 - 2) * 15 * M_LAT,
                "lon": lon + (i // 2 - 2) * 15 * M_LON,
                "is_reserved": False,
                "is_disabled": False,
                "vehicle_type_id": TYPE_ID,
                "current_range_meters": 12000,
            }
        )
    server.route("/trotti/free_bike_status.json", doc({"bikes": bikes}))


def zone_file() -> dict[str, Any]:
    def feature(fid: str, name: str, geometry: Any) -> dict[str, Any]:
        return {
            "type": "Feature",
            "properties": {"id": fid, "name": name},
            "geometry": geometry.__geo_interface__,
        }

    return {
        "water": {
            "type": "FeatureCollection",
            "features": [feature(ZONE_ID, ZONE_NAMES["water"], square(WATER, 100))],
        },
        "no_parking": {
            "type": "FeatureCollection",
            "features": [feature("paquier", ZONE_NAMES["no_parking"], square(NO_PARKING, 100))],
        },
        "district": {
            "type": "FeatureCollection",
            "features": [feature("centre", ZONE_NAMES["district"], square(WATER, 2000))],
        },
    }


def build_hostile_city(engine: Engine, db_url: str, server: LocalHTTPServer) -> None:
    settings = settings_for(db_url)
    with Session(engine) as s, s.begin():
        for kind, doc in zone_file().items():
            zones = zones_from_geojson(json.dumps(doc), kind)
            import_zones(s, zones, kind=kind, operator=None, now=T0 - timedelta(days=30))
        import_permit(s, permit_text("trotti"), default_tolerance_m=10, source="test")
        import_permit(s, permit_text("direct"), default_tolerance_m=10, source="test")
    # the feed, through the real pipeline over HTTP
    feed_routes(server)
    ingest = IngestSettings(allowed_private_hosts=("127.0.0.1",), stale_after_s=3600)
    ingestor = Ingestor(engine, ingest, clock=lambda: T0)
    try:
        operator = OperatorSettings("trotti", OPERATOR_NAME, server.url("/trotti/gbfs.json"))
        ingestor.discover(operator)
        with engine.connect() as conn:
            feeds = conn.execute(text("SELECT id FROM feed ORDER BY id")).scalars().all()
        for feed_id in feeds:
            ingestor.poll(feed_id)
    finally:
        ingestor.close()
    # what the ingest may drop, written as the store does
    direct = Fleet(engine, "direct", payload("op-direct", "backtick"))
    direct.poll(
        [
            Vehicle(vid, WATER[0] + (i + 3) * 15 * M_LAT, WATER[1], vehicle_type_id=TYPE_ID)
            for i, vid in enumerate(DIRECT_IDS)
        ],
        T0,
    )
    evaluate(engine, T0 + timedelta(seconds=30))
    add_contact(engine, "trotti", "email", "ops@trotti.example", name=CONTACT_NAME)
    plan(engine, settings, T0 + timedelta(minutes=1))
    with Session(engine) as s, s.begin():
        generate_day(s, T0.date(), settings, T0 + timedelta(days=1))
    aggregate(
        engine,
        AggregateConfig(zone_kinds=("district",), noise_m=15.0),
        until=T0 + timedelta(days=2),
        first=T0.date(),
    )
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_log (event, actor_email, details)"
                " VALUES ('export.evidence', :who, CAST(:details AS jsonb))"
            ),
            {"who": "x@example.org", "details": json.dumps({AUDIT_DETAIL: AUDIT_DETAIL})},
        )


# --------------------------------------------------------------------------- the browser

# opens every tooltip and popup of the page's Leaflet maps; returns what they show
OPEN_ALL_JS = """() => {
  const texts = [];
  for (const name of Object.keys(window)) {
    if (!name.startsWith("map_") || !(window[name] instanceof L.Map)) continue;
    window[name].eachLayer((layer) => {
      if (layer.getTooltip && layer.getTooltip()) {
        const at = layer.getLatLng ? layer.getLatLng() : layer.getBounds().getCenter();
        layer.openTooltip(at);
        const el = layer.getTooltip().getElement();
        if (el) texts.push(el.textContent);
        layer.closeTooltip();
      }
      // the live map makes a vehicle's popup on its first tap: make it now
      const live = window.FleetMap;
      const mine = live && layer.feature && live.markers.get(layer.feature.id) === layer;
      if (mine && !layer.getPopup()) {
        layer.bindPopup(live.popupContent);
      }
      if (layer.getPopup && layer.getPopup()) {
        layer.openPopup();
        const el = layer.getPopup().getElement();
        if (el) texts.push(el.textContent);
        layer.closePopup();
      }
    });
  }
  return texts;
}"""
INLINE_SCRIPTS_JS = """() => Array.from(document.querySelectorAll("script:not([src])"))
  .filter((s) => s.type !== "application/json").map((s) => s.textContent)"""


@pytest.fixture
def hostile_server(db_url: str, engine: Engine) -> Iterator[str]:
    with LocalHTTPServer() as feed_server:
        build_hostile_city(engine, db_url, feed_server)
    add_user(engine, EMAIL, "admin")
    with served(db_url, engine) as url:
        yield url


def ids(engine: Engine, sql: str) -> list[int]:
    with engine.connect() as conn:
        return [int(x) for x in conn.execute(text(sql)).scalars()]


def test_hostile_ids_and_names_never_run_and_show_literally(
    hostile_server: str, engine: Engine, tmp_path: Path
) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh --browser")
    stored = set(ids_of_vehicles(engine))
    over_http = [v for v in VEHICLE_IDS if v in stored]
    assert over_http == VEHICLE_IDS  # the ingest keeps printable ids as they are
    assert set(DIRECT_IDS) <= stored
    cases = ids(
        engine,
        "SELECT min(id) FROM violation WHERE gbfs_id IS NOT NULL GROUP BY gbfs_id ORDER BY 1",
    )
    assert len(cases) == len(VEHICLE_IDS) + len(DIRECT_IDS)
    notices = ids(engine, "SELECT id FROM notice ORDER BY id")
    reports = ids(engine, "SELECT id FROM daily_report ORDER BY id")
    assert notices and reports
    day = T0.date().isoformat()
    pages = [
        ("/", "live"),
        ("/cases/", None),
        ("/cases/?all=1", None),
        *[(f"/cases/{c}", "case") for c in cases],
        ("/notices/", None),
        *[(f"/notices/{n}", None) for n in notices],
        ("/notices/contacts", None),
        ("/reports/", None),
        *[(f"/reports/{r}", None) for r in reports],
        (f"/stats?period={day}", "density"),
        (f"/stats?period={day}&lang=en", "density"),
        ("/stats/declared", None),
        ("/admin/users", None),
        ("/admin/audit", None),
    ]
    requests: list[str] = []
    problems: list[str] = []
    shown: dict[str, str] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.add_init_script(
                "window.__csp = []; document.addEventListener('securitypolicyviolation',"
                " (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
            )
            page = context.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: problems.append(f"{page.url}: page error: {e}"))
            sign_in(page, hostile_server)
            for path, kind in pages:
                shown[path] = visit(page, hostile_server + path, kind, problems, tmp_path)
        finally:
            browser.close()
    assert problems == []
    assert [u for u in requests if "__xss" in u] == []
    assert all(u.startswith("http://127.0.0.1:") for u in requests)

    # shown literally: ids in the case list, the live map's popups and the case maps
    listed = shown["/cases/?all=1"]
    for vid in [*VEHICLE_IDS, *DIRECT_IDS]:
        assert printable(vid) in printable(listed), vid
    for vid in VEHICLE_IDS:
        assert vid in shown["/"], vid
    for name in (ZONE_NAMES["water"], ZONE_NAMES["no_parking"]):
        assert name in shown["/"] and any(name in shown[f"/cases/{c}"] for c in cases)
    assert ZONE_NAMES["district"] in shown[f"/stats?period={day}"]
    assert OPERATOR_NAME in shown["/cases/"] and OPERATOR_NAME in shown[f"/stats?period={day}"]
    assert CONTACT_NAME in shown["/notices/contacts"]
    assert AUDIT_DETAIL in shown["/admin/audit"]
    assert ZONE_ID in "".join(shown[f"/cases/{c}"] for c in cases)


def ids_of_vehicles(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT gbfs_id FROM vehicle_current")).scalars())


def printable(value: str) -> str:
    """The text as a browser shows it (control characters and separators are not shown)."""
    return "".join(c for c in value if c.isprintable() and c not in "\u2028\u2029")


def sign_in(page: Page, server: str) -> None:
    page.goto(server + "/login")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("button.fm-primary")
    page.wait_for_url(server + "/")


def visit(page: Page, url: str, kind: str | None, problems: list[str], shots: Path) -> str:
    """Opens ``url``, opens its maps' tooltips and popups; returns all the text shown."""
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    texts: list[str] = []
    if kind is not None:
        page.wait_for_function("() => window.__fleetMapLayersDrawn === true", timeout=10_000)
        if kind == "live":
            page.wait_for_function("() => window.__fleetVehiclesDrawn > 0", timeout=10_000)
            page.locator(".leaflet-control-layers").hover()
        texts = page.evaluate(OPEN_ALL_JS)
        assert texts, f"{url}: no tooltip or popup on the map"
        drawn = page.evaluate(
            "() => document.querySelectorAll('.leaflet-overlay-pane canvas,"
            " .leaflet-overlay-pane svg path').length"
        )
        assert drawn > 0, f"{url}: nothing drawn"
    scripts: list[str] = page.evaluate(INLINE_SCRIPTS_JS)
    for script in scripts:
        if "__xss" in script or "Vélo 🚲" in script:
            problems.append(f"{url}: data in an executable inline script")
    if page.evaluate("() => window.__xss") is not None:
        problems.append(f"{url}: a payload ran (window.__xss is set)")
    problems.extend(f"{url}: CSP: {v}" for v in page.evaluate("() => window.__csp"))
    name = url.split("//", 1)[1].split("/", 1)[1].replace("/", "_").replace("?", "_") or "map"
    page.screenshot(path=str(shots / f"{name[:60]}.png"))
    return page.inner_text("body") + "\n" + "\n".join(texts)
