"""Violations on the live map: ``/api/vehicles`` lists each vehicle's open (or
held) violations, map.js rings those vehicles by rule, filters by rule and links
each case file from the popup (Node harness and headless Chromium).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import sync_playwright
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from fleet_monitor.models.rules import Violation
from rules.registry import rules_about, spec
from tests.web.conftest import PASSWORD, T0, Fleet, add_user, served, signed_in, vehicles
from tests.web.test_browser import ARGS, CHROMIUM, POINT_JS
from tests.web.test_map import page_config
from tests.web.test_map_js import HARNESS, MAP_JS, NODE, NOW, feature


def vehicle_id(engine: Engine, gbfs_id: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT vehicle_id FROM vehicle_current WHERE gbfs_id = :g"), {"g": gbfs_id}
            ).scalar_one()
        )


def add_violation(
    engine: Engine,
    operator: str,
    gbfs_id: str,
    rule_type: str,
    *,
    state: str = "open",
    status: str = "violation",
) -> int:
    vid = vehicle_id(engine, gbfs_id)
    with Session(engine) as s, s.begin():
        v = Violation(
            key=f"{rule_type}:{operator}:{vid}:{state}",
            rule_type=rule_type,
            operator=operator,
            subject_kind="vehicle",
            subject=gbfs_id,
            vehicle_id=vid,
            gbfs_id=gbfs_id,
            state=state,
            status=status,
            opened_at=T0,
            since=T0,
            last_seen_at=T0,
            closed_at=T0 + timedelta(hours=1) if state == "closed" else None,
            closed_reason="moved" if state == "closed" else None,
            unit="m",
            clause="§1",
            confidence=1.0,
        )
        s.add(v)
        s.flush()
        return int(v.id)


@pytest.fixture
def world(engine: Engine) -> dict[str, int]:
    Fleet(engine, "velo-lac", "Vélo Lac").poll(vehicles(3, "L"), T0)
    Fleet(engine, "trott", "Trott").poll(vehicles(2, "T", lon=6.14), T0)
    return {
        "water": add_violation(engine, "velo-lac", "L0", "in_water"),
        "idle": add_violation(engine, "velo-lac", "L0", "idle_too_long", state="held"),
        "closed": add_violation(engine, "velo-lac", "L1", "on_tram_tracks", state="closed"),
        "tram": add_violation(engine, "trott", "T0", "on_tram_tracks", status="uncertain"),
    }


def props(client: FlaskClient) -> dict[str, dict]:  # type: ignore[type-arg]
    response = client.get("/api/vehicles")
    assert response.status_code == 200
    return {f["properties"]["gbfs_id"]: f["properties"] for f in response.get_json()["features"]}


def test_api_lists_open_and_held_violations_only(
    client: FlaskClient, world: dict[str, int]
) -> None:
    by_id = props(client)
    assert by_id["L0"]["violations"] == [
        {"id": world["water"], "rule_type": "in_water", "status": "violation"},
        {"id": world["idle"], "rule_type": "idle_too_long", "status": "violation"},
    ]
    assert "violations" not in by_id["L1"]  # closed: not on the map
    assert "violations" not in by_id["L2"]
    assert by_id["T0"]["violations"] == [
        {"id": world["tram"], "rule_type": "on_tram_tracks", "status": "uncertain"}
    ]
    # the id is what the case file routes by
    assert client.get(f"/cases/{world['water']}").status_code == 200


def test_api_violations_stay_scoped_to_the_operator(
    app: Flask, engine: Engine, world: dict[str, int]
) -> None:
    trott = signed_in(app, engine, "ops@trott.example", "operator", "trott")
    by_id = props(trott)
    assert sorted(by_id) == ["T0", "T1"]
    assert [v["id"] for v in by_id["T0"]["violations"]] == [world["tram"]]
    assert trott.get("/api/vehicles?operator=velo-lac").get_json()["features"] == []
    velo = signed_in(app, engine, "ops@velo.example", "operator", "velo-lac")
    assert sorted(props(velo)) == ["L0", "L1", "L2"]
    assert all(
        v["id"] in (world["water"], world["idle"])
        for p in props(velo).values()
        for v in p.get("violations", [])
    )


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_map_script_rings_filters_and_links(
    client: FlaskClient, engine: Engine, tmp_path: Path
) -> None:
    Fleet(engine, "velo-lac", "Vélo Lac").poll(vehicles(1, "L"), T0)
    config = page_config(client.get("/").get_data(as_text=True))
    assert config["casesUrl"] == "/cases/"
    first = [
        feature(1, "velo-lac", 6.12, 45.90, "available"),
        feature(2, "velo-lac", 6.13, 45.91, "available"),
        feature(3, "velo-lac", 6.14, 45.92, "available"),
    ]
    first[1]["properties"]["violations"] = [  # type: ignore[index]
        {"id": 7, "rule_type": "idle_too_long", "status": "violation"},
        {"id": 8, "rule_type": "in_water", "status": "violation"},
    ]
    first[2]["properties"]["violations"] = [  # type: ignore[index]
        {"id": 9, "rule_type": "on_tram_tracks", "status": "uncertain"}
    ]
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "responses.json").write_text(
        json.dumps([{"type": "FeatureCollection", "features": first}] * 2)
    )
    out = subprocess.run(
        [
            str(NODE),
            str(HARNESS),
            str(MAP_JS),
            str(tmp_path / "config.json"),
            str(tmp_path / "responses.json"),
            NOW,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    result = json.loads(out.stdout)
    drawn = {m["id"]: m for m in result["first"]["markers"]}
    colour = config["colours"]["velo-lac"]
    assert drawn[1]["color"] == colour and drawn[1]["links"] == []
    # colours, names and symbols are the registry's, through the page's JSON config
    water, tram, idle = spec("in_water"), spec("on_tram_tracks"), spec("idle_too_long")
    assert [r["id"] for r in config["rules"]] == list(rules_about("vehicle"))
    assert drawn[2]["color"] == water.colour and drawn[2]["weight"] == 3  # in water beats idle
    assert drawn[2]["dashArray"] is None
    assert drawn[3]["color"] == tram.colour and drawn[3]["dashArray"]  # uncertain: dashed
    assert drawn[2]["links"] == [
        {"href": "/cases/7", "text": f"{idle.symbol} Immobilisation prolongée"},
        {"href": "/cases/8", "text": f"{water.symbol} Dans l’eau"},
    ]
    assert drawn[3]["links"][0]["text"].endswith("(incertaine)")
    assert drawn[2]["popup"][-1][0] == "Infraction"
    assert "Infractions en cours" in result["legend"]["text"]
    assert result["legend"]["options"][:2] == ["", "*"]
    assert "in_water" in result["legend"]["options"]
    assert [m["id"] for m in result["rule:in_water"]["markers"]] == [2]
    assert sorted(m["id"] for m in result["rule:*"]["markers"]) == [2, 3]
    assert result["rule:*"]["status"].startswith("2 sur 3 véhicules")


EMAIL = "agent@annecy.example"


@pytest.fixture
def server(db_url: str, engine: Engine, world: dict[str, int]) -> Iterator[str]:
    add_user(engine, EMAIL, "officer")
    with served(db_url, engine) as url:
        yield url


ZOOM_JS = """(gbfsId) => {
  const map = window[JSON.parse(document.getElementById("fm-config").textContent).mapVar];
  map.eachLayer((l) => {
    if (l.feature && l.feature.properties.gbfs_id === gbfsId)
      map.setView(l.getLatLng(), 18, {animate: false});
  });
}"""
STYLE_JS = """(gbfsId) => {
  const map = window[JSON.parse(document.getElementById("fm-config").textContent).mapVar];
  let found = null;
  map.eachLayer((l) => { if (l.feature && l.feature.properties.gbfs_id === gbfsId) found = l; });
  return found && {color: found.options.color, dashArray: found.options.dashArray || null};
}"""


def test_violations_in_headless_chromium(server: str, world: dict[str, int]) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh --browser")
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on(
                "console",
                lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
            )
            page.goto(server + "/")
            page.fill("#email", EMAIL)
            page.fill("#password", PASSWORD)
            page.click("button.fm-primary")
            page.wait_for_url(server + "/")
            page.wait_for_function("() => window.__fleetVehiclesDrawn === 5", timeout=10_000)

            assert page.evaluate(STYLE_JS, "L0") == {"color": "#0050d8", "dashArray": None}
            tram = page.evaluate(STYLE_JS, "T0")
            assert tram["color"] == spec("on_tram_tracks").colour and tram["dashArray"]
            assert (
                page.evaluate(STYLE_JS, "L1")["color"] != spec("on_tram_tracks").colour
            )  # closed: no ring

            page.evaluate(ZOOM_JS, "L0")  # vehicles 100 m apart: zoom in before the click
            point = page.evaluate(POINT_JS, "L0")
            page.mouse.click(point["x"], point["y"])
            popup = page.locator(".leaflet-popup-content")
            popup.wait_for(state="visible", timeout=5000)
            links = popup.locator("a.fm-case-link")
            assert links.count() == 2
            assert links.nth(0).get_attribute("href") == f"/cases/{world['water']}"
            assert links.nth(0).inner_text() == f"{spec('in_water').symbol} Dans l’eau"
            page.keyboard.press("Escape")

            legend = page.locator(".fm-rules")
            assert "Infractions en cours" in legend.inner_text()
            page.select_option("#fm-rule", "on_tram_tracks")
            page.locator("#fm-status").filter(has_text="1 sur 5 véhicules").wait_for(timeout=5000)
            page.select_option("#fm-rule", "*")
            page.locator("#fm-status").filter(has_text="2 sur 5 véhicules").wait_for(timeout=5000)
        finally:
            browser.close()
    assert problems == []
