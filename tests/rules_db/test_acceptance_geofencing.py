"""Acceptance: an operator's real ``geofencing_zones.json`` (Bolt Essen, GBFS 3.0,
436 ``ride_end_allowed: false`` zones of 522) imported as no-parking areas gives
the same vehicles in violation (Bolt Essen's real ``vehicle_status.json``, 1,360
vehicles) as an independent point-in-polygon check made with shapely directly
on the raw JSON, buffer aside; a zone covering the whole world does not break
anything. Checked from the command line.

"Buffer aside": with a GPS tolerance of 0 every vehicle inside a zone is a
violation; with a tolerance of 10 m, those within 10 m of a border become
'uncertain', and violations plus uncertain cases are still exactly the vehicles
inside. A vehicle a few millimetres from a border may fall on either side (one
of Bolt's is 7 mm from one): the engine tests in metres (a local transverse
Mercator), the check in degrees, and a straight edge in one is a slightly
curved one in the other; both answers are right at that distance.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
import shapely
from pyproj import Transformer
from shapely import prepared
from shapely.geometry import Point, shape

from tests.conftest import GBFS_REAL
from tests.rules_db.conftest import permit_toml, run_cli

BOLT = GBFS_REAL / "bolt_essen_v3.0_mdkt"
ON_BORDER_M = 0.05
WORLD = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "id": "world",
            "properties": {"name": "Whole world"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]],
            },
        }
    ],
}


def independent_check() -> tuple[set[str], dict[str, float], dict[str, float]]:
    """Vehicle ids inside a ride_end_allowed:false zone (shapely on the raw JSON, in
    degrees); per vehicle, its distance to the nearest border of those zones and
    its depth inside them (metres, UTM 32N: a projection of its own)."""
    zones = orjson.loads((BOLT / "geofencing_zones.json").read_bytes())
    polys = [
        shape(f["geometry"])
        for f in zones["data"]["geofencing_zones"]["features"]
        if any(r.get("ride_end_allowed") is False for r in f["properties"].get("rules", []))
    ]
    assert len(polys) == 436
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:25832", always_xy=True)

    def utm(geom):  # type: ignore[no-untyped-def]
        return shapely.transform(geom, lambda xy: np.column_stack(to_utm.transform(*xy.T)))

    metric = [utm(p) for p in polys]
    fast = [prepared.prep(p) for p in polys]
    vehicles = orjson.loads((BOLT / "vehicle_status.json").read_bytes())["data"]["vehicles"]
    inside: set[str] = set()
    border: dict[str, float] = {}
    depth: dict[str, float] = {}
    for v in vehicles:
        pt = Point(v["lon"], v["lat"])
        mpt = utm(pt)
        hits = [i for i, f in enumerate(fast) if f.contains(pt)]
        if hits:
            inside.add(v["vehicle_id"])
        border[v["vehicle_id"]] = min(m.boundary.distance(mpt) for m in metric)
        depth[v["vehicle_id"]] = max((metric[i].boundary.distance(mpt) for i in hits), default=0.0)
    return inside, border, depth


def _open(db_url: str, rule: str) -> dict[str, dict]:
    res = run_cli(db_url, "violations", "list", "--open", "--rule", rule, "--json")
    assert res.code == 0, res.err
    return {v["gbfs_id"]: v for v in res.json()}


def test_operator_geofencing_zones_as_no_parking_areas(db_url: str, tmp_path: Path) -> None:
    expected, border, depth = independent_check()
    assert 20 < len(expected) < 1360

    res = run_cli(
        db_url,
        "zones",
        "import",
        str(BOLT / "geofencing_zones.json"),
        "--kind",
        "no_parking",
        "--from-geofencing",
        "--operator",
        "bolt",
        "--json",
    )
    assert res.code == 0, res.err
    assert len(res.json()["created"]) == 436
    world = tmp_path / "world.geojson"
    world.write_text(json.dumps(WORLD))
    # a world-covering no-parking zone of another operator, and a city-wide operating area
    for args in (
        ["--kind", "no_parking", "--operator", "someone-else"],
        ["--kind", "operating_area"],
    ):
        res = run_cli(db_url, "zones", "import", str(world), *args)
        assert res.code == 0, res.err
    res = run_cli(db_url, "ingest", str(BOLT / "vehicle_status.json"), "--operator", "bolt")
    assert res.code == 0, res.err

    observed = datetime(2025, 10, 21, 4, 8, 55, tzinfo=UTC)
    for version, tolerance, start in (
        (1, 0, datetime(2025, 1, 1, tzinfo=UTC)),
        (2, 10, observed + timedelta(minutes=1)),
    ):
        permit = tmp_path / f"bolt_v{version}.toml"
        permit.write_text(
            permit_toml(
                "bolt",
                version=version,
                tolerance=tolerance,
                effective_from=start,
                prohibited=["no_parking"],
            )
        )
        assert run_cli(db_url, "permits", "import", str(permit)).code == 0

    # tolerance 0: every vehicle inside is a violation
    res = run_cli(db_url, "rules", "run", "--at", observed.isoformat(), "--json")
    assert res.code == 0, res.err
    found = _open(db_url, "in_no_parking_area")
    differ = {g for g, v in found.items() if v["status"] == "violation"} ^ expected
    assert all(border[g] < ON_BORDER_M for g in differ), {g: border[g] for g in differ}
    assert len(differ) <= 2
    expected = {g for g in expected if border[g] >= ON_BORDER_M}
    found = {g: v for g, v in found.items() if border[g] >= ON_BORDER_M}
    assert {g for g, v in found.items() if v["status"] == "violation"} == expected
    assert all(v["zone_id"].startswith("bolt:geofencing:") for v in found.values())
    assert _open(db_url, "outside_operating_area") == {}  # inside the world

    # tolerance 10 m: the same vehicles, those near a border only 'uncertain'
    later = observed + timedelta(minutes=2)
    res = run_cli(db_url, "rules", "run", "--at", later.isoformat(), "--json")
    assert res.code == 0, res.err
    found = _open(db_url, "in_no_parking_area")
    found = {g: v for g, v in found.items() if border[g] >= ON_BORDER_M}
    assert set(found) == expected
    uncertain = {g for g, v in found.items() if v["status"] == "uncertain"}
    assert uncertain and uncertain != expected
    assert all(depth[g] <= 10.5 for g in uncertain)
    assert all(depth[g] >= 9.5 for g in expected - uncertain)
    assert all(v["permit_version"] == 2 and v["threshold"] == 10 for v in found.values())
