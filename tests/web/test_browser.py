"""The map in a real headless Chromium, served by waitress against a test database.

Debian's ``chromium`` is required (``scripts/setup.sh --browser`` installs it,
as CI does): this test fails, never skips, when it is missing. No tile server
is reachable (the configured one is a closed local port): vehicles and zones
must show anyway. Every request must stay on 127.0.0.1, and the page must
raise no CSP violation.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import Engine

from gbfs_ingest.model import Vehicle
from tests.web.conftest import LAT, LON, PASSWORD, T0, Fleet, add_user, add_zone, served

CHROMIUM = Path("/usr/bin/chromium")
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
OPERATORS = (("velo-lac", "Vélo Lac"), ("trott", "Trott"), ("roule", "Roule"))
PER_OPERATOR = 100
EMAIL = "agent@annecy.example"

COUNT_JS = """() => {
  const map = window[JSON.parse(document.getElementById("fm-config").textContent).mapVar];
  let vehicles = 0, zones = 0;
  map.eachLayer((l) => {
    if (l instanceof L.CircleMarker && l.feature && l.feature.properties.gbfs_id) vehicles++;
    if (l instanceof L.Polygon) zones++;
  });
  return {vehicles, zones};
}"""
POINT_JS = """(gbfsId) => {
  const map = window[JSON.parse(document.getElementById("fm-config").textContent).mapVar];
  let found = null;
  map.eachLayer((l) => { if (l.feature && l.feature.properties.gbfs_id === gbfsId) found = l; });
  const p = map.latLngToContainerPoint(found.getLatLng());
  const box = map.getContainer().getBoundingClientRect();
  return {x: box.left + p.x, y: box.top + p.y};
}"""


def city_fleet(slug: str, k: int) -> list[Vehicle]:
    """100 vehicles of operator ``k`` in its own block of a 30 x 10 grid around the old town."""
    out = []
    for i in range(PER_OPERATOR):
        col, row = k * 10 + i % 10, i // 10
        v = Vehicle(
            f"{slug[:1].upper()}{i}",
            LAT + (row - 4.5) * 0.0012,
            LON + (col - 14.5) * 0.0016,
            vehicle_type_id="scooter",
            current_fuel_percent=0.6,
            current_range_meters=18_000.0,
        )
        v.is_disabled = i % 10 == 3
        out.append(v)
    return out


@pytest.fixture
def server(db_url: str, engine: Engine) -> Iterator[str]:
    for k, (slug, name) in enumerate(OPERATORS):
        Fleet(engine, slug, name).poll(city_fleet(slug, k), T0)
    add_zone(
        engine,
        "no_parking",
        "Pâquier",
        "POLYGON((6.128 45.900, 6.136 45.900, 6.136 45.904, 6.128 45.904, 6.128 45.900))",
    )
    add_zone(
        engine,
        "water",
        "Lac d'Annecy",
        "POLYGON((6.150 45.890, 6.175 45.890, 6.175 45.915, 6.150 45.915, 6.150 45.890))",
    )
    add_user(engine, EMAIL, "officer")
    with served(db_url, engine) as url:
        yield url


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert len(data) > 10_000, f"{path} is suspiciously small"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def open_popup(page: Page, gbfs_id: str) -> str:
    point = page.evaluate(POINT_JS, gbfs_id)
    page.mouse.click(point["x"], point["y"])
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible", timeout=5000)
    return popup.inner_text()


def test_map_in_headless_chromium(server: str, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium; "
            "run scripts/setup.sh --browser (as scripts/test.sh and CI do)"
        )
    requests: list[str] = []
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(
                viewport={"width": 1280, "height": 800},
                geolocation={"latitude": 45.8990, "longitude": 6.1400},
                permissions=["geolocation"],
            )
            context.add_init_script(
                "window.__csp = []; document.addEventListener('securitypolicyviolation',"
                " (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
            )
            page = context.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on(
                "console",
                lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
            )
            run_scenario(page, server, tmp_path)
            problems.extend(page.evaluate("window.__csp"))
        finally:
            browser.close()
    assert problems == []
    assert requests and all(u.startswith("http://127.0.0.1:") for u in requests), {
        u for u in requests if not u.startswith("http://127.0.0.1:")
    }
    assert any(u.startswith("http://127.0.0.1:9/") for u in requests)  # tiles were tried


def run_scenario(page: Page, server: str, tmp_path: Path) -> None:
    total = len(OPERATORS) * PER_OPERATOR
    disabled = len(OPERATORS) * 10

    # sign in (the map needs an account)
    page.goto(server + "/")
    assert re.search(r"/login$", page.url), page.url
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("button.fm-primary")
    page.wait_for_url(server + "/")
    status = page.locator("#fm-status")
    status.filter(has_text=f"{total} sur {total} véhicules").wait_for(timeout=10_000)

    # every vehicle is drawn on the canvas, zones too, without any tile
    counts: dict[str, Any] = page.evaluate(COUNT_JS)
    assert counts == {"vehicles": total, "zones": 2}
    assert page.locator(".leaflet-overlay-pane canvas").count() == 1
    assert page.locator(".leaflet-overlay-pane svg").count() == 0
    assert page.locator(".leaflet-tile-loaded").count() == 0

    # a popup, in French, in the city's time zone (T0 = 08:00 UTC = 09:00 in November)
    text = open_popup(page, "T12")
    page.wait_for_function(  # Leaflet fades popups in
        "() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'"
    )
    assert "Opérateur\tTrott" in text and "Identifiant\tT12" in text
    assert "Garé depuis\t02/11/2026 09:00 (au moins, déjà présent au premier relevé)" in text
    assert "Batterie\t60 %" in text.replace("\u202f", " ").replace("\xa0", " ")
    page.screenshot(path=str(tmp_path / "map_fr_popup.png"))
    page.keyboard.press("Escape")

    # toggle layers: an operator in the legend, a state filter, a zone in the layer control
    page.locator('input[data-operator="trott"]').uncheck()
    assert page.evaluate(COUNT_JS)["vehicles"] == total - PER_OPERATOR
    assert page.locator('[data-count-for="trott"]').inner_text() == f"({PER_OPERATOR})"
    page.locator('input[data-operator="trott"]').check()
    page.locator('input[data-state="disabled"]').uncheck()
    assert page.evaluate(COUNT_JS)["vehicles"] == total - disabled
    status.filter(has_text=f"{total - disabled} sur {total}").wait_for()
    page.locator('input[data-state="disabled"]').check()
    page.fill("#fm-min-days", "10000")
    assert page.evaluate(COUNT_JS)["vehicles"] == 0
    page.fill("#fm-min-days", "0")
    page.locator(".leaflet-control-layers").hover()
    zone_toggle = page.locator(".leaflet-control-layers-overlays label", has_text="Plans d’eau")
    zone_toggle.locator("input").dispatch_event("click")  # a tap; no race with the unfolding
    assert not zone_toggle.locator("input").is_checked()
    assert page.evaluate(COUNT_JS) == {"vehicles": total, "zones": 1}
    zone_toggle.locator("input").dispatch_event("click")
    assert page.evaluate(COUNT_JS)["zones"] == 2
    page.mouse.move(600, 700)
    page.screenshot(path=str(tmp_path / "map_fr.png"))

    # switch the language: everything in English, remembered on reload
    page.click("a.fm-lang")
    page.wait_for_url(re.compile(r"lang=en"))
    status.filter(has_text=f"{total} of {total} vehicles").wait_for(timeout=10_000)
    assert page.locator("html").get_attribute("lang") == "en"
    text = open_popup(page, "V7")
    assert "Operator\tVélo Lac" in text and "Parked since\t02/11/2026, 09:00" in text
    page.keyboard.press("Escape")
    page.goto(server + "/")
    assert page.locator("#fm-legend summary").inner_text() == "Legend and filters"

    # locate me: the map centres on the (granted) position and marks it
    page.click(".fm-locate-button")
    page.wait_for_function(
        "() => { const m = window[JSON.parse(document.getElementById('fm-config')"
        ".textContent).mapVar]; return m.getZoom() === 17; }"
    )
    centre = page.evaluate(
        "() => window[JSON.parse(document.getElementById('fm-config').textContent).mapVar]"
        ".getCenter()"
    )
    assert centre["lat"] == pytest.approx(45.899, abs=1e-3)
    assert centre["lng"] == pytest.approx(6.14, abs=1e-3)
    # the tablet's touch targets are large enough
    for selector in (
        ".fm-locate-button",
        ".leaflet-control-zoom-in",
        "a.fm-lang",
        "#fm-legend summary",
    ):
        box = page.locator(selector).first.bounding_box()
        assert box and box["height"] >= 44 and box["width"] >= 44, selector

    shot = tmp_path / "map.png"
    page.goto(server + "/")
    status.filter(has_text=f"{total} of {total}").wait_for(timeout=10_000)
    page.screenshot(path=str(shot))
    assert png_size(shot) == (1280, 800)
    assert png_size(tmp_path / "map_fr_popup.png") == (1280, 800)
    assert png_size(tmp_path / "map_fr.png") == (1280, 800)
