"""Vehicles listed without a position (docked at a station, GBFS 2.x) cannot be
drawn: the API says how many it leaves out (``positionless``, under the same
filters) and the map's status line states them next to its count (issue 13)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from playwright.sync_api import sync_playwright
from sqlalchemy import Engine

from gbfs_ingest.model import Vehicle
from tests.web.conftest import PASSWORD, T0, Fleet, add_user, served, vehicles
from tests.web.test_browser import ARGS, CHROMIUM

EMAIL = "agent@annecy.example"


def docked(n: int, prefix: str, disabled: int = 0) -> list[Vehicle]:
    out = []
    for i in range(n):
        v = Vehicle(f"{prefix}{i}", None, None, station_id="st-1", vehicle_type_id="scooter")
        v.is_disabled = i < disabled
        out.append(v)
    return out


@pytest.fixture
def fleets(engine: Engine) -> None:
    Fleet(engine, "velo-lac", "Vélo Lac").poll(vehicles(3, "L") + docked(4, "D", disabled=1), T0)
    Fleet(engine, "trott", "Trott").poll(vehicles(2, "T"), T0)


def test_api_counts_the_vehicles_it_cannot_draw(client: FlaskClient, fleets: None) -> None:
    data = client.get("/api/vehicles").get_json(force=True)
    assert len(data["features"]) == 5 and data["positionless"] == 4
    assert all(f["geometry"]["coordinates"] for f in data["features"])
    assert client.get("/api/vehicles?operator=trott").get_json(force=True)["positionless"] == 0
    one = client.get("/api/vehicles?operator=velo-lac&state=disabled").get_json(force=True)
    assert one["positionless"] == 1  # the same filters as the features


@pytest.fixture
def server(db_url: str, engine: Engine, fleets: None) -> Iterator[str]:
    add_user(engine, EMAIL, "officer")
    with served(db_url, engine) as url:
        yield url


def test_map_status_states_the_vehicles_not_drawn(server: str, tmp_path: Path) -> None:
    assert CHROMIUM.exists(), "run scripts/setup.sh --browser"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(server + "/login")
            page.fill("#email", EMAIL)
            page.fill("#password", PASSWORD)
            page.click("button.fm-primary")
            page.wait_for_url(server + "/")
            status = page.locator("#fm-status")
            status.filter(has_text="5 sur 5 véhicules").wait_for(timeout=10_000)
            text = status.inner_text()
            assert "4 de plus listés sans position (à une station), absents de la carte" in text
            page.screenshot(path=str(tmp_path / "map_positionless.png"))
            Path("var").mkdir(exist_ok=True)
            page.screenshot(path="var/map_positionless.png")  # to look at
        finally:
            browser.close()
