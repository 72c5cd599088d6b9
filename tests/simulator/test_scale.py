"""Scale: vehicle documents for 20,000 and 100,000 vehicles (timed in gbfs_simulator.bench)."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from gbfs_simulator import FeedService, SimConfig, Simulation, default_operators

from .conftest import BASE, START


@pytest.mark.parametrize("vehicles", [20_000, pytest.param(100_000, marks=pytest.mark.slow)])
def test_vehicle_documents_are_fast_at_scale(vehicles: int) -> None:
    sim = Simulation(SimConfig(default_operators(vehicles)), seed=1, start=START)
    service = FeedService(sim, BASE)
    paths = [
        "/velomax/fr/free_bike_status.json",
        "/trotti/fr/free_bike_status.json",
        "/lacbike/vehicle_status.json",
    ]
    for p in paths:  # first fetch builds the per-vehicle JSON
        service.handle("GET", p)
    sim.advance(timedelta(minutes=1))  # some vehicles changed
    listed = sum(_count(service.handle("GET", p).body) for p in paths)
    assert listed > vehicles * 0.75
    for p in paths:  # every fetch of the every-fetch rotator included
        assert service.handle("GET", p).status == 200


def _count(body: bytes) -> int:
    data = orjson.loads(body)["data"]
    return len(data.get("bikes", data.get("vehicles", [])))


def test_bench_figures_and_warm_up() -> None:
    from gbfs_simulator.bench import measure

    figures = measure(1500, repeats=1)
    ops = figures["per_operator"]
    assert set(ops) == {"velomax", "trotti", "lacbike"}  # type: ignore[arg-type]
    assert all(f["listed"] > 0 and f["bytes"] > 0 for f in ops.values())  # type: ignore[union-attr]
    assert figures["single_operator"]["listed"] > 1000  # type: ignore[index]
    sim = Simulation(SimConfig(default_operators(300)), seed=1, start=START)
    service = FeedService(sim, BASE)
    service.renderer.warm()
    assert sim.ops["lacbike"].fetch_no == 0  # warming is not a fetch
    assert all(v.frag is not None for v in sim.ops["trotti"].vehicles if v.status == 1)
