"""MDS 2.0 Policy and Geography export: shape, types, references, determinism."""

from __future__ import annotations

import re
from datetime import timedelta

import orjson
import pytest
from shapely.geometry import box

from rules import ParkingTerms, permits_to_mds_policy, zones_to_mds_geographies
from tests.rules.helpers import NOW, line, permit, square, zone

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MDS_TS_MIN = 1514764800000
STATES = {"available", "elsewhere", "non_operational", "on_trip", "removed", "reserved", "unknown"}
VEHICLE_TYPES = {
    "bicycle",
    "bus",
    "cargo_bicycle",
    "car",
    "delivery_robot",
    "moped",
    "motorcycle",
    "scooter_standing",
    "scooter_seated",
    "truck",
    "other",
}
UNITS = {"count": {"devices"}, "time": {"seconds", "minutes", "hours", "days"}}
POLICY_KEYS = {
    "name",
    "mode_id",
    "policy_id",
    "provider_ids",
    "description",
    "currency",
    "start_date",
    "end_date",
    "published_date",
    "prev_policies",
    "rules",
}
RULE_KEYS = {
    "name",
    "rule_id",
    "rule_type",
    "geographies",
    "states",
    "rule_units",
    "vehicle_types",
    "propulsion_types",
    "minimum",
    "maximum",
    "inclusive_minimum",
    "inclusive_maximum",
    "rate_amount",
    "rate_recurrence",
    "rate_applies_when",
    "start_time",
    "end_time",
    "days",
    "messages",
    "value_url",
}
GEO_KEYS = {
    "name",
    "description",
    "geography_type",
    "geography_id",
    "geography_json",
    "effective_date",
    "published_date",
    "retire_date",
    "prev_geographies",
}

ZONES = [
    zone(
        "area:city",
        "operating_area",
        square(-2000, -2000, 2000, 2000),
        effective_from=NOW - timedelta(days=400),
    ),
    zone(
        "area:city",
        "operating_area",
        square(-3000, -2000, 2000, 2000),
        version=2,
        effective_from=NOW - timedelta(days=10),
    ),
    zone("no_parking:1", "no_parking", square(0, 0, 100, 100), name="Pont des Amours"),
    zone("water:lake", "water", square(500, 500, 1500, 1500)),
    zone("tram:1", "tram_tracks", line((0, 0), (300, 0))),
    zone("district:centre", "district", square(-500, -500, 500, 500)),
    zone("bay:1", "mandatory_parking", square(0, 0, 8, 3), capacity=10),
    zone("velo:world", "no_parking", box(-180, -90, 180, 90), operator="velo"),
]
PERMITS = [
    permit(
        fleet_cap=500,
        fleet_cap_by_form_factor={"scooter_standing": 400},
        zone_caps={"district:centre": 60},
        zone_floors={"district:centre": 5},
        max_idle=timedelta(days=5),
        max_disabled=timedelta(hours=24),
        parking=ParkingTerms(mandatory=True, district_ids=("district:centre",)),
        penalties_eur={"idle_too_long": 49.0},
    ),
    permit(version=2, effective_from=NOW - timedelta(days=5), fleet_cap=400),
    permit("velo", fleet_cap=300, mds_provider_id="c20e08cf-8488-46a6-a66c-5d8fb827f7e0"),
]


@pytest.fixture(scope="module")
def docs():
    return permits_to_mds_policy(PERMITS, ZONES), zones_to_mds_geographies(ZONES)


def test_geographies_shape(docs):
    _, geo = docs
    assert set(geo) == {"version", "updated", "geographies"} and geo["version"] == "2.0.0"
    assert isinstance(geo["updated"], int)
    assert len(geo["geographies"]) == len(ZONES)
    for g in geo["geographies"]:
        assert set(g) <= GEO_KEYS and {
            "name",
            "geography_id",
            "geography_json",
            "published_date",
        } <= set(g)
        assert UUID.match(g["geography_id"])
        assert isinstance(g["published_date"], int) and g["published_date"] >= MDS_TS_MIN
        fc = g["geography_json"]
        assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 1
        assert fc["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
        assert len(g["description"]) <= 255
    ids = [g["geography_id"] for g in geo["geographies"]]
    assert len(set(ids)) == len(ids)
    orjson.dumps(geo)  # serialisable as is


def test_zone_versions_chain_and_lines_become_areas(docs):
    _, geo = docs
    by_name = {
        (
            g["geography_json"]["features"][0]["properties"]["zone_id"],
            g["geography_json"]["features"][0]["properties"]["version"],
        ): g
        for g in geo["geographies"]
    }
    v1, v2 = by_name[("area:city", 1)], by_name[("area:city", 2)]
    assert v2["prev_geographies"] == [v1["geography_id"]]
    assert "prev_geographies" not in v1
    tram = by_name[("tram:1", 1)]["geography_json"]["features"][0]["geometry"]
    assert tram["type"] == "Polygon"
    assert by_name[("bay:1", 1)]["geography_json"]["features"][0]["properties"]["capacity"] == 10


def test_policy_shape_and_references(docs):
    pol, geo = docs
    assert set(pol) == {"version", "updated", "data"} and pol["version"] == "2.0.0"
    geo_ids = {g["geography_id"] for g in geo["geographies"]}
    policies = pol["data"]["policies"]
    assert len(policies) == 3
    for p in policies:
        assert set(p) <= POLICY_KEYS
        assert {
            "name",
            "mode_id",
            "policy_id",
            "description",
            "start_date",
            "published_date",
            "rules",
        } <= set(p)
        assert p["mode_id"] == "micromobility" and p["currency"] == "EUR"
        assert UUID.match(p["policy_id"]) and all(UUID.match(x) for x in p["provider_ids"])
        assert isinstance(p["start_date"], int) and p["start_date"] >= MDS_TS_MIN
        assert p["rules"]
        for r in p["rules"]:
            assert set(r) <= RULE_KEYS
            assert UUID.match(r["rule_id"])
            assert r["rule_units"] in UNITS[r["rule_type"]]
            assert r["geographies"] and set(r["geographies"]) <= geo_ids
            assert set(r["states"]) <= STATES and all(v == [] for v in r["states"].values())
            assert set(r.get("vehicle_types", [])) <= VEHICLE_TYPES
            for k in ("minimum", "maximum", "rate_amount"):
                assert k not in r or (isinstance(r[k], int) and not isinstance(r[k], bool))
    orjson.dumps(pol)


def test_policy_content(docs):
    pol, geo = docs
    trotti_v1, trotti_v2, velo = pol["data"]["policies"]
    rules = {r["name"]: r for r in trotti_v1["rules"]}
    assert rules["Fleet cap"]["maximum"] == 500
    assert rules["Fleet cap scooter_standing"]["vehicle_types"] == ["scooter_standing"]
    assert rules["No parking: no_parking"]["maximum"] == 0
    assert rules["Zone cap district:centre"]["minimum"] == 5
    idle = rules["Maximum idle time while rentable"]
    assert (idle["rule_type"], idle["rule_units"], idle["maximum"]) == ("time", "minutes", 7200)
    assert set(idle["states"]) == {"available", "reserved"}
    assert (idle["rate_amount"], idle["rate_applies_when"]) == (4900, "out_of_bounds")
    assert rules["Maximum time disabled"]["states"] == {"non_operational": []}
    assert rules["No parking outside designated areas"]["maximum"] == 0
    assert rules["Parking share bay:1"]["maximum"] == 6  # floor(10 * 500 / (500 + 300))
    names = [r["name"] for r in trotti_v1["rules"]]
    assert names.index("Designated parking areas") < names.index(
        "No parking outside designated areas"
    )
    assert trotti_v2["prev_policies"] == [trotti_v1["policy_id"]]
    assert velo["provider_ids"] == ["c20e08cf-8488-46a6-a66c-5d8fb827f7e0"]
    world = [g["geography_id"] for g in geo["geographies"] if g["name"] == "velo:world"]
    velo_np = {r["name"]: r for r in velo["rules"]}["No parking: no_parking"]["geographies"]
    assert set(world) <= set(velo_np)
    trotti_np = rules["No parking: no_parking"]["geographies"]
    assert not set(world) & set(trotti_np)


def test_deterministic_ids(docs):
    assert permits_to_mds_policy(PERMITS, ZONES) == docs[0]
    assert zones_to_mds_geographies(list(reversed(ZONES))) == docs[1]
