"""Same seed and time => byte-identical feeds; no global random, no wall clock inside."""

from __future__ import annotations

import random
import time
from datetime import timedelta

import pytest

from gbfs_simulator import FeedService, Simulation

from .conftest import BASE, START, feed_path, small_config


def all_bodies(sim: Simulation) -> dict[str, bytes]:
    service = FeedService(sim, BASE)
    out = {}
    for slug, op in sim.ops.items():
        for feed in service.renderer.served_names(slug):
            for lang in op.cfg.languages:
                path = feed_path(sim, slug, feed, lang)
                out[path] = service.handle("GET", path).body
    return out


def test_same_seed_gives_byte_identical_feeds_however_time_is_stepped() -> None:
    a = Simulation(small_config(250), seed=11, start=START)
    b = Simulation(small_config(250), seed=11, start=START)
    target = START + timedelta(hours=30, minutes=7, seconds=30)
    a.advance_to(target)  # one jump
    t = START
    while t < target:  # irregular small steps
        t = min(target, t + timedelta(seconds=97))
        b.advance_to(t)
    assert a.state_time == b.state_time
    bodies_a, bodies_b = all_bodies(a), all_bodies(b)
    assert bodies_a.keys() == bodies_b.keys()
    for path in bodies_a:
        assert bodies_a[path] == bodies_b[path], path


def test_a_different_seed_gives_different_feeds() -> None:
    a = Simulation(small_config(250), seed=11, start=START)
    b = Simulation(small_config(250), seed=12, start=START)
    for sim in (a, b):
        sim.advance_to(START + timedelta(hours=3))
    fa, fb = all_bodies(a), all_bodies(b)
    for path in (
        "/velomax/fr/free_bike_status.json",
        "/trotti/fr/free_bike_status.json",
        "/lacbike/vehicle_status.json",
    ):
        assert fa[path] != fb[path], path
    assert fa["/trotti/fr/system_information.json"] == fb["/trotti/fr/system_information.json"]


def test_global_random_and_wall_clock_play_no_part(monkeypatch: pytest.MonkeyPatch) -> None:
    def run() -> dict[str, bytes]:
        sim = Simulation(small_config(150), seed=5, start=START)
        sim.advance_to(START + timedelta(hours=6))
        return all_bodies(sim)

    random.seed(1)
    first = run()

    def no_clock() -> float:
        raise AssertionError("the model read the wall clock")

    monkeypatch.setattr(time, "time", no_clock)
    monkeypatch.setattr(time, "time_ns", no_clock)
    monkeypatch.setattr(time, "monotonic", no_clock)
    random.seed(999)
    for name in ("random", "randrange", "uniform", "gauss", "choice", "shuffle"):
        monkeypatch.setattr(random, name, no_clock)
    assert run() == first


def test_time_only_moves_forward_in_whole_ticks() -> None:
    sim = Simulation(small_config(100), seed=1, start=START)
    sim.advance_to(START + timedelta(minutes=5, seconds=59))
    assert sim.state_time == START + timedelta(minutes=5)
    before = all_bodies(sim)["/trotti/fr/free_bike_status.json"]
    sim.advance_to(START + timedelta(minutes=2))  # a late caller: ignored
    assert sim.now == START + timedelta(minutes=5, seconds=59)
    assert all_bodies(sim)["/trotti/fr/free_bike_status.json"] == before
    with pytest.raises(ValueError):
        Simulation(small_config(100), seed=1, start=START.replace(tzinfo=None))
