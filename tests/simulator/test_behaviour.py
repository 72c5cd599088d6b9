"""The city lives: trips by demand, ID rotation, night rebalancing, breakdowns, caps."""

from __future__ import annotations

from dataclasses import replace

import shapely

from gbfs_simulator import FeedService, SimConfig, Simulation, default_operators
from gbfs_simulator.city import distance_m

from .conftest import BASE, START, get_doc, local, small_config, vehicles_of, vid


def positions(sim: Simulation, slug: str) -> dict[str, tuple[float, float, str]]:
    return {v.key: (v.lat, v.lon, v.public_id) for v in sim.snapshot(slug).vehicles}


def moved_between(sim: Simulation, slug: str, t1, t2) -> int:
    sim.advance_to(t1)
    before = positions(sim, slug)
    sim.advance_to(t2)
    after = positions(sim, slug)
    return sum(1 for k, p in after.items() if k in before and before[k][:2] != p[:2])


def test_more_trips_at_the_morning_peak_than_at_night() -> None:
    sim = Simulation(small_config(600, cases=False), seed=3, start=START)
    night = moved_between(sim, "trotti", local(sim, 22, day=0), local(sim, 23, 30, day=0))
    sim2 = Simulation(small_config(600, cases=False), seed=3, start=START)
    peak = moved_between(sim2, "trotti", local(sim2, 7, 30), local(sim2, 9))
    assert peak > 2 * max(night, 1), (peak, night)
    assert peak >= 10


def test_trips_end_where_demand_is(day_sim: Simulation) -> None:
    """Station, old town and lake shore draw vehicles; a quiet corner of Seynod does not."""
    city = day_sim.city
    spots = {h.slug: (h.lon, h.lat) for h in city.hotspots}
    listed = [v for slug in day_sim.operator_slugs() for v in day_sim.snapshot(slug).vehicles]

    def near(lon: float, lat: float, r: float = 350) -> int:
        return sum(1 for v in listed if distance_m(v.lon, v.lat, lon, lat) < r)

    quiet = near(6.0860, 45.8700)
    for slug in ("gare", "vieille-ville", "lac-paquier"):
        assert near(*spots[slug]) > quiet + 5, slug
    for v in listed:
        if v.case is None or v.case != "scooter-in-lake":
            assert not city.lake.contains(v.lon, v.lat), v


def test_ids_rotate_after_each_trip_from_gbfs_2_on(day_sim: Simulation) -> None:
    sim = Simulation(small_config(400, cases=False), seed=4, start=START)
    sim.advance_to(local(sim, 8))
    before = {s: positions(sim, s) for s in sim.operator_slugs()}
    sim.advance_to(local(sim, 10))
    after = {s: positions(sim, s) for s in sim.operator_slugs()}
    moved = {
        s: [k for k in after[s] if k in before[s] and before[s][k][:2] != after[s][k][:2]]
        for s in after
    }
    still = {
        s: [k for k in after[s] if k in before[s] and before[s][k][:2] == after[s][k][:2]]
        for s in after
    }
    assert moved["trotti"] and still["trotti"] and moved["velomax"]
    assert all(before["trotti"][k][2] != after["trotti"][k][2] for k in moved["trotti"])
    assert all(before["trotti"][k][2] == after["trotti"][k][2] for k in still["trotti"])
    # GBFS 1.1 operator keeps its (persistent) ids through trips
    assert all(before["velomax"][k][2] == after["velomax"][k][2] for k in moved["velomax"])


def test_every_fetch_rotator_changes_all_ids_but_not_positions(day_sim: Simulation) -> None:
    service = FeedService(day_sim, BASE)
    a = vehicles_of(get_doc(service, "lacbike", "vehicle_status"))
    b = vehicles_of(get_doc(service, "lacbike", "vehicle_status"))
    assert len(a) == len(b) > 50
    assert not {vid(v) for v in a} & {vid(v) for v in b}
    assert sorted((v["lat"], v["lon"]) for v in a) == sorted((v["lat"], v["lon"]) for v in b)
    # a stable-id operator serves the same ids twice in a row
    c = vehicles_of(get_doc(service, "trotti", "free_bike_status"))
    d = vehicles_of(get_doc(service, "trotti", "free_bike_status"))
    assert [vid(v) for v in c] == [vid(v) for v in d]


def test_night_rebalancing_collects_and_redeploys() -> None:
    sim = Simulation(small_config(400, cases=False), seed=8, start=START)
    sim.advance_to(local(sim, 23, day=0))
    evening = sim.listed_count("trotti")
    sim.advance_to(local(sim, 3, day=1))
    hidden = [
        v for v in sim.snapshot("trotti", include_hidden=True).vehicles if v.status == "service"
    ]
    assert hidden, "nothing collected at night"
    at_night = sim.listed_count("trotti")
    assert at_night < evening
    sim.advance_to(local(sim, 7, 30, day=1))
    back = [sim.vehicle(v.key) for v in hidden]
    redeployed = [v for v in back if v.status == "parked"]
    assert len(redeployed) >= 0.8 * len(hidden)
    morning = local(sim, 5, day=1)
    assert all(v.last_reported >= morning for v in redeployed)
    assert sum(v.battery == 1.0 for v in redeployed) >= 0.5 * len(redeployed)  # charged
    assert sim.listed_count("trotti") > at_night


def test_disabled_vehicles_are_left_in_place_and_listed_from_2_1_only() -> None:
    ops = tuple(replace(o, breakdown=0.3, forgotten_repairs=1.0) for o in default_operators(400))
    sim = Simulation(SimConfig(ops), seed=9, start=START)
    sim.advance_to(local(sim, 12))
    service = FeedService(sim, BASE)
    trotti = vehicles_of(get_doc(service, "trotti", "free_bike_status"))
    broken = [v for v in trotti if v["is_disabled"]]
    assert broken
    velomax_truth = sim.snapshot("velomax", include_hidden=True).vehicles
    assert any(v.is_disabled and v.status == "parked" for v in velomax_truth)
    velomax = vehicles_of(get_doc(service, "velomax", "free_bike_status"))
    assert velomax and not any(v["is_disabled"] for v in velomax)
    sim.advance_to(local(sim, 20))
    later = {
        (v["lat"], v["lon"])
        for v in vehicles_of(get_doc(service, "trotti", "free_bike_status"))
        if v["is_disabled"]
    }
    assert {(v["lat"], v["lon"]) for v in broken} <= later  # nobody repaired or moved them


def test_some_vehicles_end_up_in_no_parking_areas(day_sim: Simulation) -> None:
    zones = day_sim.city.no_parking
    bad = [
        v
        for s in ("trotti", "velomax")
        for v in day_sim.snapshot(s).vehicles
        if v.case is None and any(shapely.contains_xy(z.geom, v.lon, v.lat) for z in zones)
    ]
    assert bad


def test_a_fleet_deployed_above_its_cap_shows_it_in_the_morning() -> None:
    ops = tuple(
        replace(o, deploy_factor=(1.25, 1.25)) if o.slug == "trotti" else o
        for o in default_operators(400)
    )
    sim = Simulation(SimConfig(ops), seed=2, start=START)
    sim.advance_to(local(sim, 6, 45, day=1))
    cap = sim.ops["trotti"].cfg.cap
    assert sim.listed_count("trotti") > cap
    service = FeedService(sim, BASE)
    assert len(vehicles_of(get_doc(service, "trotti", "free_bike_status"))) > cap
