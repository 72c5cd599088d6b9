"""The base map in headless Chromium at tablet size (1024 x 768).

* Local tiles: an MBTiles file made by the test (each tile's colour encodes its
  XYZ address) is the base layer of the map and of a case file's map; every
  tile drawn is the right one (so the TMS row flip is right), every request
  stays on the app, and the page raises no CSP violation.
* The nearest address (imported from a BAN file) shows in a vehicle's popup and
  in the case file, with its distance.
* Without tiles, the simulated city's street layer is drawn, with street names
  from zoom 16.

Screenshots are saved under ``var/screenshots/`` (not committed).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask import Flask
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from fleet_monitor.addresses_import import import_addresses
from fleet_monitor.wsgi_thread import serve_wsgi
from gbfs_simulator.streets import city_streets
from tests.notices.helpers import M_LAT, NO_PARKING, World
from tests.web.conftest import PASSWORD, add_user, make_app
from tests.web.mbtiles import tile_colour, write_mbtiles
from tests.web.test_browser import ARGS, CHROMIUM, POINT_JS

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
EMAIL = "agent@annecy.example"
BOUNDS = (6.08, 45.87, 6.18, 45.93)
# 8 m north of the no-parking vehicle "tn1"
ADDRESS_LINE = (
    "74010_0420_00008;74010_0420;8;;Rue de la Paix;74000;74010;Annecy;74010;Annecy;"
    f"941000.00;6540000.00;{NO_PARKING[1]:.6f};{NO_PARKING[0] + 8 * M_LAT:.7f};entrée;;;"
    "ANNECY;RUE DE LA PAIX;commune;commune;1;"
)
HEADER = (
    "id;id_fantoir;numero;rep;nom_voie;code_postal;code_insee;nom_commune;"
    "code_insee_ancienne_commune;nom_ancienne_commune;x;y;lon;lat;type_position;alias;"
    "nom_ld;libelle_acheminement;nom_afnor;source_position;source_nom_voie;"
    "certification_commune;cad_parcelles"
)
LABEL = "8 Rue de la Paix, 74000 Annecy"

TILES_JS = """() => Array.from(document.querySelectorAll('img.leaflet-tile-loaded')).map((img) => {
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const ctx = c.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const p = ctx.getImageData(128, 128, 1, 1).data;
  return {src: img.src, w: img.naturalWidth, rgb: [p[0], p[1], p[2]]};
})"""

OPEN_POPUP_JS = """(gbfsId) => {
  const map = window[JSON.parse(document.getElementById("fm-config").textContent).mapVar];
  map.eachLayer((l) => {
    if (l.feature && l.feature.properties.gbfs_id === gbfsId) { l.fire("click"); }
  });
}"""


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    with serve_wsgi(app) as url:
        yield url


def check_tiles(page: Page, server: str) -> int:
    page.wait_for_function(
        "() => document.querySelectorAll('img.leaflet-tile-loaded').length >= 4", timeout=10_000
    )
    tiles: list[dict[str, Any]] = page.evaluate(TILES_JS)
    for t in tiles:
        assert t["src"].startswith(server + "/basemap/tiles/"), t["src"]
        z, x, y = (int(v) for v in t["src"].rsplit("/", 3)[1:])
        assert t["w"] == 256
        assert t["rgb"] == list(tile_colour(z, x, y)), t  # the right tile: rows flipped
    return len(tiles)


def sign_in(page: Page, server: str) -> None:
    page.goto(server + "/")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("button.fm-primary")
    page.wait_for_url(server + "/")


@contextmanager
def browser_page(problems: list[str], requests: list[str]) -> Iterator[Page]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh --browser")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1024, "height": 768})
            context.add_init_script(
                "window.__csp = []; document.addEventListener('securitypolicyviolation',"
                " (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
            )
            page = context.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            yield page
            problems.extend(page.evaluate("window.__csp"))
        finally:
            browser.close()


def test_local_tiles_and_addresses_in_the_browser(
    db_url: str, engine: Engine, world: World, tmp_path: Path
) -> None:
    mbtiles = tmp_path / "annecy.mbtiles"
    write_mbtiles(mbtiles, BOUNDS, range(12, 18))
    ban = tmp_path / "adresses-74.csv"
    ban.write_text(HEADER + "\n" + ADDRESS_LINE + "\n", encoding="utf-8")
    with Session(engine) as s, s.begin():
        import_addresses(s, ban)
        violation_id = s.execute(
            text("SELECT id FROM violation WHERE gbfs_id = 'tn1' ORDER BY id LIMIT 1")
        ).scalar_one()
    add_user(engine, EMAIL, "officer")
    app = make_app(db_url, engine, tile_url="", basemap_mbtiles=str(mbtiles))
    app.config["SESSION_COOKIE_SECURE"] = False
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    requests: list[str] = []
    with serve(app) as server, browser_page(problems, requests) as page:
        sign_in(page, server)
        page.wait_for_function("() => window.__fleetMapLayersDrawn === true", timeout=10_000)
        page.locator("#fm-status").filter(has_text="véhicules").wait_for(timeout=10_000)
        assert check_tiles(page, server) >= 12  # 1024 x 768 at zoom 14
        assert (
            page.locator(".leaflet-control-attribution")
            .inner_text()
            .find("Test tiles © City of Annecy")
            >= 0
        )
        # the popup of the vehicle in the no-parking area shows its address
        point = page.evaluate(POINT_JS, "tn1")
        page.mouse.click(point["x"], point["y"])
        row = page.locator(".leaflet-popup-content tr.fm-address")
        row.wait_for(timeout=5000)
        assert row.inner_text() == f"Adresse\t{LABEL} (à 8 m)"
        page.screenshot(path=str(SCREENSHOTS / "basemap_mbtiles_popup.png"))
        page.locator(".leaflet-popup-close-button").click()
        page.locator(".leaflet-popup").wait_for(state="detached", timeout=5000)
        # a vehicle in the lake: no address within the limit, said so
        page.evaluate(OPEN_POPUP_JS, "tw1")  # vw1 lies 20 m away: 2 px, a click is ambiguous
        page.locator(".leaflet-popup-content", has_text="tw1").wait_for(timeout=5000)
        row = page.locator(".leaflet-popup-content tr.fm-address")
        row.wait_for(timeout=5000)
        assert row.inner_text() == "Adresse\taucune adresse à moins de 60 m"
        page.keyboard.press("Escape")
        # portrait tablet: the tiles fill the taller map too
        page.set_viewport_size({"width": 768, "height": 1024})
        page.wait_for_timeout(300)
        assert check_tiles(page, server) >= 12
        page.screenshot(path=str(SCREENSHOTS / "basemap_mbtiles_portrait.png"))
        page.set_viewport_size({"width": 1024, "height": 768})

        # the case file: the address in words, and its map on the same local tiles
        page.goto(f"{server}/cases/{violation_id}")
        address = page.locator("dd.fm-address")
        assert address.inner_text() == f"{LABEL} (adresse la plus proche, à 8 m)"
        check_tiles(page, server)
        page.screenshot(path=str(SCREENSHOTS / "basemap_case_file.png"), full_page=True)
    assert problems == []
    assert requests and all(u.startswith(server) for u in requests), {
        u for u in requests if not u.startswith(server)
    }
    assert any("/basemap/tiles/" in u for u in requests)


def test_street_layer_of_the_simulated_city(
    db_url: str, engine: Engine, world: World, tmp_path: Path
) -> None:
    streets = tmp_path / "streets.geojson"
    streets.write_bytes(orjson.dumps(city_streets()))
    add_user(engine, EMAIL, "officer")
    app = make_app(db_url, engine, tile_url="", basemap_streets=str(streets))
    app.config["SESSION_COOKIE_SECURE"] = False
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    requests: list[str] = []
    with serve(app) as server, browser_page(problems, requests) as page:
        sign_in(page, server)
        page.wait_for_function("() => window.__fleetStreetsDrawn", timeout=10_000)
        drawn = page.evaluate("window.__fleetStreetsDrawn")
        assert drawn["lines"] > 300 and drawn["names"] > 100
        assert page.locator(".fm-street-label").count() == 0  # no names at city zoom
        page.screenshot(path=str(SCREENSHOTS / "basemap_streets_z14.png"))
        page.evaluate(
            "() => { window[JSON.parse(document.getElementById('fm-config').textContent).mapVar]"
            ".setView([45.8995, 6.1270], 17, {animate: false}); }"
        )
        page.wait_for_function("() => document.querySelectorAll('.fm-street-label').length > 0")
        labels = page.locator(".fm-street-label").all_inner_texts()
        assert "Rue Royale" in labels
        page.screenshot(path=str(SCREENSHOTS / "basemap_streets_z17.png"))
        # a case file's map has the same street layer
        page.goto(f"{server}/cases/{world.violation['trotti']}")
        page.wait_for_function("() => window.__fleetStreetsDrawn", timeout=10_000)
        page.screenshot(path=str(SCREENSHOTS / "basemap_streets_case.png"), full_page=True)
    assert problems == []
    assert all(u.startswith(server) for u in requests)
