"""The Annecy geography: committed GeoJSON files, their shapes and their consistency."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon, shape
from shapely.ops import unary_union

from gbfs_simulator.city import (
    ZONE_KINDS,
    City,
    build_zones,
    city_zones,
    distance_m,
    export_zones,
    zone_file_path,
)


@pytest.fixture(scope="module")
def zones() -> dict:
    return city_zones()


@pytest.fixture(scope="module")
def city() -> City:
    return City()


def geoms(fc: dict) -> list:
    return [shape(f["geometry"]) for f in fc["features"]]


def test_committed_files_are_what_the_source_builds(tmp_path: Path) -> None:
    written = export_zones(tmp_path)
    assert sorted(p.name for p in written) == sorted(f"{k}.geojson" for k in ZONE_KINDS)
    for path in written:
        assert path.read_bytes() == zone_file_path(path.stem).read_bytes(), (
            f"{path.name} is stale: run python -m gbfs_simulator export-city"
        )


def test_every_kind_is_a_feature_collection_with_name_and_kind(zones: dict) -> None:
    assert set(zones) == set(ZONE_KINDS)
    for kind, fc in zones.items():
        assert fc["type"] == "FeatureCollection"
        assert fc["features"], kind
        ids = [f["id"] for f in fc["features"]]
        assert len(ids) == len(set(ids)), kind
        for f in fc["features"]:
            assert f["properties"]["kind"] == kind
            assert f["properties"]["name"]
            g = shape(f["geometry"])
            assert g.is_valid and not g.is_empty, f["properties"]["name"]


def test_polygons_follow_the_right_hand_rule(zones: dict) -> None:
    for kind, fc in zones.items():
        for g in geoms(fc):
            for poly in getattr(g, "geoms", [g]):
                if isinstance(poly, Polygon):
                    assert poly.exterior.is_ccw, kind


def test_mandatory_parking_areas_have_capacities_and_sit_on_legal_land(
    zones: dict, city: City
) -> None:
    feats = zones["mandatory_parking"]["features"]
    assert len(feats) >= 12
    forbidden = unary_union(
        geoms(zones["no_parking"]) + geoms(zones["pedestrian"]) + geoms(zones["water"])
    )
    tracks = geoms(zones["tram_tracks"])
    districts = {f["id"]: shape(f["geometry"]) for f in zones["district"]["features"]}
    for f in feats:
        cap = f["properties"]["capacity"]
        assert isinstance(cap, int) and cap > 0
        g = shape(f["geometry"])
        assert city.land.contains(g), f["properties"]["name"]
        assert not g.intersects(forbidden), f["properties"]["name"]
        c = g.centroid
        assert min(distance_m(c.x, c.y, *_nearest(t, c)) for t in tracks) > 20
        assert districts[f["properties"]["district"]].contains(g)


def _nearest(line: LineString, p: Point) -> tuple[float, float]:
    q = line.interpolate(line.project(p))
    return q.x, q.y


def test_operating_area_is_the_districts_minus_the_lake(zones: dict) -> None:
    area = geoms(zones["operating_area"])[0]
    districts = geoms(zones["district"])
    lake = geoms(zones["water"])[0]
    assert zones["water"]["features"][0]["properties"]["water_kind"] == "lake"
    assert area.intersection(lake).area < 1e-9
    expected = unary_union(districts).difference(lake)
    assert area.symmetric_difference(expected).area < 1e-8
    assert len(getattr(area, "interiors", [])) == 0
    for i, a in enumerate(districts):  # the six communes tile without overlaps
        for b in districts[i + 1 :]:
            assert a.intersection(b).area < 1e-9
    names = {f["properties"]["name"] for f in zones["district"]["features"]}
    assert names == {"Annecy", "Annecy-le-Vieux", "Seynod", "Cran-Gevrier", "Meythet", "Pringy"}


def test_landmarks_fall_where_annecy_has_them(city: City) -> None:
    gare = Point(6.1220, 45.9020)
    assert city.zone("annecy").geom.contains(gare)
    assert city.is_land(6.1220, 45.9020)
    assert city.lake.contains(6.16, 45.88)  # middle of the lake's northern basin
    assert not city.is_land(6.16, 45.88)
    assert city.zone("paquier").contains(6.1370, 45.9012)
    assert city.zone("pont-des-amours").contains(6.1378, 45.8994)
    assert city.zone("vieille-ville").contains(6.1265, 45.8985)
    thiou = city.zone("thiou")
    assert thiou.kind == "water" and thiou.contains(6.1300, 45.8983)
    assert not city.is_land(6.1300, 45.8983)  # the canal is water, not kerb


def test_tram_tracks_are_the_railway_and_bus_corridors(zones: dict) -> None:
    kinds = {f["properties"]["line_kind"] for f in zones["tram_tracks"]["features"]}
    assert kinds == {"railway", "bus_corridor"}
    assert "no tram" in zones["tram_tracks"]["description"]
    rail = next(
        shape(f["geometry"])
        for f in zones["tram_tracks"]["features"]
        if f["properties"]["line_kind"] == "railway"
    )
    assert isinstance(rail, LineString)
    gare = Point(6.1220, 45.9020)
    assert distance_m(6.1220, 45.9020, *_nearest(rail, gare)) < 150


def test_random_points_stay_inside_their_zone(city: City) -> None:
    import random

    rng = random.Random(1)
    zone = city.zone("jardins-europe")
    for _ in range(50):
        lon, lat = city.random_point_in(zone, rng, margin_m=2.0)
        assert shapely.contains_xy(zone.geom, lon, lat)
    with pytest.raises(KeyError):
        city.zone("atlantis")


def test_build_is_deterministic() -> None:
    assert build_zones() == build_zones()
