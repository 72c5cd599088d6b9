"""The French pages speak French: no English word of the interface, no raw value.

Each page is opened in headless Chromium in French, after its scripts ran (map,
case list, a case file, statistics, notices). The visible text and the texts
read aloud or shown on hover (``title``, ``aria-label``, ``alt``,
``placeholder``) are searched for words of the English interface (Leaflet's
own controls included: "Zoom in", "Layers") and for numbers written the
English way (``1.5``, ``[531.0, 533]``): French writes ``1,5``. Data (operator
names, vehicle ids, zone names) is neither: the fixtures use French names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import Engine

from tests.notices.helpers import World
from tests.web.conftest import PASSWORD, add_user, served
from tests.web.test_browser import ARGS, CHROMIUM

EMAIL = "agent.fr@annecy.example"
# words that only the English interface would show (whole words, any case)
ENGLISH = re.compile(
    r"\b(the|of|and|with|from|to|vehicles?|devices?|layers?|zoom in|zoom out|updated|"
    r"loading|operators?|parked|legend|open|closed|show|hide|measured|rule|case|cases|"
    r"notice|notices|report|reports|statistics|day|days|hours?|data|none|"
    r"true|false|null|undefined|NaN)\b",
    re.IGNORECASE,
)
ENGLISH_NUMBER = re.compile(r"(?<![\d/.:])\d+\.\d+(?![\d/.:])|\[\d")
TEXTS_JS = """() => {
  const out = [document.body.innerText, document.title];
  document.querySelectorAll('[title], [aria-label], [alt], [placeholder]').forEach((e) => {
    for (const a of ['title', 'aria-label', 'alt', 'placeholder']) {
      if (e.getAttribute(a)) out.push(e.getAttribute(a));
    }
  });
  return out.join('\\n');
}"""


@pytest.fixture
def server(db_url: str, engine: Engine, world: World) -> Iterator[str]:
    add_user(engine, EMAIL, "officer")
    with served(db_url, engine) as url:
        yield url


def english_in(text: str, data: set[str]) -> list[str]:
    for word in data:
        text = text.replace(word, " ")
    found = [m.group(0) for m in ENGLISH.finditer(text)]
    found += [m.group(0) for m in ENGLISH_NUMBER.finditer(text)]
    return found


def test_french_pages_have_no_english_and_french_numbers(server: str, world: World) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh --browser")
    case_id = next(iter(world.violation.values()))
    pages = {
        "map": ("/", "() => window.__fleetVehiclesDrawn !== undefined"),
        "case list": ("/cases/", None),
        "case": (f"/cases/{case_id}", "() => window.__fleetMapLayersDrawn === true"),
        "statistics": ("/stats", None),
        "notices": ("/notices/", None),
    }
    # data shown on the pages, not interface: operators' and zones' names, ids
    data = {"trotti", "velo", "Trotti", "Velo", "Leaflet"}
    leaks: dict[str, list[str]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page: Page = browser.new_page(viewport={"width": 1024, "height": 768})
            page.goto(server + "/login")
            page.fill("#email", EMAIL)
            page.fill("#password", PASSWORD)
            page.click("button.fm-primary")
            page.wait_for_url(server + "/")
            for name, (path, ready) in pages.items():
                response = page.goto(server + path)
                assert response is not None and response.status == 200, (name, path)
                assert page.locator("html").get_attribute("lang") == "fr"
                if ready:
                    page.wait_for_function(ready, timeout=10_000)
                page.wait_for_load_state("networkidle")
                found = english_in(page.evaluate(TEXTS_JS), data)
                if found:
                    leaks[name] = sorted(set(found))
        finally:
            browser.close()
    assert leaks == {}
