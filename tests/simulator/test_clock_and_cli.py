"""Accelerated time, the demo entry point and the command line."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from gbfs_simulator import ManualClock, SimClock, start_simulated_city
from gbfs_simulator.__main__ import build_parser, main

from .conftest import START
from .test_server import fetch


def test_sim_clock_runs_speed_times_faster() -> None:
    wall = [100.0]
    clock = SimClock(START, speed=480, wall=lambda: wall[0])
    assert clock.now() == START
    wall[0] += 180  # three wall minutes
    assert clock() == START + timedelta(days=1)
    with pytest.raises(ValueError):
        SimClock(START, speed=0)
    with pytest.raises(ValueError):
        SimClock(START.replace(tzinfo=None))


def test_manual_clock() -> None:
    clock = ManualClock(START)
    assert clock.advance(timedelta(minutes=5)) == START + timedelta(minutes=5)
    clock.set(START)
    assert clock() == START


def test_simulated_city_follows_its_accelerated_clock() -> None:
    with start_simulated_city(
        seed=2, vehicles=90, speed=3600, start=START, tick_interval=0.05
    ) as city:
        assert set(city.discovery_urls()) == {"velomax", "trotti", "lacbike"}
        status, _, body = fetch(city.discovery_urls()["trotti"])
        assert status == 200 and orjson.loads(body)["version"] == "2.3"
        first = city.sim.now
        import time

        time.sleep(0.5)  # 0.5 wall s = 30 simulated minutes
        assert city.sim.now - first >= timedelta(minutes=10)
        auth = {"X-Admin-Token": city.admin_token}
        state = orjson.loads(fetch(city.url + "/admin/state", headers=auth)[2])
        assert state["seed"] == 2 and state["cases"]


def test_cli_parser() -> None:
    args = build_parser().parse_args(
        ["serve", "--seed", "4", "--speed", "60", "--port", "0", "--vehicles", "100"]
    )
    assert (args.seed, args.speed, args.port, args.vehicles) == (4, 60.0, 0, 100)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["record", "--out", "x"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--vehicles", "0"])


def test_export_city_command(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["export-city", "--out", str(tmp_path)]) == 0
    assert len(list(tmp_path.glob("*.geojson"))) == 7
