"""Zones from GeoJSON text and from an operator's geofencing zones."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import orjson
import pytest
from shapely.geometry import mapping, shape

from gbfs_ingest.model import GeofencingRule, GeofencingZone
from rules import (
    ZoneFileError,
    placement,
    read_geojson_zones,
    zones_from_geofencing,
    zones_from_geojson,
)
from tests.rules.helpers import square

SQ = mapping(square(0, 0, 10, 10))


def fc(*features):
    return orjson.dumps({"type": "FeatureCollection", "features": list(features)})


def test_feature_collection():
    text = fc(
        {
            "type": "Feature",
            "id": 7,
            "geometry": SQ,
            "properties": {"name": "Quai", "capacity": 12},
        },
        {"type": "Feature", "geometry": SQ, "properties": {"id": "gare"}},
        {"type": "Feature", "geometry": SQ, "properties": {}},
    )
    start = datetime(2025, 1, 1, tzinfo=UTC)
    zones = zones_from_geojson(text, "mandatory_parking", version=2, effective_from=start)
    assert [z.id for z in zones] == [
        "mandatory_parking:7",
        "mandatory_parking:gare",
        "mandatory_parking:2",
    ]
    assert (zones[0].name, zones[0].capacity, zones[0].version) == ("Quai", 12, 2)
    assert zones[1].capacity is None and zones[0].effective_from == start
    assert zones[0].geometry.geom_type == "Polygon"


def test_bare_geometry_and_prefix():
    (z,) = zones_from_geojson(orjson.dumps(SQ), "water", id_prefix="lac")
    assert z.id == "lac:0" and z.kind == "water"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"{", "invalid JSON"),
        (b"[]", "expected an object"),
        (b'{"type": "FeatureCollection"}', "features"),
        (
            fc(
                {"type": "Feature", "id": 1, "geometry": SQ},
                {"type": "Feature", "id": 1, "geometry": SQ},
            ),
            "duplicate",
        ),
        (
            fc({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": "x"}}),
            "invalid geometry",
        ),
        (fc({"type": "Feature", "geometry": SQ, "properties": {"capacity": "12"}}), "capacity"),
    ],
)
def test_errors(text, message):
    with pytest.raises(ZoneFileError, match=message):
        zones_from_geojson(text, "mandatory_parking")


def test_unknown_kind():
    with pytest.raises(ZoneFileError, match="unknown zone kind"):
        zones_from_geojson(fc(), "parking")


def test_geofencing_no_ride_end_zones_become_operator_no_parking():
    zs = [
        GeofencingZone("Lac", SQ, [GeofencingRule(ride_end_allowed=False)]),
        GeofencingZone("Slow", SQ, [GeofencingRule(ride_end_allowed=True, maximum_speed_kph=10)]),
        GeofencingZone(
            "Mixed",
            SQ,
            [
                GeofencingRule(ride_end_allowed=True),
                GeofencingRule(vehicle_type_ids=["s"], ride_end_allowed=False),
            ],
        ),
    ]
    zones = zones_from_geofencing(zs, "velo")
    assert [(z.id, z.kind, z.operator, z.name) for z in zones] == [
        ("velo:geofencing:0", "no_parking", "velo", "Lac"),
        ("velo:geofencing:2", "no_parking", "velo", "Mixed"),
    ]


# --------------------------------------------------------------------------- hostile files

RING = [[6.13, 45.90], [6.131, 45.90], [6.131, 45.901], [6.13, 45.901], [6.13, 45.90]]
BOWTIE = [[6.13, 45.90], [6.131, 45.901], [6.131, 45.90], [6.13, 45.901], [6.13, 45.90]]


def feature(coords, **props):  # type: ignore[no-untyped-def]
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": coords},
        "properties": props,
    }


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {
                "type": "FeatureCollection",
                "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}},
                "features": [feature([RING])],
            },
            "crs 'urn:ogc:def:crs:EPSG::2154' is not WGS 84",
        ),
        (
            {"type": "FeatureCollection", "features": [{**feature([RING]), "crs": {"x": 1}}]},
            "is not WGS 84",
        ),
        ({"type": "FeatureCollection", "features": [feature([RING[:-1]])]}, "not closed"),
        ({"type": "FeatureCollection", "features": [feature([BOWTIE])]}, "Self-intersection"),
        ({"type": "FeatureCollection", "features": [feature([RING[:2]])]}, "fewer than 4"),
        (
            {"type": "FeatureCollection", "features": [feature([[[6.1, "x"], *RING]])]},
            "not made of finite numbers",
        ),
        ({"type": "FeatureCollection", "features": [feature([RING], id="a|b")]}, "without '|'"),
        ({"type": "FeatureCollection", "features": [feature([RING], name="x" * 300)]}, "name"),
        (
            {"type": "FeatureCollection", "features": [feature([RING], capacity=10**9)]},
            "capacity",
        ),
        ({"type": "FeatureCollection", "features": ["nope"]}, "every feature"),
    ],
)
def test_hostile_zone_files_are_refused(doc, message):  # type: ignore[no-untyped-def]
    with pytest.raises(ZoneFileError, match=re.escape(message)):
        zones_from_geojson(orjson.dumps(doc), "mandatory_parking")


def test_wgs84_crs_members_are_accepted_and_heights_dropped():
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": [feature([[[*p, 450.0] for p in RING]])],
    }
    (z,) = zones_from_geojson(orjson.dumps(doc), "water")
    assert not z.geometry.has_z and z.geometry.is_valid


def test_repair_closes_rings_and_rebuilds_invalid_geometry_saying_so():
    doc = {
        "type": "FeatureCollection",
        "features": [feature([RING[:-1]], id="open"), feature([BOWTIE], id="bowtie")],
    }
    found = read_geojson_zones(orjson.dumps(doc), "no_parking", repair=True)
    assert [z.id for z in found.zones] == ["no_parking:open", "no_parking:bowtie"]
    assert all(z.geometry.is_valid for z in found.zones)
    assert found.zones[1].geometry.geom_type == "MultiPolygon"  # two triangles
    assert len(found.repairs) == 2
    assert "closed 1 ring" in found.repairs[0] and "make_valid" in found.repairs[1]


def test_line_buffers_are_bounded():
    line = {"type": "LineString", "coordinates": [[6.13, 45.9], [6.14, 45.9]]}
    for bad in (-5.0, 0.0, 5000.0, float("nan")):
        with pytest.raises(ZoneFileError, match="--buffer-m"):
            zones_from_geojson(orjson.dumps(line), "tram_tracks", buffer_m=bad)
    (z,) = zones_from_geojson(orjson.dumps(line), "tram_tracks", buffer_m=4.0)
    assert z.buffer_m == 4.0


def test_placement_relative_to_the_city():
    annecy = (6.08, 45.86, 6.18, 45.94)
    inside = shape({"type": "Polygon", "coordinates": [RING]})
    swapped = shape({"type": "Polygon", "coordinates": [[[y, x] for x, y in RING]]})
    paris = shape({"type": "Point", "coordinates": [2.35, 48.85]}).buffer(0.01)
    near = shape({"type": "Point", "coordinates": [6.3, 45.9]}).buffer(0.001)  # ~10 km east
    assert placement(inside, annecy) == "inside"
    assert placement(near, annecy) == "inside"  # within the 20 km margin
    assert placement(swapped, annecy) == "swapped"
    assert placement(paris, annecy) == "outside"
