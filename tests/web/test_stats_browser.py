"""The statistics page in headless Chromium: charts and the density map draw with the
page's Content-Security-Policy, nothing is fetched from elsewhere."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import Engine

from fleet_monitor.stats.aggregate import aggregate
from tests.stats import scenario
from tests.stats.conftest import CFG
from tests.stats.history import History
from tests.web.conftest import PASSWORD, add_user, served
from tests.web.test_browser import ARGS, CHROMIUM

EMAIL = "chef@annecy.example"


@pytest.fixture
def server(db_url: str, engine: Engine) -> Iterator[str]:
    scenario.build(History(engine))
    aggregate(engine, CFG, until=scenario.UNTIL, first=scenario.DAY)
    add_user(engine, EMAIL, "supervisor")
    with served(db_url, engine) as url:
        yield url


def test_statistics_page_in_headless_chromium(server: str, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh --browser")
    requests: list[str] = []
    problems: list[str] = []
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
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.goto(server + "/login")
            page.fill("#email", EMAIL)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.goto(server + "/stats?period=2026-10-06&lang=en")
            page.wait_for_selector(".fm-density-map .leaflet-interactive")
            polygons = page.locator(".fm-density-map path.leaflet-interactive").count()
            assert polygons == 2  # West and East
            assert page.locator("figure.fm-chart svg").count() >= 4
            colour = page.eval_on_selector(
                ".fm-legend-scale .fm-swatch", "el => getComputedStyle(el).backgroundColor"
            )
            assert colour.startswith("rgb(")
            # changing a selector applies it at once
            with page.expect_navigation():
                page.select_option("select[name=operator]", "beta")
            assert "operator=beta" in page.url
            assert page.locator('tr[data-operator="alpha"]').count() == 0
            shots = Path(os.environ.get("FLEET_SCREENSHOTS", tmp_path))
            page.set_viewport_size({"width": 1280, "height": 5200})  # the page scrolls in <main>
            page.goto(server + "/stats?period=2026-10-06&lang=fr")
            page.wait_for_selector(".fm-density-map .leaflet-interactive")
            page.screenshot(path=str(shots / "stats.png"), full_page=True)
            problems.extend(page.evaluate("window.__csp"))
        finally:
            browser.close()
    assert problems == []
    assert all(u.startswith("http://127.0.0.1:") for u in requests)
