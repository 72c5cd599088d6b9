"""Vehicles listed without a position (GBFS 2.x, docked at a station): the decision
(docs/rules.md) is that they count in the fleet caps, total and per form factor,
and in no zone count; every count finding says how many there were (issue 13)."""

from __future__ import annotations

from rules import (
    PreparedCity,
    RuleType,
    UnplacedVehicle,
    build_count_samples,
    evaluate_count_rules,
)
from tests.rules.helpers import NOW, permit, square, vehicle, zone

AREA = zone("area:city", "operating_area", square(-1000, -1000, 1000, 1000))
CENTRE = zone("district:centre", "district", square(0, 0, 500, 500))


def _samples(unplaced: list[UnplacedVehicle]):  # type: ignore[no-untyped-def]
    city = PreparedCity([AREA, CENTRE], tolerance_m=10.0)
    placed = [vehicle("a", 100, 100, form_factor="bicycle"), vehicle("b", 200, 100)]
    return build_count_samples(placed, city, [permit()], NOW, unplaced=unplaced)


def test_positionless_vehicles_count_in_the_fleet_and_in_no_zone() -> None:
    docked = [
        UnplacedVehicle("p1", "trotti", "bicycle"),
        UnplacedVehicle("p2", "trotti", None),
        UnplacedVehicle("q1", "velo", "scooter_standing"),
    ]
    by_op = {s.operator: s for s in _samples(docked)}
    t = by_op["trotti"]
    assert (t.deployed, t.positionless) == (4, 2)
    assert t.by_form_factor == {"bicycle": 2, "unknown": 2}
    assert t.by_zone == {"district:centre": 2}  # the two placed vehicles only
    assert {v.key: v.zone_ids for v in t.vehicles}["p1"] == ()
    # an operator known only from positionless vehicles still gets a sample
    assert (by_op["velo"].deployed, by_op["velo"].positionless) == (1, 1)


def test_without_positionless_vehicles_nothing_changes() -> None:
    (t,) = _samples([])
    assert (t.deployed, t.positionless, t.by_zone) == (2, 0, {"district:centre": 2})


def test_count_findings_state_the_positionless_vehicles() -> None:
    docked = [UnplacedVehicle(f"p{i}", "trotti", "bicycle") for i in range(3)]
    samples = _samples(docked)
    p = permit(fleet_cap=4, zone_caps={"district:centre": 1})
    found = {f.rule_type: f for f in evaluate_count_rules(samples, [p], NOW)}
    cap = found[RuleType.FLEET_CAP]
    assert cap.measured == 5  # 2 placed + 3 docked without a position
    assert cap.evidence["positionless"] == {
        "count": 3,
        "treatment": "counted (listed without a position, docked at a station)",
    }
    assert cap.vehicles_beyond  # a docked vehicle can be among those named
    zone_cap = found[RuleType.ZONE_CAP]
    assert zone_cap.measured == 2
    assert zone_cap.evidence["positionless"]["treatment"] == "not counted (no position)"
    # below the cap without them, above with them: they decide the finding
    assert evaluate_count_rules(_samples([]), [permit(fleet_cap=4)], NOW) == []
