"""Scripted cases appear where and when scripted, in the feeds themselves."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from gbfs_simulator import (
    Abandoned,
    CapBreach,
    DisabledLeft,
    FeedService,
    IdReshuffle,
    InLake,
    InNoParking,
    Outage,
    SimConfig,
    Simulation,
    default_operators,
)

from .conftest import BASE, START, feed_path, get_doc, vehicles_of, vid

H = timedelta(hours=1)
CASES = (
    Abandoned("lost-bike", "velomax", start=2 * H, at=(45.8802, 6.1035)),
    Abandoned("lost-lacbike", "lacbike", start=2 * H, at=(45.9008, 6.0975)),
    DisabledLeft("broken", "trotti", start=3 * H, end=60 * H, at=(45.8983, 6.1248)),
    InLake("dumped", "trotti", start=5 * H),
    InNoParking("lawn", "trotti", start=4 * H, end=30 * H, zone="paquier", count=3),
    CapBreach("breach", "trotti", start=26 * H, end=30 * H, extra=20),
    Outage("down", "velomax", start=8 * H, end=9 * H),
    IdReshuffle("shuffle", "velomax", start=40 * H),
)


def config() -> SimConfig:
    ops = tuple(replace(o, deploy_factor=(0.9, 0.95)) for o in default_operators(450))
    return SimConfig(ops, cases=CASES)


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return Simulation(config(), seed=21, start=START)


@pytest.fixture(scope="module")
def service(sim: Simulation) -> FeedService:
    return FeedService(sim, BASE)


def listed_at(service: FeedService, slug: str, lat: float, lon: float) -> list[dict]:
    feed = "vehicle_status" if slug == "lacbike" else "free_bike_status"
    return [
        v for v in vehicles_of(get_doc(service, slug, feed)) if (v["lat"], v["lon"]) == (lat, lon)
    ]


def test_cases_in_time_order(sim: Simulation, service: FeedService) -> None:
    """One simulation walked forward; each scripted case is checked at its moments."""
    lost = sim.case("lost-bike")
    lat, lon = lost.positions[0]
    assert lost.start == START + 2 * H and lost.end is None
    sim.advance_to(START + H)
    assert listed_at(service, "velomax", lat, lon) == []  # not before its start

    # --- abandoned: same place, same id, for days (sampled every 6 hours)
    sim.advance_to(lost.start)
    (first,) = listed_at(service, "velomax", lat, lon)
    key = sim.case("lost-bike").vehicle_keys[0]
    lacbike = sim.case("lost-lacbike")
    shuffle = sim.case("shuffle").start  # the one moment its id may change
    seen_positions = set()
    t, last_id, last_t = lost.start, vid(first), lost.start
    while t <= lost.start + timedelta(days=3):
        sim.advance_to(t)
        if not _in_window(sim.case("down"), t):
            (now,) = listed_at(service, "velomax", lat, lon)
            assert (vid(now) == last_id) != (last_t < shuffle <= t), t
            last_id, last_t = vid(now), t
        truth = sim.vehicle(key)
        assert (truth.lat, truth.lon, truth.status) == (lat, lon, "parked")
        seen_positions.add((truth.lat, truth.lon))
        # every-fetch rotator: the id changes, the position stays
        (lb,) = listed_at(service, "lacbike", *lacbike.positions[0])
        assert vid(lb) != sim.vehicle(lacbike.vehicle_keys[0]).key
        _check_window_cases(sim, service, t)
        t += 6 * H
    assert seen_positions == {(lat, lon)}


def _in_window(case, t) -> bool:
    return case.start <= t and (case.end is None or t < case.end)


def _check_window_cases(sim: Simulation, service: FeedService, t) -> None:
    city = sim.city
    trotti = vehicles_of(get_doc(service, "trotti", "free_bike_status"))
    # in the lake: listed inside the lake polygon from its start on
    in_lake = [v for v in trotti if city.lake.contains(v["lon"], v["lat"])]
    dumped = sim.case("dumped")
    assert len(in_lake) == (1 if t >= dumped.start else 0), t
    if in_lake:
        assert (in_lake[0]["lat"], in_lake[0]["lon"]) == dumped.positions[0]
    # no-parking: three vehicles on the Pâquier lawn during the window
    lawn = sim.case("lawn")
    on_lawn = {
        (v["lat"], v["lon"]) for v in trotti if city.zone("paquier").contains(v["lon"], v["lat"])
    }
    if _in_window(lawn, t):
        assert set(lawn.positions) <= on_lawn
    else:
        assert not set(lawn.positions) & on_lawn
    # disabled, left in place
    broken = sim.case("broken")
    here = [v for v in trotti if (v["lat"], v["lon"]) == broken.positions[0]]
    if _in_window(broken, t):
        assert len(here) == 1 and here[0]["is_disabled"] is True
    # cap breach: the feed lists more vehicles than the cap during the window
    cap = sim.ops["trotti"].cfg.cap
    if _in_window(sim.case("breach"), t):
        assert len(trotti) > cap + 15, (t, len(trotti), cap)
    else:
        assert len(trotti) <= cap, (t, len(trotti), cap)
    # outage: every velomax file answers 5xx in the window, the others do not
    down = sim.case("down")
    status = service.handle("GET", feed_path(sim, "velomax", "free_bike_status")).status
    assert status == (503 if _in_window(down, t) else 200)


def test_cap_breach_window_over_its_whole_length() -> None:
    sim = Simulation(config(), seed=21, start=START)
    service = FeedService(sim, BASE)
    breach = sim.case("breach")
    cap = sim.ops["trotti"].cfg.cap
    t = breach.start
    while t < breach.end:
        sim.advance_to(t)
        assert len(vehicles_of(get_doc(service, "trotti", "free_bike_status"))) > cap
        t += timedelta(minutes=20)
    sim.advance_to(breach.end + timedelta(minutes=1))
    assert sim.listed_count("trotti") <= cap + 15


def test_outage_window_serves_5xx_for_every_file() -> None:
    sim = Simulation(config(), seed=21, start=START)
    service = FeedService(sim, BASE)
    down = sim.case("down")
    sim.advance_to(down.start + timedelta(minutes=30))
    for feed in service.renderer.served_names("velomax"):
        assert service.handle("GET", feed_path(sim, "velomax", feed)).status == 503, feed
    assert service.handle("GET", feed_path(sim, "trotti", "free_bike_status")).status == 200
    sim.advance_to(down.end)
    assert service.handle("GET", feed_path(sim, "velomax", "free_bike_status")).status == 200


def test_id_reshuffle_changes_every_id_at_once_positions_stay() -> None:
    sim = Simulation(config(), seed=21, start=START)
    service = FeedService(sim, BASE)
    shuffle = sim.case("shuffle")
    sim.advance_to(shuffle.start - timedelta(minutes=1))
    before = {
        (v["lat"], v["lon"]): vid(v)
        for v in vehicles_of(get_doc(service, "velomax", "free_bike_status"))
    }
    assert sim.ops["velomax"].cfg.id_rotation == "never"  # it never rotates on its own
    sim.advance_to(shuffle.start)
    after = {
        (v["lat"], v["lon"]): vid(v)
        for v in vehicles_of(get_doc(service, "velomax", "free_bike_status"))
    }
    common = before.keys() & after.keys()
    assert len(common) > 0.9 * len(before)
    assert all(before[p] != after[p] for p in common)


def test_positions_are_checked() -> None:
    ops = default_operators(100)
    with pytest.raises(ValueError, match=r"\(lon, lat\)"):
        Simulation(
            SimConfig(ops, cases=(Abandoned("x", "velomax", start=H, at=(6.1035, 45.8802)),)),
            seed=1,
            start=START,
        )
    with pytest.raises(ValueError, match="not in the lake"):
        Simulation(
            SimConfig(ops, cases=(InLake("y", "trotti", start=H, at=(45.9020, 6.1220)),)),
            seed=1,
            start=START,
        )
    with pytest.raises(ValueError, match="unknown operator"):
        SimConfig(ops, cases=(Abandoned("z", "nobody", start=H),))
    sim = Simulation(
        SimConfig(
            ops,
            cases=(
                Abandoned("g", "velomax", start=H, at="gare"),
                InNoParking("n", "trotti", start=H, zone="jardins-europe", count=2),
            ),
        ),
        seed=1,
        start=START,
    )
    assert sim.case("g").positions == ((45.902, 6.122),)
    zone = sim.city.zone("jardins-europe")
    assert all(zone.contains(lon, lat) for lat, lon in sim.case("n").positions)


def test_the_demo_cases_resolve_where_they_should() -> None:
    from gbfs_simulator import default_config

    sim = Simulation(default_config(300), seed=1, start=START)
    city = sim.city
    kinds = {c.kind for c in sim.cases()}
    assert kinds == {
        "abandoned",
        "disabled",
        "in_lake",
        "no_parking",
        "cap_breach",
        "outage",
        "id_reshuffle",
    }
    for c in sim.cases():
        for lat, lon in c.positions:
            if c.kind == "in_lake":
                assert city.lake.contains(lon, lat)
            else:
                assert city.is_land(lon, lat), c.name
        if c.kind == "no_parking":
            assert all(city.zone(c.zone).contains(lon, lat) for lat, lon in c.positions)
    sim.advance_to(START + timedelta(hours=20))
    lake = sim.case("scooter-in-lake")
    assert sim.vehicle(lake.vehicle_keys[0]).visible
