"""Fleet cap, zone caps and floors on samples; parking-area overflow; sample building."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from gbfs_ingest.model import VehicleState
from rules import (
    CountingMethod,
    CountSample,
    DeployedVehicle,
    OutageSpan,
    ParkingTerms,
    PreparedCity,
    RuleType,
    build_count_samples,
    evaluate_count_rules,
    evaluate_fleet_cap,
    evaluate_parking_overflow,
    evaluate_zone_caps,
    evaluate_zone_floors,
    parking_quotas,
    vehicles_beyond,
)
from tests.rules.helpers import NOW, permit, square, vehicle, zone

H = timedelta(hours=1)


def fleet(n: int, **kw) -> tuple[DeployedVehicle, ...]:
    """n vehicles, veh-0 deployed first (oldest), veh-{n-1} last."""
    return tuple(
        DeployedVehicle(f"veh-{i}", deployed_since=NOW - timedelta(days=30) + i * H, **kw)
        for i in range(n)
    )


def sample(vehicles, at=NOW, operator="trotti", coverage=1.0, **kw) -> CountSample:
    by_ff: dict[str, int] = {}
    by_zone: dict[str, int] = {}
    for v in vehicles:
        by_ff[v.form_factor or "unknown"] = by_ff.get(v.form_factor or "unknown", 0) + 1
        for z in v.zone_ids:
            by_zone[z] = by_zone.get(z, 0) + 1
    return CountSample(at, operator, len(vehicles), coverage, by_ff, by_zone, tuple(vehicles), **kw)


def test_fleet_cap_names_exactly_the_vehicles_beyond_the_cap():
    vs = fleet(5)
    (f,) = evaluate_count_rules([sample(vs)], [permit(fleet_cap=3)], NOW)
    assert (f.rule_type, f.status, f.subject_key, f.measured, f.threshold) == (
        RuleType.FLEET_CAP,
        "violation",
        "trotti",
        5,
        3,
    )
    assert f.vehicles_beyond == ("veh-4", "veh-3")  # most recently deployed first
    assert f.clause == "permit:trotti:v1#fleet_cap"
    assert f.unit == "devices" and f.coverage == 1.0
    assert "5-minute samples" in f.evidence["method"]
    assert f.key == "fleet_cap|trotti|trotti"


@pytest.mark.parametrize(("cap", "flagged"), [(5, False), (6, False), (4, True)])
def test_fleet_cap_threshold(cap, flagged):
    assert bool(evaluate_count_rules([sample(fleet(5))], [permit(fleet_cap=cap)], NOW)) is flagged


def test_beyond_cap_order_ties_by_key_and_unknown_deployment_last():
    same = NOW - H
    vs = [
        DeployedVehicle("b", deployed_since=same),
        DeployedVehicle("a", deployed_since=same),
        DeployedVehicle("z"),
        DeployedVehicle("c", deployed_since=NOW - 2 * H),
    ]
    assert vehicles_beyond(vs, 4) == ("a", "b", "c", "z")
    assert vehicles_beyond(vs, 0) == ()


def test_cap_per_form_factor_names_vehicles_of_that_type():
    vs = fleet(3, form_factor="bicycle") + tuple(
        DeployedVehicle(f"s{i}", "scooter_standing", deployed_since=NOW) for i in range(4)
    )
    p = permit(fleet_cap=10, fleet_cap_by_form_factor={"bicycle": 1, "scooter_standing": 5})
    (f,) = evaluate_count_rules([sample(vs)], [p], NOW)
    assert (f.subject_key, f.clause, f.measured) == (
        "trotti:bicycle",
        "permit:trotti:v1#fleet_cap.bicycle",
        3,
    )
    assert f.vehicles_beyond == ("veh-2", "veh-1")


def test_zone_cap_names_vehicles_in_the_zone_only():
    vs = fleet(3, zone_ids=("district:centre",)) + fleet(3)[:0] + (DeployedVehicle("out"),)
    p = permit(zone_caps={"district:centre": 2})
    (f,) = evaluate_count_rules([sample(vs)], [p], NOW)
    assert (f.rule_type, f.subject_key, f.zone_id, f.measured, f.threshold) == (
        RuleType.ZONE_CAP,
        "district:centre",
        "district:centre",
        3,
        2,
    )
    assert f.vehicles_beyond == ("veh-2",)


@pytest.mark.parametrize(("coverage", "status"), [(1.0, "violation"), (0.5, "uncertain")])
def test_zone_floor_needs_coverage_to_be_a_violation(coverage, status):
    vs = fleet(1, zone_ids=("district:novel",))
    p = permit(zone_floors={"district:novel": 3})
    (f,) = evaluate_count_rules([sample(vs, coverage=coverage)], [p], NOW)
    assert (f.rule_type, f.status, f.measured, f.threshold, f.coverage) == (
        RuleType.ZONE_FLOOR,
        status,
        1,
        3,
        coverage,
    )


def test_cap_breach_on_partial_data_is_still_a_violation():
    (f,) = evaluate_count_rules([sample(fleet(5), coverage=0.4)], [permit(fleet_cap=3)], NOW)
    assert f.status == "violation" and f.coverage == 0.4


@pytest.mark.parametrize(
    ("age", "kw", "found"),
    [
        (timedelta(0), {}, True),
        (timedelta(minutes=10), {}, True),  # within two intervals
        (timedelta(minutes=11), {}, False),  # too old to say anything now
        (timedelta(0), {"in_outage": True}, False),
        (timedelta(0), {"coverage": 0.0}, False),
        (-timedelta(minutes=5), {}, False),  # after now
    ],
)
def test_only_a_current_usable_sample_counts(age, kw, found):
    s = sample(fleet(5), at=NOW - age, **kw)
    assert bool(evaluate_count_rules([s], [permit(fleet_cap=3)], NOW)) is found


def test_window_summary_states_the_method_and_coverage():
    samples = [
        sample(fleet(2 if k % 2 else 5), at=NOW - k * timedelta(minutes=5)) for k in range(12)
    ]
    method = CountingMethod(window=timedelta(hours=2))
    (f,) = evaluate_count_rules(samples, [permit(fleet_cap=3, counting=method)], NOW)
    ev = f.evidence
    assert (ev["samples_expected"], ev["samples_present"], ev["samples_in_breach"]) == (24, 12, 6)
    assert ev["window_coverage"] == 0.5
    assert (ev["max_count"], ev["min_count"]) == (5, 2)
    assert f.measured == 5  # the latest sample
    assert f.evidence["sample_time"] == NOW.isoformat()


def test_samples_outside_operating_hours_are_ignored():
    # NOW is 12:00 in Paris; operating hours 22:00-06:00 exclude it
    night = CountingMethod(operating_hours=(time(22, 0), time(6, 0)))
    p = permit(fleet_cap=3, counting=night)
    assert evaluate_count_rules([sample(fleet(5))], [p], NOW) == []
    late = datetime(2025, 6, 3, 21, 30, tzinfo=UTC)  # 23:30 in Paris
    assert evaluate_count_rules([sample(fleet(5), at=late)], [p], late)


def test_count_rules_suspended_during_outage():
    out = [OutageSpan("trotti", NOW - H)]
    assert evaluate_count_rules([sample(fleet(5))], [permit(fleet_cap=3)], NOW, outages=out) == []


# -- building samples ------------------------------------------------------------

AREA = zone("area:city", "operating_area", square(-1000, -1000, 1000, 1000))
CENTRE = zone("district:centre", "district", square(0, 0, 500, 500))


def test_build_count_samples_counts_deployed_vehicles_in_the_operating_area():
    city = PreparedCity([AREA, CENTRE], tolerance_m=10.0)
    vs = [
        vehicle("a", 100, 100, form_factor="bicycle", deployed_since=NOW - H),
        vehicle("b", -100, 100, state=VehicleState.DISABLED, form_factor="bicycle"),
        vehicle("c", 1005, 0),  # just outside the operating area: not deployed here
        vehicle("d", 200, 200, operator="velo", form_factor="scooter_standing"),
    ]
    samples = build_count_samples(vs, city, [permit(), permit("velo")], NOW, coverage={"velo": 0.9})
    by_op = {s.operator: s for s in samples}
    t = by_op["trotti"]
    assert (t.deployed, t.coverage, t.by_form_factor, t.by_zone) == (
        2,
        1.0,
        {"bicycle": 2},
        {"district:centre": 1},
    )
    assert [(v.key, v.zone_ids) for v in t.vehicles] == [("a", ("district:centre",)), ("b", ())]
    assert t.vehicles[0].deployed_since == NOW - H
    assert t.vehicles[1].deployed_since == vs[1].parked_since  # falls back to the dwell start
    assert (by_op["velo"].deployed, by_op["velo"].coverage) == (1, 0.9)


def test_build_count_samples_marks_outage():
    city = PreparedCity([AREA], tolerance_m=10.0)
    (s,) = build_count_samples(
        [vehicle("a", 0, 0)], city, [permit()], NOW, outages=[OutageSpan("trotti", NOW - H)]
    )
    assert s.in_outage and s.coverage == 0.0


# -- parking-area overflow ---------------------------------------------------------

BAY = zone("bay:1", "mandatory_parking", square(0, 0, 20, 20), capacity=4)


def test_parking_quotas_formula():
    p1 = permit(fleet_cap=300)
    p2 = permit("velo", fleet_cap=100)
    p3 = permit("scoot", fleet_cap=500, parking=ParkingTerms(share_weight=100))
    assert parking_quotas([BAY], [p1, p2, p3], NOW) == {
        "bay:1": {"scoot": 0, "trotti": 2, "velo": 0}
    }
    assert parking_quotas([BAY], [p1, p2], NOW) == {"bay:1": {"trotti": 3, "velo": 1}}


def test_overflow_flags_the_operator_over_its_share_of_a_full_area():
    city = PreparedCity([AREA, BAY], tolerance_m=1.0)
    vs = [vehicle(f"t{i}", 5 + i, 10, parked_for=(i + 1) * H) for i in range(4)]
    vs.append(vehicle("v0", 10, 5, operator="velo"))
    found = evaluate_parking_overflow(vs, city, [permit(), permit("velo")], NOW)
    (f,) = found  # total 5 > 4; trotti 4 > quota 2; velo 1 <= 2
    assert (f.rule_type, f.status, f.operator, f.subject_key, f.measured, f.threshold) == (
        RuleType.PARKING_OVERFLOW,
        "violation",
        "trotti",
        "bay:1",
        4,
        2,
    )
    assert f.vehicles_beyond == ("t0", "t1")  # parked most recently
    assert f.evidence["capacity"] == 4 and f.evidence["reported_inside_all_operators"] == 5


def test_overflow_not_flagged_when_area_not_full():
    city = PreparedCity([AREA, BAY], tolerance_m=1.0)
    vs = [vehicle(f"t{i}", 5 + i, 10) for i in range(4)]
    assert evaluate_parking_overflow(vs, city, [permit(), permit("velo")], NOW) == []


def test_overflow_uncertain_when_only_vehicles_within_tolerance_make_it():
    city = PreparedCity([AREA, BAY], tolerance_m=10.0)
    vs = [vehicle(f"t{i}", 5 + i, 10) for i in range(3)] + [vehicle("t9", 25, 10)]
    vs.append(vehicle("v0", 10, 5, operator="velo"))
    (f,) = evaluate_parking_overflow(vs, city, [permit(), permit("velo")], NOW)
    assert (f.status, f.measured, f.penalty_eur) == ("uncertain", 4, None)


@pytest.mark.parametrize(
    ("evaluate", "rule"),
    [
        (evaluate_fleet_cap, RuleType.FLEET_CAP),
        (evaluate_zone_caps, RuleType.ZONE_CAP),
        (evaluate_zone_floors, RuleType.ZONE_FLOOR),
    ],
)
def test_one_evaluator_per_count_rule(evaluate, rule):
    vs = fleet(5, zone_ids=("district:centre",))
    p = permit(fleet_cap=3, zone_caps={"district:centre": 3}, zone_floors={"district:centre": 9})
    assert [f.rule_type for f in evaluate([sample(vs)], [p], NOW)] == [rule]
