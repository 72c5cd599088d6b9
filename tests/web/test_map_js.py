"""The map's JavaScript, run in Node against stubs of the DOM and Leaflet.

A fast check of the drawing, filtering and in-place refresh logic (colours,
popups in Europe/Paris time, state and parked-time filters, removal of vanished
vehicles, the locate button); the real browser test is ``test_browser.py``.
Skipped when ``node`` is not installed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from tests.web.conftest import T0, Fleet, vehicles
from tests.web.test_map import page_config

NODE = shutil.which("node")
HARNESS = Path(__file__).parent / "js" / "harness.js"
MAP_JS = Path(__file__).parents[2] / "fleet_monitor" / "web" / "static" / "js" / "map.js"


NOW = "2026-07-09T08:00:00Z"
BROWSER_NOW = "2026-07-06T08:00:00Z"  # a browser whose clock is three days behind


def feature(
    fid: int, operator: str, lon: float, lat: float, state: str, since: str = "2026-07-02T08:00:00Z"
) -> dict[str, object]:
    return {
        "type": "Feature",
        "id": fid,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "operator": operator,
            "gbfs_id": f"g{fid}",
            "state": state,
            "vehicle_type": "scooter",
            "battery_pct": 42,
            "range_m": 12000,
            "parked_since": since,
            "parked_since_confidence": "first_seen",
        },
    }


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_map_script_draws_and_refreshes_in_place(
    client: FlaskClient, engine: Engine, tmp_path: Path
) -> None:
    Fleet(engine, "velo-lac", "Vélo Lac").poll(vehicles(1, "L"), T0)
    config = page_config(client.get("/").get_data(as_text=True))
    first = [
        feature(1, "velo-lac", 6.12, 45.90, "available"),
        feature(2, "velo-lac", 6.13, 45.91, "disabled", since="2026-07-08T08:00:00Z"),
    ]
    second = [feature(1, "velo-lac", 6.14, 45.92, "reserved")]
    # durations follow the service's clock (config, then each answer's "now"), never
    # the browser's: the harness's browser clock is set three days wrong
    config["now"] = NOW
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "responses.json").write_text(
        json.dumps(
            [{"type": "FeatureCollection", "now": NOW, "features": f} for f in (first, second)]
        )
    )
    out = subprocess.run(
        [
            NODE,
            str(HARNESS),
            str(MAP_JS),
            str(tmp_path / "config.json"),
            str(tmp_path / "responses.json"),
            BROWSER_NOW,
        ],  # type: ignore[list-item]
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    result = json.loads(out.stdout)
    assert result["intervalMs"] == 30_000

    colour = config["colours"]["velo-lac"]
    drawn = {m["id"]: m for m in result["first"]["markers"]}
    assert set(drawn) == {1, 2}
    # no renderer of its own: the map's shared canvas (folium's preferCanvas)
    assert all(m["renderer"] is None for m in drawn.values())
    assert drawn[1]["fillColor"] == colour and drawn[2]["fillColor"] == "#ffffff"
    popup = [[re.sub(r"\s", " ", cell) for cell in row] for row in drawn[1]["popup"]]
    assert popup == [
        ["Opérateur", "Vélo Lac"],
        ["Identifiant", "g1"],
        ["Type", "scooter · disponible"],
        ["Batterie", "42 %"],
        ["Autonomie", "12 km"],
        # 08:00 UTC is 10:00 in Paris in July
        ["Garé depuis", "02/07/2026 10:00 (au moins, déjà présent au premier relevé)"],
        ["Durée de stationnement", "7 jours"],
    ]
    assert drawn[2]["popup"][-1] == ["Durée de stationnement", "1\xa0jour"]
    assert result["first"]["status"].startswith("2 sur 2 véhicules · mis à jour à ")

    assert [m["id"] for m in result["noDisabled"]["markers"]] == [1]
    assert result["noDisabled"]["status"].startswith("1 sur 2 véhicules")
    assert [m["id"] for m in result["threeDays"]["markers"]] == [1]
    assert result["locate"]["label"] == "Me localiser"
    assert result["locate"]["options"]["setView"] is True

    (marker,) = result["second"]["markers"]  # vehicle 2 vanished, vehicle 1 moved in place
    assert marker["id"] == 1 and marker["latlng"] == [45.92, 6.14]
    assert marker["fillOpacity"] == 0.35  # reserved
    assert result["second"]["status"].startswith("1 sur 1 véhicules")
