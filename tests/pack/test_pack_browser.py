"""The pack's page in headless Chromium: drawn without script, no CSP violation, no
request leaving the app."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import Engine

from tests.pack import scenario
from tests.web.conftest import PASSWORD, add_user, served
from tests.web.test_browser import ARGS, CHROMIUM

EMAIL = "negociation@annecy.example"


def test_pack_page_in_headless_chromium(
    pack_db: tuple[str, Engine, scenario.World], tmp_path: Path
) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh --browser")
    url, engine, _world = pack_db
    add_user(engine, EMAIL, "supervisor")
    requests: list[str] = []
    problems: list[str] = []
    with served(url, engine) as server, sync_playwright() as pw:
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
            page.goto(server + "/stats/pack?period=2026-08..2026-09&lang=fr")
            assert page.locator("figure.chart svg").count() == 7
            assert page.locator("td.status-depasse").count() == 6
            box = page.locator("figure.map svg").first.bounding_box()
            assert box is not None and box["width"] > 400 and box["height"] > 300
            shots = Path(os.environ.get("FLEET_SCREENSHOTS", tmp_path))
            page.set_viewport_size({"width": 1280, "height": 6400})
            page.screenshot(path=str(shots / "pack.png"), full_page=True)
            problems.extend(page.evaluate("window.__csp"))
        finally:
            browser.close()
    assert problems == []
    assert all(u.startswith("http://127.0.0.1:") for u in requests)
