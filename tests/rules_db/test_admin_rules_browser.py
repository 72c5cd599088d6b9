"""/admin/rules in headless Chromium: the configuration errors an evaluation
recorded are listed, readable on a laptop screen and on a phone (long zone ids
and reasons wrap inside the page), in French and in English."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import Engine

from fleet_monitor.web import create_app
from fleet_monitor.wsgi_thread import serve_wsgi
from tests.rules_db.conftest import permit_toml
from tests.rules_db.fleet import Fleet, no_parking_square
from tests.rules_db.test_config_safety import add_raw_zone, bowtie_wkt, tram_wkt
from tests.web.conftest import PASSWORD, add_user, make_settings
from tests.web.test_browser import ARGS, CHROMIUM, png_size

T0 = datetime(2025, 6, 3, 8, 0, tzinfo=UTC)
EMAIL = "admin@annecy.example"


@pytest.fixture
def server(db_url: str, engine: Engine) -> Iterator[str]:
    fleet = Fleet(engine, "trotti")
    fleet.zones([no_parking_square()], "no_parking", T0)
    fleet.permit(permit_toml("trotti", max_idle="30m"))
    fleet.poll(T0, {"a": (50, 50)})
    add_raw_zone(engine, "tram_tracks:ligne-1-" + "x" * 60, "tram_tracks", tram_wkt(300), -5.0)
    add_raw_zone(engine, "water:bowtie", "water", bowtie_wkt())
    fleet.evaluate(T0 + timedelta(minutes=1))
    add_user(engine, EMAIL, "admin")
    app = create_app(make_settings(db_url), engine=engine, config={"SESSION_COOKIE_SECURE": False})
    with serve_wsgi(app, threads=2) as url:
        yield url


def test_admin_rules_page_in_headless_chromium(server: str, tmp_path: Path) -> None:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing (scripts/setup.sh --browser)"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            for width, name in ((1280, "laptop"), (390, "phone")):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.goto(f"{server}/login")
                page.fill("input[name=email]", EMAIL)
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(f"{server}/")
                page.click("text=Configuration des règles")  # the admin menu's link
                page.wait_for_url(f"{server}/admin/rules")
                rows = page.locator("#fm-issues-current tbody tr")
                assert rows.count() == 2
                assert "Ignoré" in rows.nth(0).inner_text()  # the error before the warning
                assert "buffer_m" in rows.nth(0).inner_text()
                assert "Utilisé, avec un avertissement" in rows.nth(1).inner_text()
                # nothing wider than the screen but the table's own scroller
                overflow = page.evaluate(
                    "() => document.documentElement.scrollWidth - window.innerWidth"
                )
                assert overflow <= 0, f"{name}: the page scrolls sideways by {overflow}px"
                shot = tmp_path / f"admin_rules_{name}.png"
                page.screenshot(path=str(shot), full_page=True)
                assert png_size(shot)[0] == width
                page.click("a.fm-lang")
                assert "Rule configuration" in page.locator("h2").first.inner_text()
                page.close()
        finally:
            browser.close()
