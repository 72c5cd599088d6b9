"""Recorded histories: a folder of timestamped captures an ingest can replay in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from gbfs_simulator import Outage, SimConfig, Simulation, default_operators, record_history
from gbfs_simulator.__main__ import main
from gbfs_simulator.record import parse_every

from .conftest import START, schema_errors


def last_updated(doc: dict) -> int:
    lu = doc["last_updated"]
    return lu if isinstance(lu, int) else int(datetime.fromisoformat(lu).timestamp())


def test_record_history_writes_replayable_captures(tmp_path: Path) -> None:
    ops = default_operators(200)
    cfg = SimConfig(
        ops,
        cases=(Outage("cut", "trotti", start=timedelta(minutes=50), end=timedelta(minutes=70)),),
    )
    res = record_history(
        tmp_path, config=cfg, seed=4, start=START, hours=2, every=timedelta(minutes=10)
    )
    assert res.captures == 13 and res.failures > 0
    index = orjson.loads((tmp_path / "index.json").read_bytes())
    assert index["format"] == "gbfs-simulator-recording/1" and index["seed"] == 4
    assert set(index["operators"]) == {"velomax", "trotti", "lacbike"}
    epochs = [c["epoch"] for c in index["captures"]]
    assert epochs == sorted(epochs)
    for slug, meta in index["operators"].items():
        vehicle_feed = "vehicle_status" if meta["version"] == "3.0" else "free_bike_status"
        dirs = sorted((tmp_path / slug).iterdir(), key=lambda p: int(p.name))
        previous = -1
        for i, d in enumerate(dirs):
            names = {p.name for p in d.iterdir()}
            assert "gbfs.json" in names
            if i == 0:
                assert "system_information.json" in names
            else:
                assert "system_information.json" not in names  # unchanged: first only
            if f"{vehicle_feed}.json" not in names:
                assert slug == "trotti"  # the outage
                continue
            doc = orjson.loads((d / f"{vehicle_feed}.json").read_bytes())
            assert last_updated(doc) == int(d.name) > previous
            previous = last_updated(doc)
            assert schema_errors(meta["version"], vehicle_feed, doc) == []
    down = [
        c
        for c in index["captures"]
        if c["operator"] == "trotti" and c["files"]["free_bike_status"]["status"] == 503
    ]
    assert [c["epoch"] - int(START.timestamp()) for c in down] == [3000, 3600]
    cases = orjson.loads((tmp_path / "cases.json").read_bytes())["cases"]
    assert cases[0]["name"] == "cut" and cases[0]["kind"] == "outage"


def test_record_continues_an_existing_simulation(tmp_path: Path) -> None:
    sim = Simulation(SimConfig(default_operators(90)), seed=1, start=START)
    sim.advance_to(START + timedelta(hours=5))
    res = record_history(
        tmp_path, sim=sim, until=sim.now + timedelta(minutes=3), operators=["lacbike"], full=True
    )
    assert res.sim is sim and res.captures == 4
    dirs = sorted((tmp_path / "lacbike").iterdir())
    assert len(dirs) == 4 and not (tmp_path / "trotti").exists()
    assert all((d / "station_information.json").exists() for d in dirs)  # full=True
    ids = [
        {
            v["vehicle_id"]
            for v in orjson.loads((d / "vehicle_status.json").read_bytes())["data"]["vehicles"]
        }
        for d in dirs
    ]
    assert not ids[0] & ids[1]  # the every-fetch rotator, captured
    with pytest.raises(ValueError):
        record_history(tmp_path, sim=sim, operators=["nobody"], hours=1)
    with pytest.raises(ValueError):
        record_history(tmp_path, sim=sim)


def test_record_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rec"
    code = main(
        [
            "record",
            "--out",
            str(out),
            "--seed",
            "3",
            "--start",
            "2025-06-02T04:00:00Z",
            "--hours",
            "0.5",
            "--every",
            "5m",
            "--vehicles",
            "120",
        ]
    )
    assert code == 0 and "7 captures" in capsys.readouterr().out
    first = out / "velomax" / str(int(START.timestamp()))
    assert (first / "free_bike_status.json").exists()
    assert sorted(int(p.name) for p in (out / "trotti").iterdir())[-1] == int(
        (START + timedelta(minutes=30)).timestamp()
    )
    assert datetime.fromisoformat("2025-06-02T04:00:00Z") == START.astimezone(UTC)


def test_parse_every() -> None:
    assert parse_every("60s") == timedelta(seconds=60)
    assert parse_every("5m") == timedelta(minutes=5)
    assert parse_every("1h") == timedelta(hours=1)
    assert parse_every("90") == timedelta(seconds=90)
    for bad in ("", "0s", "-1m", "soon"):
        with pytest.raises(ValueError):
            parse_every(bad)
