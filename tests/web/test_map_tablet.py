"""The officers' map on a tablet, in headless Chromium (1024x768 and 768x1024).

- Times come from the service's clock (``FLEET_CLOCK``, the demo's simulated
  one), not the browser's: popups' parked durations and the "parked at least N
  days" filter, in a browser whose clock is a month away from the service's.
- Data health: during an operator's feed outage, a banner, its vehicles greyed
  and their popups saying "last known position at HH:MM" (city time zone).
- Legible at any fleet size: 1,500 vehicles give way to the density view at city
  zoom, zones still drawn; each vehicle again when zoomed in; violation shapes.
- Tablet layout: legend folded, never over the layer list; the list of the
  vehicles on screen reachable with the keyboard; pinch-zoom allowed.
Screenshots go to ``var/screenshots/`` (not committed) to be looked at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import Engine, text

from fleet_monitor.web import create_app
from fleet_monitor.web.map_marks import STALE_COLOUR, vehicle_rule_marks
from fleet_monitor.wsgi_thread import serve_wsgi
from gbfs_ingest.model import Vehicle
from tests.web.conftest import (
    DEAD_TILES,
    LAT,
    LON,
    PASSWORD,
    T0,
    Fleet,
    add_user,
    add_zone,
    make_settings,
)
from tests.web.test_accessibility import AXE_JS, RUN_AXE
from tests.web.test_browser import ARGS, CHROMIUM
from tests.web.test_map_violations import add_violation

SHOTS = Path(__file__).parents[2] / "var" / "screenshots"
EMAIL = "tablette@annecy.example"
SERVICE_NOW = T0 + timedelta(days=3, hours=2)  # 11:00 in Paris, 5 Nov 2026
# the browser's clock: a month later than the service's (the demo's clock is simulated)
BROWSER_NOW_MS = int((T0 + timedelta(days=33)).timestamp() * 1000)
PER_OPERATOR = 500
OPERATORS = (("velo-lac", "Vélo Lac"), ("trott", "Trott"), ("roule", "Roule"))
MAP = "window[JSON.parse(document.getElementById('fm-config').textContent).mapVar]"

FIND_JS = """(gbfsId) => { let found = null;
  window.FleetMap.markers.forEach((l) => {
    if (l.feature.properties.gbfs_id === gbfsId) found = l;
  });
  return found && {color: found.options.color, fill: found.options.fillColor,
                   shape: found.options.shape || null, dot: found.options.dotColour || null}; }"""
DRAWN_JS = (
    "() => { const map = "
    + MAP
    + """; let vehicles = 0, zones = 0, cells = 0;
  map.eachLayer((l) => {
    if (l instanceof L.CircleMarker && l.feature) vehicles++;
    if (l instanceof L.Polygon) zones++;
    const icon = l.options && l.options.icon;
    if (icon && icon.options.className.startsWith('fm-cell')) cells++;
  });
  return {vehicles, zones, cells}; }"""
)


def spread_fleet(prefix: str, k: int) -> list[Vehicle]:
    """500 vehicles of operator ``k`` spread over the city (a 3 x 4 km area)."""
    out = []
    for i in range(PER_OPERATOR):
        col, row = (i * 7 + k * 13) % 50, (i * 11 + k * 5) % 30
        out.append(
            Vehicle(
                f"{prefix}{i}",
                LAT + (row - 15) * 0.0012 + k * 0.0002,
                LON + (col - 25) * 0.0016,
                vehicle_type_id="scooter",
                current_fuel_percent=0.6,
            )
        )
    return out


@pytest.fixture
def server(db_url: str, engine: Engine) -> Iterator[str]:
    fleets = {}
    for k, (slug, name) in enumerate(OPERATORS):
        fleets[slug] = Fleet(engine, slug, name)
        fleets[slug].poll(spread_fleet(slug[0].upper(), k), T0)
    # near the old town, at the map's opening view: one vehicle per rule shape
    fleets["velo-lac"].poll(
        spread_fleet("V", 0)
        + [
            Vehicle(f"X{i}", LAT + 0.0004 * i, LON - 0.003, vehicle_type_id="bike")
            for i in range(3)
        ],
        T0 + timedelta(minutes=1),
    )
    add_violation(engine, "velo-lac", "X0", "in_pedestrian_area")
    add_violation(engine, "velo-lac", "X1", "in_no_parking_area")
    # trott's feed has been down since 10:00 (Paris): its data is from 09:00
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO outage (feed_id, kind, started_at, detail)"
                " VALUES (:feed, 'http_error', :at, 'HTTP 503')"
            ),
            {"feed": fleets["trott"].feed_id, "at": T0 + timedelta(hours=1)},
        )
    add_zone(
        engine,
        "pedestrian",
        "Vieille ville",
        "POLYGON((6.118 45.893, 6.130 45.893, 6.130 45.901, 6.118 45.901, 6.118 45.893))",
    )
    add_user(engine, EMAIL, "officer")
    app = create_app(
        make_settings(db_url, tile_url=DEAD_TILES),
        engine=engine,
        config={"SESSION_COOKIE_SECURE": False, "FLEET_CLOCK": lambda: SERVICE_NOW},
    )
    with serve_wsgi(app) as url:
        yield url


def sign_in(page: Page, server: str) -> None:
    page.goto(server + "/")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("button.fm-primary")
    page.wait_for_url(server + "/")
    page.wait_for_function("() => window.__fleetVehiclesDrawn !== undefined", timeout=15_000)


def popup_of(page: Page, gbfs_id: str) -> str:
    page.evaluate(
        "(g) => { const map = "
        + MAP
        + "; map.eachLayer((l) => { if (l.feature && l.feature.properties.gbfs_id === g) {"
        " map.setView(l.getLatLng(), 18, {animate: false}); window.FleetMap.openPopup(l); } }); }",
        gbfs_id,
    )
    popup = page.locator(".leaflet-popup-content", has_text=gbfs_id)
    popup.wait_for(state="visible", timeout=5000)
    return re.sub(r"[\u202f\xa0]", " ", popup.inner_text())


@pytest.mark.parametrize("size", [(1024, 768), (768, 1024)], ids=["landscape", "portrait"])
def test_map_on_a_tablet(server: str, size: tuple[int, int]) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh --browser")
    SHOTS.mkdir(parents=True, exist_ok=True)
    width, height = size
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            # the browser's clock is a month off: nothing may depend on it
            context.add_init_script(f"Date.now = () => {BROWSER_NOW_MS};")
            context.add_init_script(path=str(AXE_JS))
            page = context.new_page()
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            sign_in(page, server)
            run(page, width, height)
        finally:
            browser.close()
    assert problems == []


def run(page: Page, width: int, height: int) -> None:
    name = f"{width}x{height}"
    # pinch-zoom allowed
    viewport = page.locator('meta[name="viewport"]')
    assert viewport.count() == 1
    assert "maximum-scale" not in (viewport.get_attribute("content") or "")

    # legend folded on a tablet; the layer list opens over it, never under
    assert page.locator("#fm-legend").get_attribute("open") is None
    page.locator("#fm-legend summary").click()
    page.locator(".leaflet-control-layers").hover()
    box = page.locator(".leaflet-control-layers-list").bounding_box()
    assert box is not None
    for dx, dy in ((0.5, 0.5), (0.2, 0.9), (0.8, 0.9)):
        x, y = box["x"] + box["width"] * dx, box["y"] + box["height"] * dy
        on_top = page.evaluate(
            "([x, y]) => { const e = document.elementFromPoint(x, y);"
            " return e.closest('.leaflet-control-layers') ? true : e.outerHTML.slice(0, 200); }",
            [x, y],
        )
        assert on_top is True, (name, dx, dy, on_top)
    page.mouse.move(width / 2, height / 2)
    page.locator("#fm-legend summary").click()

    # outage: a banner, trott's vehicles grey, popups with the last known position
    banner = page.locator("#fm-outage")
    banner.wait_for(state="visible")
    text_banner = banner.inner_text()
    assert "Trott" in text_banner and "10:00" in text_banner and "09:00" in text_banner, text_banner
    assert "Vélo Lac" not in text_banner
    assert page.evaluate(FIND_JS, "T7")["color"] == STALE_COLOUR
    assert page.evaluate(FIND_JS, "V7")["color"] != STALE_COLOUR
    age = page.locator('[data-age-for="velo-lac"]').text_content() or ""
    assert "3,1 jours" in re.sub(r"[\u202f\xa0]", " ", age), (
        age
    )  # 09:00 on the 2nd to 11:00 on the 5th

    # 1,500 vehicles: density at city zoom, the zones still drawn
    page.evaluate(f"() => {{ {MAP}.setView([{LAT}, {LON}], 13, {{animate: false}}); }}")
    page.wait_for_function("() => window.__fleetDensity && window.__fleetDensity.on")
    drawn: dict[str, Any] = page.evaluate(DRAWN_JS)
    assert drawn["vehicles"] == 0 and drawn["cells"] > 10 and drawn["zones"] >= 1, drawn
    page.screenshot(path=str(SHOTS / f"map_1500_density_{name}.png"))
    assert page.evaluate(RUN_AXE) == []  # the density discs, the banner, the panels
    # zoomed in: each vehicle again, violations as shapes over the operator's dot
    page.evaluate(
        f"() => {{ {MAP}.setView([{LAT + 0.0004}, {LON - 0.003}], 17, {{animate: false}}); }}"
    )
    page.wait_for_function("() => window.__fleetDensity && !window.__fleetDensity.on")
    assert page.evaluate(DRAWN_JS)["vehicles"] > 0
    pedestrian = page.evaluate(FIND_JS, "X0")
    RULE_MARKS = vehicle_rule_marks()
    colour, shape = RULE_MARKS["in_pedestrian_area"]
    assert pedestrian["color"] == colour and pedestrian["shape"] == shape
    assert pedestrian["dot"] == page.evaluate(FIND_JS, "X2")["fill"]  # the operator's colour
    assert page.evaluate(FIND_JS, "X1")["shape"] == RULE_MARKS["in_no_parking_area"][1]
    page.screenshot(path=str(SHOTS / f"map_shapes_{name}.png"))

    # the service's clock: parked 3 days 2 hours (not 33 days, the browser's clock)
    text_popup = popup_of(page, "V7")
    assert "3,1 jours" in text_popup, text_popup
    text_popup = popup_of(page, "T7")
    assert "Panne du flux : dernière position connue à 09:00" in text_popup, text_popup
    page.keyboard.press("Escape")
    page.evaluate(f"() => {{ {MAP}.setView([{LAT}, {LON}], 13, {{animate: false}}); }}")
    page.locator("#fm-legend summary").click()
    page.fill("#fm-min-days", "3")
    page.locator("#fm-status").filter(has_text="1 503 sur 1 503").wait_for()
    page.fill("#fm-min-days", "4")
    page.locator("#fm-status").filter(has_text="0 sur 1 503").wait_for()
    page.fill("#fm-min-days", "0")
    page.locator("#fm-legend summary").click()

    # the list of the vehicles on screen, with the keyboard only
    page.evaluate(
        f"() => {{ {MAP}.setView([{LAT + 0.0004}, {LON - 0.003}], 17, {{animate: false}}); }}"
    )
    page.locator("#fm-list summary").focus()
    page.keyboard.press("Enter")
    first = page.locator(".fm-list-item").first
    first.wait_for()
    # violations first (the most urgent rule first), then the longest parked
    assert first.inner_text().startswith("Vélo Lac · X1 · disponible"), first.inner_text()
    first.focus()
    page.keyboard.press("Enter")
    page.locator(".leaflet-popup-content", has_text="X1").wait_for(state="visible")
    page.screenshot(path=str(SHOTS / f"map_list_{name}.png"))
