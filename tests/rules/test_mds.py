"""MDS 2.0 Policy and Geography documents: the official schemas and the spec's prose.

Every document is serialised and parsed back, then validated against the
official OpenAPI schemas (``../shared/mds/openapi-v2.0``) with a draft 2020-12
validator (``tests.mds_schema``), and against the prose rules the schemas
cannot check (``prose_errors``).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta
from typing import Any

import orjson
import pytest
import shapely
from shapely.geometry import box

from fleet_monitor.violations.demo_setup import demo_permit_text
from gbfs_simulator import zone_file_path
from rules import ZONE_KINDS, CountingMethod, ParkingTerms, load_permit_toml, zones_from_geojson
from rules.mds import (
    MdsError,
    build_mds,
    permits_to_mds_policy,
    zones_to_mds_geographies,
)
from rules.mds_mapping import MDS_RULES, VALID_RECURRENCES, time_units
from rules.mds_versions import PublishedPolicy, link_policies
from tests.mds_schema import mds_errors, prose_errors
from tests.rules.helpers import NOW, line, permit, square, zone

PUBLISHED = NOW
CITY = zone("area:city", "operating_area", square(-3000, -3000, 3000, 3000))
LAKE = zone("water:lake", "water", square(500, 500, 1500, 1500), name="Lac")
CANAL = zone("water:canal", "water", square(1400, 900, 2500, 1000), name="Canal du Thiou")
TRAM_A = zone("tram:a", "tram_tracks", line((-1000, 0), (1000, 0)))
TRAM_B = zone("tram:b", "tram_tracks", line((0, -1000), (0, 1000)))
CENTRE = zone("district:centre", "district", square(-500, -500, 500, 500))
NORTH = zone("district:north", "district", square(-500, 500, 500, 1500))  # touches the centre
OLD_TOWN = zone("district:old", "district", square(-200, -200, 200, 200))  # inside the centre
BAY1 = zone("bay:1", "mandatory_parking", square(0, 0, 8, 3), capacity=10)
BAY2 = zone("bay:2", "mandatory_parking", square(100, 100, 108, 103), capacity=4)
NO_PARK = zone("no_parking:1", "no_parking", square(-900, -900, -800, -800), name="Pont")
WORLD = zone("velo:world", "no_parking", box(-180, -90, 180, 90), operator="velo")
ZONES = [CITY, LAKE, CANAL, TRAM_A, TRAM_B, CENTRE, NORTH, OLD_TOWN, BAY1, BAY2, NO_PARK, WORLD]

EVERY_CLAUSE = permit(
    fleet_cap=500,
    fleet_cap_by_form_factor={"scooter_standing": 400, "bicycle": 100},
    zone_caps={"district:centre": 60, "district:old": 20},
    zone_floors={"district:centre": 5, "district:north": 2},
    max_idle=timedelta(seconds=90),
    max_disabled=timedelta(hours=36),
    parking=ParkingTerms(mandatory=True, district_ids=("district:centre", "district:north")),
    penalties_eur={"idle_too_long": 49.0, "in_water": 120.0, "fleet_cap": 500.0},
)
VELO = permit("velo", fleet_cap=300, mds_provider_id="c20e08cf-8488-46a6-a66c-5d8fb827f7e0")


def roundtrip(doc: dict[str, Any]) -> Any:
    return orjson.loads(orjson.dumps(doc))


def publish(permits: list[Any], zones: list[Any], **kw: Any) -> tuple[Any, Any, Any]:
    drafts = build_mds(permits, zones, published_at=PUBLISHED, **kw)
    linked = link_policies(drafts.policies, [])
    pol = roundtrip(
        {
            "version": "2.0.0",
            "last_updated": 1_749_000_000_000,
            "policies": [d.policy for d in linked],
        }
    )
    geo = roundtrip(
        {
            "version": "2.0.0",
            "last_updated": 1_749_000_000_000,
            "geographies": list(drafts.geographies.values()),
        }
    )
    return pol, geo, drafts


def assert_valid(pol: Any, geo: Any) -> None:
    assert mds_errors(pol, "policy", "/policies.json") == []
    assert mds_errors(pol, "policy", "/policies") == []
    assert mds_errors(geo, "geography", "/geographies.json") == []
    assert prose_errors(pol, geo) == []


def by_name(pol: Any) -> dict[str, dict[str, Any]]:
    return {p["name"].split(" - ")[-1]: p for p in pol["policies"]}


def test_the_old_shape_fails_the_official_schema() -> None:
    """The validator can fail: the 1.x envelope and a time rule with once_on_match."""
    old = {"version": "2.0.0", "updated": 1_749_000_000_000, "data": {"policies": []}}
    errors = mds_errors(old, "policy", "/policies.json")
    assert any("last_updated" in e for e in errors) and any("policies" in e for e in errors)
    pol, _, _ = publish([EVERY_CLAUSE], ZONES)
    rule = next(r for p in pol["policies"] for r in p["rules"] if r["rule_type"] == "time")
    rule["rate_recurrence"] = "once_on_match"
    assert mds_errors(pol, "policy", "/policies.json")
    rule.pop("rate_recurrence")
    pol["policies"][0]["rules"] = []
    assert mds_errors(pol, "policy", "/policies.json")


def test_every_clause_is_valid_and_split_by_first_match_partition() -> None:
    pol, geo, _ = publish([EVERY_CLAUSE, VELO], ZONES)
    assert_valid(pol, geo)
    trotti = by_name({"policies": [p for p in pol["policies"] if "trotti" in p["name"]]})
    assert set(trotti) == {
        "parking",
        "zone caps",
        "zone caps 2",
        "fleet cap",
        "fleet cap per vehicle type",
        "time limits",
    }
    parking = [r["name"] for r in trotti["parking"]["rules"]]
    assert parking == [
        "No parking: no_parking",
        "No parking: water",
        "No parking: tram_tracks",
        "Parking share bay:1",
        "Parking share bay:2",
        "Designated parking areas",
        "No parking outside designated areas",
    ]
    # the fleet cap and the idle limit are in policies of their own: a vehicle in a bay
    # matches the bay's rule in the parking policy, and still counts for the fleet cap
    (fleet,) = trotti["fleet cap"]["rules"]
    assert (fleet["name"], fleet["maximum"], fleet.get("vehicle_types")) == ("Fleet cap", 500, None)
    assert (fleet["rate_amount"], fleet["rate_recurrence"]) == (50000, "once_on_match")
    types = {
        r["vehicle_types"][0]: r["maximum"] for r in trotti["fleet cap per vehicle type"]["rules"]
    }
    assert types == {"bicycle": 100, "scooter_standing": 400}
    # the old town lies inside the centre: separate policies, each vehicle counts for both
    caps = {r["name"] for r in trotti["zone caps"]["rules"]}
    caps2 = {r["name"] for r in trotti["zone caps 2"]["rules"]}
    assert "Zone cap district:centre" in caps and caps2 == {"Zone cap district:old"}
    assert "Zone floor district:north" in caps  # touching the centre is no overlap
    centre = next(r for r in trotti["zone caps"]["rules"] if r["name"].endswith("centre"))
    assert (centre["maximum"], centre["minimum"]) == (60, 5)


def test_time_units_are_exact_and_time_rules_carry_no_per_match_rate() -> None:
    assert time_units(90) == ("seconds", 90)
    assert time_units(20) == ("seconds", 20)
    assert time_units(120) == ("minutes", 2)
    assert time_units(36 * 3600) == ("hours", 36)
    assert time_units(5 * 86400) == ("days", 5)
    pol, _, _ = publish([EVERY_CLAUSE], ZONES)
    (time_policy,) = [p for p in pol["policies"] if p["name"].endswith("time limits")]
    idle, disabled = time_policy["rules"]
    assert (idle["rule_units"], idle["maximum"]) == ("seconds", 90)
    assert (disabled["rule_units"], disabled["maximum"]) == ("hours", 36)
    assert set(idle["states"]) == {"available", "reserved"}
    assert disabled["states"] == {"non_operational": []}
    assert "rate_recurrence" not in idle and "rate_amount" not in idle
    assert "idle_too_long penalty 49 EUR per breach" in time_policy["description"]
    for mapping in MDS_RULES.values():
        allowed = VALID_RECURRENCES[mapping.mds_rule_type]
        assert mapping.penalty_recurrence is None or mapping.penalty_recurrence in allowed


def test_overlapping_geographies_of_a_rule_are_dissolved() -> None:
    pol, geo, drafts = publish([EVERY_CLAUSE], ZONES)
    rules = {r["name"]: r for p in pol["policies"] for r in p["rules"]}
    geos = {g["geography_id"]: g for g in geo["geographies"]}
    (water,) = rules["No parking: water"]["geographies"]  # lake and canal overlap: one union
    props = geos[water]["geography_json"]["features"][0]["properties"]
    assert props["zone_ids"] == ["water:canal", "water:lake"]
    (tram,) = rules["No parking: tram_tracks"]["geographies"]  # the corridors cross
    assert drafts.geography_lineage[tram] == "union:tram:a,tram:b"
    # the centre and the north touch: two geographies, not dissolved
    assert len(rules["No parking outside designated areas"]["geographies"]) == 2
    # a lone zone is its own geography
    assert drafts.geography_lineage[rules["Parking share bay:1"]["geographies"][0]] == "zone:bay:1"


def test_start_is_twenty_minutes_after_publication_at_least() -> None:
    with pytest.raises(MdsError, match="20 minutes"):
        build_mds([EVERY_CLAUSE], ZONES, published_at=NOW, start_at=NOW + timedelta(minutes=19))
    pol, _, _ = publish([EVERY_CLAUSE], ZONES)
    for p in pol["policies"]:
        assert p["start_date"] - p["published_date"] == 20 * 60 * 1000
    later = NOW + timedelta(days=1)
    pol, _, _ = publish([EVERY_CLAUSE], ZONES, start_at=later)
    assert {p["start_date"] for p in pol["policies"]} == {int(later.timestamp() * 1000)}


def test_edge_permits_no_clause_long_names_early_dates() -> None:
    early = datetime(2001, 1, 1, tzinfo=UTC)
    long_name = "Trotti\nAOT " + "x" * 400
    edge = [
        permit("empty", prohibited_kinds=()),  # no clause at all
        permit("early", effective_from=early, name=long_name, fleet_cap=10),
        permit("ended", effective_from=early, effective_to=datetime(2010, 1, 1, tzinfo=UTC)),
    ]
    zones = [
        zone("area:old", "operating_area", square(-3000, -3000, 3000, 3000), effective_from=early),
        zone("np:" + "y" * 120, "no_parking", square(0, 0, 50, 50), name="Nom\r\n" + "n" * 300),
    ]
    pol, geo, drafts = publish(edge, zones)
    assert_valid(pol, geo)
    assert {p["name"].split(" ")[0] for p in pol["policies"]} == {"Trotti"}
    assert any("empty" in n and "no clause" in n for n in drafts.notes)
    for p in pol["policies"]:
        assert len(p["name"]) <= 255 and "\n" not in p["name"]
        assert p["name"].endswith(("parking", "fleet cap"))
    for g in geo["geographies"]:
        assert g["effective_date"] >= g["published_date"] >= 1_514_764_800_000
        assert len(g["name"]) <= 255 and "\n" not in g["name"] and "\r" not in g["name"]


def test_demo_city_permits_are_valid() -> None:
    zones = [
        z
        for kind in ZONE_KINDS
        for z in zones_from_geojson(zone_file_path(kind).read_bytes(), kind)
    ]
    start = NOW - timedelta(days=1)
    permits = [
        load_permit_toml(demo_permit_text("velomax", 400, start)),
        load_permit_toml(demo_permit_text("trotti", 600, start)),
        load_permit_toml(demo_permit_text("lacbike", 150, start, mandatory_parking=True)),
    ]
    pol, geo, _ = publish(permits, zones)
    assert_valid(pol, geo)
    assert len(pol["policies"]) >= 9
    flat = zones_to_mds_geographies(zones, published_at=NOW)
    assert mds_errors(roundtrip(flat), "geography", "/geographies.json") == []


def test_world_polygon_of_one_operator() -> None:
    pol, geo, drafts = publish([EVERY_CLAUSE, VELO], ZONES)
    assert_valid(pol, geo)
    with_world = {g for g, key in drafts.geography_lineage.items() if "velo:world" in key}
    velo = [r for p in pol["policies"] if p["name"].startswith("velo") for r in p["rules"]]
    trotti = [r for p in pol["policies"] if "trotti" in p["name"] for r in p["rules"]]
    # the world overlaps the city's no-parking zone: one union for velo's rule
    (np_rule,) = [r for r in velo if r["name"] == "No parking: no_parking"]
    assert np_rule["geographies"] == sorted(with_world)
    assert drafts.geography_lineage[np_rule["geographies"][0]] == "union:no_parking:1,velo:world"
    assert not any(set(r["geographies"]) & with_world for r in trotti)
    velo_policy = next(p for p in pol["policies"] if p["name"].startswith("velo"))
    assert velo_policy["provider_ids"] == ["c20e08cf-8488-46a6-a66c-5d8fb827f7e0"]


def test_a_change_is_a_new_policy_listing_the_replaced_one() -> None:
    first = build_mds([EVERY_CLAUSE], ZONES, published_at=NOW)
    linked = link_policies(first.policies, [])
    stored = [
        PublishedPolicy(d.policy["policy_id"], d.operator, d.permit_version, d.facet, d.digest)
        for d in linked
    ]
    # nothing changed: nothing to publish, a day later
    later = NOW + timedelta(days=1)
    again = build_mds([EVERY_CLAUSE], ZONES, published_at=later)
    assert link_policies(again.policies, stored) == []
    # the lake grows: only the parking policy changes
    lake2 = zone("water:lake", "water", square(400, 400, 1500, 1500), version=2, name="Lac")
    changed = build_mds([EVERY_CLAUSE], [*ZONES, lake2], published_at=later)
    (new,) = link_policies(changed.policies, stored)
    old_parking = next(s for s in stored if s.facet == "parking")
    assert new.facet == "parking" and new.policy["prev_policies"] == [old_parking.policy_id]
    assert new.policy["policy_id"] != old_parking.policy_id
    # a new permit version without zone caps replaces them too
    v2 = permit(version=2, fleet_cap=450, effective_from=NOW - timedelta(days=1))
    linked2 = link_policies(build_mds([v2], ZONES, published_at=later).policies, stored)
    facets = {d.facet: d.policy.get("prev_policies", []) for d in linked2}
    replaced = {p for ids in facets.values() for p in ids}
    assert replaced == {s.policy_id for s in stored}


def test_deterministic_ids_and_plain_exports() -> None:
    assert permits_to_mds_policy([EVERY_CLAUSE], ZONES, published_at=NOW) == (
        permits_to_mds_policy([EVERY_CLAUSE], list(reversed(ZONES)), published_at=NOW)
    )
    geo = zones_to_mds_geographies(
        [*ZONES, zone("area:city", "operating_area", box(6, 45, 7, 46), version=2)],
        published_at=NOW,
    )
    assert mds_errors(roundtrip(geo), "geography", "/geographies.json") == []
    v2 = next(g for g in geo["geographies"] if g.get("prev_geographies"))
    assert v2["geography_json"]["features"][0]["properties"]["version"] == 2
    tram = next(g for g in geo["geographies"] if g["name"] == "tram:a")
    assert tram["geography_json"]["features"][0]["geometry"]["type"] == "Polygon"
    assert shapely.geometry.shape(tram["geography_json"]["features"][0]["geometry"]).area > 0


def test_counts_apply_in_the_permits_operating_hours() -> None:
    day = dataclasses.replace(
        EVERY_CLAUSE, counting=CountingMethod(operating_hours=(time(6), time(23)))
    )
    night = dataclasses.replace(
        EVERY_CLAUSE, counting=CountingMethod(operating_hours=(time(22), time(5, 30)))
    )
    pol, geo, _ = publish([day], ZONES)
    assert_valid(pol, geo)
    rules = {r["name"]: r for p in pol["policies"] for r in p["rules"]}
    fleet = rules["Fleet cap"]
    assert (fleet["start_time"], fleet["end_time"]) == ("06:00:00", "23:00:00")
    assert rules["Zone cap district:centre"]["start_time"] == "06:00:00"
    assert "start_time" not in rules["No parking: water"]  # parking: at all times
    assert "start_time" not in rules["Maximum idle time while rentable"]
    pol, geo, _ = publish([night], ZONES)
    assert_valid(pol, geo)
    fleet_policy = next(p for p in pol["policies"] if p["name"].endswith(" - fleet cap"))
    evening, morning = fleet_policy["rules"]
    assert (evening["name"], evening["start_time"], evening.get("end_time")) == (
        "Fleet cap (evening)",
        "22:00:00",
        None,
    )
    assert (morning["name"], morning.get("start_time"), morning["end_time"]) == (
        "Fleet cap (morning)",
        None,
        "05:30:00",
    )
