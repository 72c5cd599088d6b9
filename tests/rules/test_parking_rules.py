"""Where vehicles are parked: prohibited zones, operating area, mandatory parking.

Positions are given in metres from a reference point; the GPS tolerance is
10 m unless stated. A reported position in breach by more than the tolerance
is a violation, by less an 'uncertain' finding; a compliant one is nothing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from shapely.geometry import box

from rules import (
    ParkingTerms,
    PreparedCity,
    RuleType,
    evaluate_in_no_parking_area,
    evaluate_in_pedestrian_area,
    evaluate_in_water,
    evaluate_on_tram_tracks,
    evaluate_outside_mandatory_parking,
    evaluate_outside_operating_area,
    evaluate_prohibited_zones,
)
from tests.rules.helpers import NOW, line, permit, square, vehicle, zone

AREA = zone("area:city", "operating_area", square(-2000, -2000, 2000, 2000))


def prohibited(zones, vehicles, permits, tolerance=10.0, **kw):
    city = PreparedCity([AREA, *zones], tolerance_m=tolerance, **kw)
    return evaluate_prohibited_zones(vehicles, city, permits, NOW)


@pytest.mark.parametrize(
    ("kind", "rule"),
    [
        ("no_parking", RuleType.IN_NO_PARKING_AREA),
        ("pedestrian", RuleType.IN_PEDESTRIAN_AREA),
        ("water", RuleType.IN_WATER),
    ],
)
@pytest.mark.parametrize(
    ("where", "expected", "depth"),
    [
        ((50, 20), "violation", 20.0),  # inside by 20 m
        ((50, 5), "uncertain", 5.0),  # inside, 5 m from the border
        ((50, -5), None, None),  # outside, 5 m from the border
        ((50, -50), None, None),  # well outside
    ],
)
def test_prohibited_zone_border_and_tolerance(kind, rule, where, expected, depth):
    z = zone(f"{kind}:1", kind, square(0, 0, 100, 100))
    found = prohibited([z], [vehicle("v1", *where)], [permit(penalties_eur={str(rule): 35.0})])
    if expected is None:
        assert found == []
        return
    (f,) = found
    assert (f.rule_type, f.status, f.subject_key, f.zone_id) == (rule, expected, "v1", z.id)
    assert f.measured == pytest.approx(depth, abs=0.3)
    assert (f.unit, f.threshold) == ("m", 10.0)
    assert f.clause == f"permit:trotti:v1#{rule}"
    assert f.penalty_eur == (35.0 if expected == "violation" else None)
    assert f.evidence["zones"] == [z.id]
    assert f.evidence["fetch_refs"] == ("fetch:v1",)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ((100, 0.5), "violation"),  # on the rails: 2.5 m inside a 3 m half-width
        ((100, 2.5), "uncertain"),  # within 1 m of the buffered border
        ((100, 5.0), None),
    ],
)
def test_tram_tracks_lines_are_buffered_in_metres(where, expected):
    tracks = zone("tram:1", "tram_tracks", line((0, 0), (200, 0)), buffer_m=3.0)
    found = prohibited([tracks], [vehicle("v1", *where)], [permit()], tolerance=1.0)
    assert [f.status for f in found] == ([expected] if expected else [])
    assert all(f.rule_type == RuleType.ON_TRAM_TRACKS for f in found)


def test_tram_tracks_narrower_than_the_tolerance_are_never_certain():
    tracks = zone("tram:1", "tram_tracks", line((0, 0), (200, 0)))  # 1.5 m default half-width
    found = prohibited([tracks], [vehicle("v1", 100, 0)], [permit()])
    assert [f.status for f in found] == ["uncertain"]


def test_deepest_zone_named_and_all_zones_in_evidence():
    zones = [
        zone("no_parking:a", "no_parking", square(0, 0, 100, 100)),
        zone("no_parking:b", "no_parking", square(40, 0, 300, 100)),
    ]
    (f,) = prohibited(zones, [vehicle("v1", 90, 50)], [permit()])
    assert f.zone_id == "no_parking:b"  # 50 m deep in b, 10 m in a
    assert f.evidence["zones"] == ["no_parking:a", "no_parking:b"]


def test_kind_not_enforced_by_permit_is_ignored():
    z = zone("water:1", "water", square(0, 0, 100, 100))
    assert (
        prohibited([z], [vehicle("v1", 50, 50)], [permit(prohibited_kinds=("no_parking",))]) == []
    )


def test_operator_scoped_zone_applies_to_that_operator_only():
    z = zone("no_parking:velo", "no_parking", square(0, 0, 100, 100), operator="velo")
    vs = [vehicle("t1", 50, 50), vehicle("v1", 50, 50, operator="velo")]
    found = prohibited([z], vs, [permit(), permit("velo")])
    assert [(f.operator, f.subject_key) for f in found] == [("velo", "v1")]


@pytest.mark.parametrize(
    ("start", "end", "flagged"),
    [
        (NOW - timedelta(days=1), None, True),
        (NOW + timedelta(days=1), None, False),  # not yet in force
        (NOW - timedelta(days=2), NOW - timedelta(days=1), False),  # retired
        (NOW - timedelta(days=2), NOW, False),  # end is exclusive
    ],
)
def test_zone_effective_dates(start, end, flagged):
    z = zone(
        "no_parking:1", "no_parking", square(0, 0, 100, 100), effective_from=start, effective_to=end
    )
    found = prohibited([z], [vehicle("v1", 50, 50)], [permit()])
    assert bool(found) is flagged


def test_vehicles_without_permit_or_position_are_not_evaluated():
    z = zone("no_parking:1", "no_parking", square(0, 0, 100, 100))
    nowhere = vehicle("v2", 50, 50)
    nowhere = type(nowhere)(
        **{**{f: getattr(nowhere, f) for f in nowhere.__slots__}, "lat": float("nan")}
    )
    vs = [vehicle("v1", 50, 50, operator="unlicensed"), nowhere]
    assert prohibited([z], vs, [permit()]) == []


# -- operating area -----------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "expected", "distance"),
    [
        ((0, 0), None, None),
        ((1995, 0), None, None),  # inside, 5 m from the border: compliant position
        ((2005, 0), "uncertain", 5.0),
        ((2030, 0), "violation", 30.0),
    ],
)
def test_outside_operating_area(where, expected, distance):
    city = PreparedCity([AREA], tolerance_m=10.0)
    found = evaluate_outside_operating_area([vehicle("v1", *where)], city, [permit()], NOW)
    assert [f.status for f in found] == ([expected] if expected else [])
    if expected:
        assert found[0].measured == pytest.approx(distance, abs=0.3)
        assert found[0].rule_type == RuleType.OUTSIDE_OPERATING_AREA
        assert found[0].clause == "permit:trotti:v1#operating_area"


def test_operating_area_limited_to_permit_zone_ids():
    east = zone("area:east", "operating_area", square(2000, -2000, 6000, 2000))
    city = PreparedCity([AREA, east], tolerance_m=10.0)
    v = [vehicle("v1", 3000, 0)]
    assert evaluate_outside_operating_area(v, city, [permit()], NOW) == []
    only_city = permit(operating_area_zone_ids=("area:city",))
    (f,) = evaluate_outside_operating_area(v, city, [only_city], NOW)
    assert f.measured == pytest.approx(1000, abs=1)


def test_operator_without_operating_area_is_not_evaluated():
    z = zone("no_parking:1", "no_parking", square(0, 0, 100, 100))
    city = PreparedCity([z], tolerance_m=10.0)
    assert evaluate_outside_operating_area([vehicle("v1", 5000, 0)], city, [permit()], NOW) == []


# -- mandatory parking ----------------------------------------------------------

BAY = zone("bay:1", "mandatory_parking", square(0, 0, 8, 3), capacity=10)
CENTRE = zone("district:centre", "district", square(-500, -500, 500, 500))
MANDATORY = ParkingTerms(mandatory=True, district_ids=("district:centre",))


@pytest.mark.parametrize(
    ("where", "terms", "expected"),
    [
        ((4, 1.5), MANDATORY, None),  # in the bay (smaller than the tolerance)
        ((4, 8), MANDATORY, "uncertain"),  # 5 m from the bay
        ((4, 43), MANDATORY, "violation"),  # 40 m from the bay
        ((800, 0), MANDATORY, None),  # outside the district where it is mandatory
        ((800, 0), ParkingTerms(mandatory=True), "violation"),  # mandatory everywhere
        ((4, 43), ParkingTerms(mandatory=False), None),
        ((4, 43), ParkingTerms(mandatory=True, zone_ids=("bay:other",)), None),  # no bay: no rule
    ],
)
def test_outside_mandatory_parking(where, terms, expected):
    city = PreparedCity([AREA, CENTRE, BAY], tolerance_m=10.0)
    found = evaluate_outside_mandatory_parking(
        [vehicle("v1", *where)], city, [permit(parking=terms)], NOW
    )
    assert [f.status for f in found] == ([expected] if expected else [])
    assert all(f.clause == "permit:trotti:v1#parking.mandatory" for f in found)


def test_mandatory_parking_distance_is_to_the_nearest_bay():
    far_bay = zone("bay:2", "mandatory_parking", square(100, 0, 108, 3), capacity=5)
    city = PreparedCity([AREA, CENTRE, BAY, far_bay], tolerance_m=10.0)
    (f,) = evaluate_outside_mandatory_parking(
        [vehicle("v1", 60, 1.5)], city, [permit(parking=MANDATORY)], NOW
    )
    assert f.measured == pytest.approx(40, abs=0.3)


# -- a zone covering the whole world ---------------------------------------------

WORLD = box(-180, -90, 180, 90)
PARIS = (2.35, 48.85)


def _far(key: str, operator: str = "trotti"):
    v = vehicle(key, 0, 0, operator=operator)
    return type(v)(**{**{f: getattr(v, f) for f in v.__slots__}, "lon": PARIS[0], "lat": PARIS[1]})


def test_world_operating_area_clipped_and_far_vehicles_inside_it():
    world = zone("area:world", "operating_area", WORLD)
    city = PreparedCity([AREA, world], tolerance_m=10.0)
    assert city.clipped.tolist() == [False, True]
    vs = [vehicle("v1", 0, 0), vehicle("v2", 5000, 0), _far("v3")]
    assert evaluate_outside_operating_area(vs, city, [permit()], NOW) == []
    # the same vehicles against the city area alone
    alone = PreparedCity([AREA], tolerance_m=10.0)
    found = evaluate_outside_operating_area(vs, alone, [permit()], NOW)
    assert [f.subject_key for f in found] == ["v2", "v3"]
    assert found[1].measured > 400_000  # Paris is ~400 km away


def test_world_no_parking_zone_of_one_operator():
    world = zone("velo:geofencing:0", "no_parking", WORLD, operator="velo")
    city = PreparedCity([AREA, world], tolerance_m=10.0)
    vs = [vehicle("t1", 0, 0), vehicle("v1", 0, 0, operator="velo"), _far("v2", "velo")]
    found = evaluate_prohibited_zones(vs, city, [permit(), permit("velo")], NOW)
    assert [(f.subject_key, f.status) for f in found] == [("v1", "violation"), ("v2", "violation")]
    assert found[0].measured > 1000  # depth in the zone clipped to the city's surroundings
    assert found[1].measured is None  # far away: inside, depth not measured


def test_only_world_zones_need_an_explicit_area_of_interest():
    world = zone("area:world", "operating_area", WORLD)
    with pytest.raises(ValueError, match="aoi"):
        PreparedCity([world])
    city = PreparedCity([world], aoi=(6.0, 45.8, 6.3, 46.0))
    assert evaluate_outside_operating_area([vehicle("v1", 0, 0)], city, [permit()], NOW) == []


@pytest.mark.parametrize(
    ("evaluate", "rule"),
    [
        (evaluate_in_no_parking_area, RuleType.IN_NO_PARKING_AREA),
        (evaluate_in_pedestrian_area, RuleType.IN_PEDESTRIAN_AREA),
        (evaluate_in_water, RuleType.IN_WATER),
        (evaluate_on_tram_tracks, RuleType.ON_TRAM_TRACKS),
    ],
)
def test_one_evaluator_per_prohibited_kind(evaluate, rule):
    zones = [
        zone("no_parking:1", "no_parking", square(0, 0, 100, 100)),
        zone("pedestrian:1", "pedestrian", square(0, 0, 100, 100)),
        zone("water:1", "water", square(0, 0, 100, 100)),
        zone("tram:1", "tram_tracks", line((0, 50), (100, 50)), buffer_m=20.0),
    ]
    city = PreparedCity([AREA, *zones], tolerance_m=10.0)
    found = evaluate([vehicle("v1", 50, 50)], city, [permit()], NOW)
    assert [(f.rule_type, f.status) for f in found] == [(rule, "violation")]
    assert evaluate.__name__ == f"evaluate_{rule}"
