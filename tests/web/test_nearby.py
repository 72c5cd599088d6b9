"""'Around me': vehicles and open cases within 100 m of the tablet, by distance."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import sync_playwright
from sqlalchemy import Engine

from tests.notices.helpers import WATER, World
from tests.web.conftest import PASSWORD, add_user, served, signed_in
from tests.web.test_accessibility import AXE_JS, RUN_AXE
from tests.web.test_browser import ARGS, CHROMIUM

SHOTS = Path(__file__).parents[2] / "var" / "screenshots"
EMAIL = "terrain@annecy.example"


def test_api_lists_by_distance_within_100_m(web: Flask, engine: Engine, world: World) -> None:
    officer = signed_in(web, engine, "agent@annecy.example", "officer")
    lat, lon = WATER
    answer = officer.get(f"/api/nearby?lat={lat + 0.0002}&lon={lon}").get_json()
    assert answer["radius_m"] == 100
    cases = answer["cases"]
    assert {c["id"] for c in cases} == set(world.violation.values())
    for items in (cases, answer["vehicles"]):
        distances = [i["distance_m"] for i in items]
        assert distances == sorted(distances) and all(d <= 100 for d in distances)
        assert all(re.fullmatch(r"geo:-?\d+\.\d{6},-?\d+\.\d{6}", i["geo"]) for i in items)
    assert 15 <= cases[0]["distance_m"] <= 30  # 0.0002° of latitude is about 22 m
    # far away: nothing
    far = officer.get(f"/api/nearby?lat={lat + 0.01}&lon={lon}").get_json()
    assert far["cases"] == [] and far["vehicles"] == []
    # bad input: a clear error
    assert officer.get("/api/nearby?lat=north&lon=6").status_code == 400
    assert officer.get("/api/nearby?lat=95&lon=6").status_code == 400
    # an operator sees its own fleet only
    trotti = signed_in(web, engine, "ops@trotti.example", "operator", "trotti")
    mine = trotti.get(f"/api/nearby?lat={lat}&lon={lon}").get_json()
    assert [c["id"] for c in mine["cases"]] == [world.violation["trotti"]]


@pytest.fixture
def server(db_url: str, engine: Engine, world: World) -> Iterator[str]:
    add_user(engine, EMAIL, "officer")
    with served(db_url, engine) as url:
        yield url


def test_nearby_page_on_a_tablet(server: str, world: World) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh --browser")
    SHOTS.mkdir(parents=True, exist_ok=True)
    lat, lon = WATER
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(
                viewport={"width": 768, "height": 1024},
                geolocation={"latitude": lat + 0.0002, "longitude": lon, "accuracy": 8},
                permissions=["geolocation"],
            )
            context.add_init_script(path=str(AXE_JS))
            page = context.new_page()
            page.goto(server + "/login")
            page.fill("#email", EMAIL)
            page.fill("#password", PASSWORD)
            page.click("button.fm-primary")
            page.wait_for_url(server + "/")
            page.click("text=Autour de moi")
            page.wait_for_function("() => window.__fleetNearbyShown === true", timeout=10_000)
            cases = page.locator("#fm-nearby-cases li")
            assert cases.count() == len(world.violation)
            first = cases.first.inner_text()
            assert re.match(r"\d+\s?m · ", first), first
            link = cases.first.locator("a", has_text="Dossier n°")
            assert link.get_attribute("href", timeout=1000).startswith("/cases/")  # type: ignore[union-attr]
            geo = cases.first.locator("a", has_text="M’y rendre").get_attribute("href")
            assert geo and geo.startswith("geo:45.905")
            assert "± 8 m" in page.locator("#fm-nearby-status").inner_text()
            assert page.evaluate(RUN_AXE) == []
            page.screenshot(path=str(SHOTS / "nearby_768x1024.png"), full_page=True)
        finally:
            browser.close()
