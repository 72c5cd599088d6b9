"""The residents' page in a real headless Chromium: tap the map, send, get a reference;
the officer finds the case in the inbox. Screenshots go to var/ to be looked at."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import Engine, text

from tests.web.conftest import PASSWORD, Fleet, add_user, served, vehicles
from tests.web.test_browser import ARGS, CHROMIUM

EMAIL = "agent@annecy.example"


@pytest.fixture
def server(db_url: str, engine: Engine) -> Iterator[str]:
    Fleet(engine, "trott", "Trott").poll(vehicles(3, "T"), datetime.now(UTC))
    add_user(engine, EMAIL, "officer")
    with served(db_url, engine) as url:
        yield url


def test_resident_reports_a_vehicle_by_tapping_the_map(server: str, engine: Engine) -> None:
    assert CHROMIUM.exists(), "run scripts/setup.sh --browser"
    Path("var").mkdir(exist_ok=True)
    csp: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 420, "height": 900}, locale="fr-FR")
            page.on(
                "console", lambda m: csp.append(m.text) if "Content Security" in m.text else None
            )
            page.goto(server + "/signaler")
            page.locator("#fm-resident-map").wait_for()
            # the map opens on the city centre, where T0 is: tap its middle
            box = page.locator("#fm-resident-map").bounding_box()
            assert box is not None
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            assert re.search(
                r"45\.899\d*, 6\.129\d*", page.locator("#fm-position-text").inner_text()
            )
            page.fill("#fm-description", "Trottinette en travers du trottoir")
            page.screenshot(path="var/resident_form.png", full_page=True)
            page.click("button.fm-primary")
            page.wait_for_selector("text=Merci")
            reference = re.search(r"R-[0-9A-F]{10}", page.content())
            assert reference is not None
            page.screenshot(path="var/resident_thanks.png")
            # the officer's inbox
            page.goto(server + "/login")
            page.fill("#email", EMAIL)
            page.fill("#password", PASSWORD)
            page.click("button.fm-primary")
            page.wait_for_url(server + "/")
            page.goto(server + "/signalements")
            assert reference.group() in page.content()
            page.set_viewport_size({"width": 1280, "height": 800})
            page.screenshot(path="var/resident_inbox.png", full_page=True)
            page.click(f"text={reference.group()}")
            page.wait_for_selector("text=Trottinette en travers du trottoir")
            page.screenshot(path="var/resident_case.png", full_page=True)
        finally:
            browser.close()
    assert csp == []
    with engine.connect() as conn:
        (matched,) = conn.execute(text("SELECT matched FROM resident_report")).one()
    assert matched and matched[0]["gbfs_id"] == "T0"
