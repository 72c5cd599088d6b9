"""A zone that applies only at times is on the map, named with its schedule."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient
from playwright.sync_api import sync_playwright
from sqlalchemy import Engine

from rules.registry import spec, zone_kind_spec
from tests.notices.test_scheduled_restrictions import import_market
from tests.web.conftest import LAT, LON, PASSWORD, T0, Fleet, add_user, served, vehicles
from tests.web.test_browser import ARGS, CHROMIUM
from tests.web.test_map import page_config
from tests.web.test_map_violations import EMAIL, STYLE_JS, ZOOM_JS, add_violation

#: looked at when the map changes (see the guide: "Look at what you ship")
SHOT = Path(__file__).resolve().parents[2] / "var" / "map-scheduled.png"


def test_the_map_shows_the_zone_with_its_schedule(engine: Engine, client: FlaskClient) -> None:
    import_market(engine)
    data = page_config(client.get("/?lang=fr").get_data(as_text=True), "fm-map-data")
    (layer,) = [z for z in data["zones"] if z["kind"] == "scheduled_restriction"]
    assert layer["label"] == "Restrictions horaires (marchés, événements)" and layer["shown"]
    names = sorted(f["properties"]["label"] for f in layer["features"])
    assert names == [
        "Fête du lac (07/08/2027 12:00–08/08 02:00)",
        "Marché de la vieille ville (mar., ven., dim. 06:00–14:00)",
    ]


def test_timed_zone_and_its_breach_in_headless_chromium(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    """The zone layer, the ring in the rule's colour, the legend with the rule's symbol."""
    import_market(engine, around=(LAT, LON))
    Fleet(engine, "velo-lac", "Vélo Lac").poll(vehicles(2, "M"), T0)
    add_violation(engine, "velo-lac", "M0", "scheduled_restriction")
    add_user(engine, EMAIL, "officer")
    rule = spec("scheduled_restriction")
    problems: list[str] = []
    with served(db_url, engine) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.goto(url + "/?lang=fr")
            page.fill("#email", EMAIL)
            page.fill("#password", PASSWORD)
            page.click("button.fm-primary")
            page.wait_for_url(url + "/?lang=fr")
            page.wait_for_function("() => window.__fleetVehiclesDrawn === 2", timeout=10_000)
            page.evaluate(ZOOM_JS, "M0")
            assert page.evaluate(STYLE_JS, "M0")["color"] == rule.colour
            legend = page.locator(".fm-rules").inner_text()
            assert f"{rule.symbol} {rule.labels['fr']}" in legend
            page.screenshot(path=str(SHOT))
        finally:
            browser.close()
    assert problems == []


def test_zone_layer_swatches_take_the_registry_colours(db_url: str, engine: Engine) -> None:
    import_market(engine, around=(LAT, LON))
    add_user(engine, EMAIL, "officer")
    with served(db_url, engine) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url + "/")
            page.fill("#email", EMAIL)
            page.fill("#password", PASSWORD)
            page.click("button.fm-primary")
            page.wait_for_url(url + "/")
            page.locator(".leaflet-control-layers").hover()
            swatch = page.locator(".fm-zone-swatch").first
            colour = swatch.evaluate("e => getComputedStyle(e).borderTopColor")
            page.screenshot(path=str(SHOT.with_name("map-layers.png")))
        finally:
            browser.close()
    assert colour == "rgb(228, 0, 58)"  # #e4003a, the kind's colour in rules/registry.py
    assert zone_kind_spec("scheduled_restriction").style["color"] == "#e4003a"  # type: ignore[union-attr]
