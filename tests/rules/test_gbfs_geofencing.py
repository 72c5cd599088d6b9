"""The city's zones as GBFS geofencing_zones.json 2.3 and 3.0, validated against the
official GBFS schemas (``../shared/gbfs/schemas``)."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
import shapely
from shapely.geometry import box, shape

from gbfs_simulator import zone_file_path
from rules import ZONE_KINDS, zones_from_geojson
from rules.gbfs_geofencing import KIND_RULES, geofencing_zones
from tests.mds_schema import gbfs_errors
from tests.rules.helpers import NOW, line, square, zone

ZONES = [
    zone("area:city", "operating_area", square(-3000, -3000, 3000, 3000)),
    zone("water:lake", "water", square(500, 500, 1500, 1500), name="Lac\nd'Annecy"),
    zone("np:1", "no_parking", square(0, 0, 100, 100)),
    zone("ped:1", "pedestrian", square(-500, -500, -100, -100), name="Vieille ville"),
    zone("tram:1", "tram_tracks", line((0, 0), (300, 0))),
    zone("district:c", "district", square(-500, -500, 500, 500)),
    zone("bay:1", "mandatory_parking", square(0, 0, 8, 3), capacity=4),
    zone("velo:world", "no_parking", box(-180, -90, 180, 90), operator="velo"),
    zone("np:old", "no_parking", square(0, 0, 10, 10), effective_to=NOW - timedelta(days=1)),
    zone("np:soon", "no_parking", square(0, 0, 10, 10), effective_from=NOW + timedelta(days=2)),
]


def doc(version: str, **kw: object) -> dict:
    return orjson.loads(orjson.dumps(geofencing_zones(ZONES, version=version, now=NOW, **kw)))


@pytest.mark.parametrize("version", ["2.3", "3.0"])
def test_valid_against_the_official_schema(version: str) -> None:
    for operator in (None, "velo"):
        assert gbfs_errors(doc(version, operator=operator), version) == []


def test_the_schema_check_can_fail() -> None:
    bad = doc("3.0")
    bad["data"]["geofencing_zones"]["features"][0]["properties"]["name"] = "plain"
    assert gbfs_errors(bad, "3.0")
    assert gbfs_errors(doc("2.3"), "3.0")  # a 2.3 file is not a 3.0 file


def test_rules_order_and_geometry() -> None:
    features = doc("3.0")["data"]["geofencing_zones"]["features"]
    names = [f["properties"]["name"][0]["text"] for f in features]
    # most restrictive first (GBFS: the first zone listed wins); no district, no bay,
    # no retired zone, no zone of another operator
    assert names == ["Lac d'Annecy", "np:1", "np:soon", "tram:1", "Vieille ville", "area:city"]
    lake, np1, soon, tram, ped, area = (f["properties"] for f in features)
    assert lake["rules"] == [
        {"ride_start_allowed": False, "ride_end_allowed": False, "ride_through_allowed": False}
    ]
    assert np1["rules"][0]["ride_end_allowed"] is False and np1["rules"][0]["ride_start_allowed"]
    assert ped["rules"][0]["maximum_speed_kph"] == 6
    assert tram["rules"][0]["ride_end_allowed"] is False
    assert area["rules"][0]["ride_end_allowed"] is True
    assert soon["start"].endswith("Z") and "start" not in np1
    assert doc("3.0")["data"]["global_rules"][0]["ride_end_allowed"] is False
    for f in features:
        geom = shape(f["geometry"])
        assert f["geometry"]["type"] == "MultiPolygon" and geom.area > 0
        for poly in geom.geoms:  # right-hand rule: exterior rings counter-clockwise
            assert poly.exterior.is_ccw
    assert shapely.get_num_geometries(shape(features[3]["geometry"])) == 1  # the tram line


def test_operator_file_and_versions() -> None:
    velo = doc("2.3", operator="velo")["data"]["geofencing_zones"]["features"]
    assert any(f["properties"]["name"] == "velo:world" for f in velo)
    np1 = next(f for f in velo if f["properties"]["name"] == "np:1")
    assert np1["properties"]["rules"] == [{"ride_allowed": False, "ride_through_allowed": True}]
    assert isinstance(doc("2.3")["last_updated"], int)
    with pytest.raises(ValueError, match="GBFS version"):
        geofencing_zones(ZONES, version="2.2", now=NOW)
    assert set(KIND_RULES) == {"water", "no_parking", "tram_tracks", "pedestrian", "operating_area"}


@pytest.mark.parametrize("version", ["2.3", "3.0"])
def test_demo_city(version: str) -> None:
    zones = [
        z
        for kind in ZONE_KINDS
        for z in zones_from_geojson(zone_file_path(kind).read_bytes(), kind)
    ]
    document = orjson.loads(orjson.dumps(geofencing_zones(zones, version=version, now=NOW)))
    assert gbfs_errors(document, version) == []
    assert len(document["data"]["geofencing_zones"]["features"]) > 5
