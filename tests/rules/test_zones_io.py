"""Zones from GeoJSON text and from an operator's geofencing zones."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from shapely.geometry import mapping

from gbfs_ingest.model import GeofencingRule, GeofencingZone
from rules import ZoneFileError, zones_from_geofencing, zones_from_geojson
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
