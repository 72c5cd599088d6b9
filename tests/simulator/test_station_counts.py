"""station_status counts what a rider can take: a reserved vehicle at a (virtual)
station is not in ``num_vehicles_available`` (issue 13)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from gbfs_simulator import FeedService, SimConfig, Simulation
from gbfs_simulator.engine import PARKED

from .conftest import BASE, START, get_doc, solo, vehicles_of


@pytest.mark.parametrize("version", ["2.3", "3.0"])
def test_reserved_vehicles_are_not_available_at_a_station(version: str) -> None:
    sim = Simulation(SimConfig((solo(version),)), seed=5, start=START)
    sim.advance_to(START + timedelta(hours=3))
    op = sim.ops["solo"]
    at_station = [v for v in op.vehicles if v.status == PARKED and v.station_id is not None]
    free = [v for v in at_station if not v.reserved and not v.disabled]
    assert len(free) >= 4, "the scenario needs vehicles parked at stations"
    for v in free[:4]:  # reserve four of them, as a rider's app would
        was = op.visible(v)
        v.reserved = True
        v.epoch += 1
        op.touch(v, was)

    service = FeedService(sim, BASE)
    v3 = version.startswith("3")
    vehicles = vehicles_of(get_doc(service, "solo", "vehicle_status" if v3 else "free_bike_status"))
    status = get_doc(service, "solo", "station_status")["data"]["stations"]
    key = "num_vehicles_available" if v3 else "num_bikes_available"

    rentable = Counter(
        v["station_id"]
        for v in vehicles
        if v.get("station_id") and not v["is_reserved"] and not v["is_disabled"]
    )
    reserved = Counter(
        v["station_id"] for v in vehicles if v.get("station_id") and v["is_reserved"]
    )
    assert sum(reserved.values()) >= 4
    for st in status:
        assert st[key] == rentable.get(st["station_id"], 0), st["station_id"]
    # and the per-type breakdown agrees with the total
    for st in status:
        assert sum(t["count"] for t in st["vehicle_types_available"]) == st[key]
