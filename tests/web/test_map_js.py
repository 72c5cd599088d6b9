"""The map's JavaScript, run in Node against stubs of the DOM and Leaflet.

No browser is available here; this checks the drawing and in-place refresh
logic (canvas markers, colours, popups in Europe/Paris time, removal of
vanished vehicles). Skipped when ``node`` is not installed.
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


def feature(fid: int, operator: str, lon: float, lat: float, state: str) -> dict[str, object]:
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
            "parked_since": "2026-07-02T08:00:00Z",
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
        feature(2, "velo-lac", 6.13, 45.91, "disabled"),
    ]
    second = [feature(1, "velo-lac", 6.14, 45.92, "reserved")]
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "responses.json").write_text(
        json.dumps([{"type": "FeatureCollection", "features": f} for f in (first, second)])
    )
    out = subprocess.run(
        [
            NODE,
            str(HARNESS),
            str(MAP_JS),
            str(tmp_path / "config.json"),
            str(tmp_path / "responses.json"),
        ],  # type: ignore[list-item]
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    result = json.loads(out.stdout)
    assert result["mapOptions"]["preferCanvas"] is True
    assert result["tileLayers"] == 1
    assert result["intervalMs"] == 30_000

    colour = config["colours"]["velo-lac"]
    drawn = {m["id"]: m for m in result["first"]["markers"]}
    assert set(drawn) == {1, 2}
    assert all(m["canvas"] for m in drawn.values())
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
    ]
    assert result["first"]["status"].startswith("2 véhicules")

    (marker,) = result["second"]["markers"]  # vehicle 2 vanished, vehicle 1 moved in place
    assert marker["id"] == 1 and marker["latlng"] == [45.92, 6.14]
    assert marker["fillOpacity"] == 0.35  # reserved
    assert result["second"]["status"].startswith("1 véhicules")
