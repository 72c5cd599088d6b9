"""The map as of a time: yesterday's positions and violations from the stored history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import Engine

from fleet_monitor.web import create_app
from fleet_monitor.wsgi_thread import serve_wsgi
from tests.web.conftest import (
    DEAD_TILES,
    LON,
    PASSWORD,
    T0,
    Fleet,
    add_user,
    make_settings,
    signed_in,
    vehicles,
)
from tests.web.test_browser import ARGS, CHROMIUM

NOW = T0 + timedelta(days=1, hours=1)
EMAIL = "histoire@annecy.example"
MOVED_LON = LON + 0.01  # about 780 m east


@pytest.fixture
def moved(engine: Engine) -> None:
    fleet = Fleet(engine, "velo-lac", "Vélo Lac")
    fleet.poll(vehicles(3, "L"), T0)  # yesterday: on the line at LON
    fleet.poll(vehicles(3, "L", lon=MOVED_LON), T0 + timedelta(days=1))  # today: moved east


def app_at_now(db_url: str, engine: Engine):  # type: ignore[no-untyped-def]
    app = create_app(
        make_settings(db_url, tile_url=DEAD_TILES),
        engine=engine,
        config={"SESSION_COOKIE_SECURE": False, "FLEET_CLOCK": lambda: NOW},
    )
    app.testing = True
    return app


def lons(collection: dict) -> set[float]:  # type: ignore[type-arg]
    return {round(f["geometry"]["coordinates"][0], 4) for f in collection["features"]}


def test_api_as_of_a_past_time(db_url: str, engine: Engine, moved: None) -> None:
    client = signed_in(app_at_now(db_url, engine), engine, "o@annecy.example", "officer")
    live = client.get("/api/vehicles").get_json()
    assert lons(live) == {round(MOVED_LON, 4)} and live["as_of"] is None
    past = client.get(
        "/api/vehicles", query_string={"at": (T0 + timedelta(hours=1)).isoformat()}
    ).get_json()
    assert lons(past) == {round(LON, 4)} and len(past["features"]) == 3
    assert past["as_of"] == past["now"] == "2026-11-02T09:00:00Z"
    before = client.get(
        "/api/vehicles", query_string={"at": (T0 - timedelta(hours=1)).isoformat()}
    ).get_json()
    assert before["features"] == []
    for bad in ("yesterday", (NOW - timedelta(days=8)).isoformat(), "2026-11-02T09:00:00"):
        assert client.get("/api/vehicles", query_string={"at": bad}).status_code == 400


@pytest.fixture
def server(db_url: str, engine: Engine, moved: None) -> Iterator[str]:
    add_user(engine, EMAIL, "officer")
    with serve_wsgi(app_at_now(db_url, engine)) as url:
        yield url


LONS_JS = """() => {
  const out = new Set();
  window.FleetMap.markers.forEach((m) => out.add(Math.round(m.getLatLng().lng * 1e4) / 1e4));
  return [...out];
}"""


def test_time_control_shows_yesterday(server: str) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh --browser")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1024, "height": 768})
            page.goto(server + "/login")
            page.fill("#email", EMAIL)
            page.fill("#password", PASSWORD)
            page.click("button.fm-primary")
            page.wait_for_url(server + "/")
            page.wait_for_function("() => window.__fleetVehiclesDrawn === 3")
            assert page.evaluate(LONS_JS) == [round(MOVED_LON, 4)]
            page.locator("#fm-legend summary").click()
            slider = page.locator("#fm-time")
            slider.focus()
            slider.fill("-24")  # 24 hours back, with the keyboard-reachable slider
            page.wait_for_function(
                f"() => {{ const s = new Set(); window.FleetMap.markers.forEach((m) =>"
                f" s.add(Math.round(m.getLatLng().lng * 1e4) / 1e4));"
                f" return s.size === 1 && s.has({round(LON, 4)}); }}"
            )
            banner = page.locator("#fm-asof")
            assert banner.is_visible() and "historique" in banner.inner_text()
            page.click("#fm-time-now")
            page.wait_for_function(
                f"() => {{ let ok = true; window.FleetMap.markers.forEach((m) =>"
                f" {{ if (Math.round(m.getLatLng().lng * 1e4) / 1e4 !== {round(MOVED_LON, 4)})"
                f" ok = false; }}); return ok; }}"
            )
            assert not banner.is_visible()
        finally:
            browser.close()
