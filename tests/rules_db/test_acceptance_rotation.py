"""Acceptance: two captures of an operator that rotated every id in between keep the
dwell of the vehicles that stayed put. Checked from the command line.

Derived from a real capture (Bolt Essen, GBFS 3.0 ``vehicle_status.json``, 1,360
vehicles): the real file, then six days later a copy in which every
``vehicle_id`` is replaced by a new random one (as Bolt's ``rotated_uuid`` ids
are after a trip), 80 % of the vehicles at their exact real position and 20 %
moved 150-400 m. The corpus has no two real captures with a full rotation in
between (its two Bolt captures share 1,332 of ~1,350 ids).
"""

from __future__ import annotations

import math
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from sqlalchemy.orm import Session

from fleet_monitor.database import make_engine
from fleet_monitor.violations import load_snapshots
from tests.conftest import GBFS_REAL
from tests.rules_db.conftest import permit_toml, run_cli

SOURCE = GBFS_REAL / "bolt_essen_v3.0_mdkt" / "vehicle_status.json"
M_PER_DEG = 111_320.0


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dy = (a[0] - b[0]) * M_PER_DEG
    dx = (a[1] - b[1]) * M_PER_DEG * math.cos(math.radians(a[0]))
    return math.hypot(dx, dy)


def build_captures(out: Path) -> tuple[dict[str, str], set[str], datetime, datetime]:
    """Returns (new id -> old id of the vehicles that stayed, new ids of the moved
    ones, time of each capture)."""
    doc = orjson.loads(SOURCE.read_bytes())
    t0 = datetime.fromisoformat(doc["last_updated"].replace("Z", "+00:00"))
    t1 = t0 + timedelta(days=6)
    (out / "vehicle_status_1.json").write_bytes(SOURCE.read_bytes())
    rng = random.Random(1360)
    vehicles = doc["data"]["vehicles"]
    origins = [(v["lat"], v["lon"]) for v in vehicles]
    stayed: dict[str, str] = {}
    moved: set[str] = set()
    second = []
    for v in vehicles:
        new = dict(v, vehicle_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)))
        if rng.random() < 0.2:
            while True:  # land far from every original position: no false link
                d, b = rng.uniform(150, 400), rng.uniform(0, 2 * math.pi)
                lat = v["lat"] + d * math.cos(b) / M_PER_DEG
                lon = v["lon"] + d * math.sin(b) / (M_PER_DEG * math.cos(math.radians(v["lat"])))
                if min(_metres((lat, lon), o) for o in origins) > 40:
                    break
            new.update(lat=lat, lon=lon)
            moved.add(new["vehicle_id"])
        else:
            stayed[new["vehicle_id"]] = v["vehicle_id"]
        second.append(new)
    doc["data"]["vehicles"] = second
    doc["last_updated"] = t1.isoformat().replace("+00:00", "Z")
    (out / "vehicle_status_2.json").write_bytes(orjson.dumps(doc))
    return stayed, moved, t0, t1


def test_rotation_of_every_id_keeps_the_dwell_of_vehicles_that_stayed(
    db_url: str, tmp_path: Path
) -> None:
    captures = tmp_path / "bolt_essen_rotated"
    captures.mkdir()
    stayed, moved, t0, t1 = build_captures(captures)

    res = run_cli(db_url, "ingest", str(captures), "--operator", "bolt", "--json")
    assert res.code == 0, res.err
    assert res.json()["files_ok"] == 2

    # the vehicles that stayed: one stay each since the first capture, linked
    engine = make_engine(db_url, pool_size=1)
    try:
        with Session(engine) as session:
            snaps = load_snapshots(session, t1)
    finally:
        engine.dispose()
    by_id = {s.gbfs_id: s for s in snaps.snapshots}
    assert set(by_id) == set(stayed) | moved
    for gid in stayed:
        s = by_id[gid]
        assert s.parked_since == t0, gid
        assert s.parked_since_confidence == "rotation_linked", gid
    for gid in moved:
        assert by_id[gid].parked_since == t1, gid

    # from the command line: idle for 6 days > 5 days, since the first capture
    permit = tmp_path / "bolt.toml"
    permit.write_text(
        permit_toml("bolt", max_idle="5d", effective_from=datetime(2025, 1, 1, tzinfo=UTC))
    )
    assert run_cli(db_url, "permits", "import", str(permit)).code == 0
    res = run_cli(db_url, "rules", "run", "--at", t1.isoformat())
    assert res.code == 0, res.err
    res = run_cli(db_url, "violations", "list", "--open", "--json")
    idle = [v for v in res.json() if v["rule_type"] == "idle_too_long"]
    # issue 11: the stay is measured whatever the state flags (disabled ones too)
    assert {v["gbfs_id"] for v in idle} == set(stayed)
    for v in idle:
        assert datetime.fromisoformat(v["since"]) == t0
        evidence = v["evidence"]["latest"]["evidence"]
        assert evidence["dwell_confidence"] == "rotation_linked"
        # two captures six days apart: the stay bridges a gap it never saw, so its
        # confidence is low (first seen 0.95 x link <= 0.95 x observed share floor 0.25)
        assert evidence["stay"]["bridged_gaps"] == 1 and evidence["stay"]["rotations"] == 1
        assert v["confidence"] <= 0.225
