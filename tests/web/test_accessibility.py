"""axe-core finds no WCAG 2.1 A/AA violation on the officers' main pages.

axe-core's ``axe.min.js`` comes from the ``axe-playwright-python`` package (a
dev dependency) and is injected from disk by Chromium's DevTools protocol (an
init script: no network, and the pages' CSP stays as it is). Pages: the map
(with vehicles, a violation mark and the density view), the case list, a case
file and the statistics, at the tablet's two sizes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import axe_playwright_python
import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import Engine

from tests.notices.helpers import World
from tests.web.conftest import PASSWORD, add_user, served
from tests.web.test_browser import ARGS, CHROMIUM

SHOTS = Path(__file__).parents[2] / "var" / "screenshots"
AXE_JS = Path(axe_playwright_python.__file__).parent / "axe.min.js"
EMAIL = "a11y@annecy.example"
RUN_AXE = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']},
    resultTypes: ['violations'],
  });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact,
    nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ') + ' :: ' + n.failureSummary),
  }));
}"""


@pytest.fixture
def server(db_url: str, engine: Engine, world: World) -> Iterator[str]:
    add_user(engine, EMAIL, "officer")
    with served(db_url, engine) as url:
        yield url


@pytest.mark.parametrize("size", [(1024, 768), (768, 1024)], ids=["landscape", "portrait"])
def test_no_wcag_a_aa_violation(server: str, world: World, size: tuple[int, int]) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh --browser")
    assert AXE_JS.exists(), AXE_JS
    case_id = next(iter(world.violation.values()))
    pages = {
        "map": ("/", "() => window.__fleetVehiclesDrawn !== undefined"),
        "case list": ("/cases/", None),
        "case": (f"/cases/{case_id}", "() => window.__fleetMapLayersDrawn === true"),
        "statistics": ("/stats", None),
    }
    found: dict[str, list[Any]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(viewport={"width": size[0], "height": size[1]})
            context.add_init_script(path=str(AXE_JS))
            page = context.new_page()
            page.goto(server + "/login")
            page.fill("#email", EMAIL)
            page.fill("#password", PASSWORD)
            page.click("button.fm-primary")
            page.wait_for_url(server + "/")
            for name, (path, ready) in pages.items():
                page.goto(server + path)
                if ready:
                    page.wait_for_function(ready, timeout=10_000)
                page.wait_for_load_state("networkidle")
                assert page.evaluate("() => typeof axe") == "object"
                violations = page.evaluate(RUN_AXE)
                if violations:
                    found[name] = violations
                SHOTS.mkdir(parents=True, exist_ok=True)
                shot = f"{name.replace(' ', '_')}_{size[0]}x{size[1]}.png"
                page.screenshot(path=str(SHOTS / shot), full_page=True)
            # the check can fail: an image without a text alternative is reported
            page.evaluate(
                "() => { const i = document.createElement('img'); i.src = 'data:,';"
                " document.querySelector('main').appendChild(i); }"
            )
            assert "image-alt" in {v["id"] for v in page.evaluate(RUN_AXE)}
        finally:
            browser.close()
    assert found == {}
