"""Acceptance: a multi-day capture of a real operator, replayed into a fresh database;
the rules at the last capture's time with a maximum idle time of 5 days flag the
vehicles that did not move (beyond GPS noise) for 5 days or more, and none that
moved. Checked from the command line, as the city would run it.

The shared corpus has no multi-day vehicle time series of a real operator (see
``shared/gbfs/README.md`` §4: its only series are station_status ones, an hour
long). The series is therefore derived from a real capture, Voi Marseille's
``free_bike_status.json`` (GBFS 2.3, 1,466 scooters): eight copies of the real
file, one a day (``last_updated`` and ``last_reported`` shifted by whole days),
keeping the real ids, positions and attributes, except that
* some scooters never move: their real position, with a GPS jitter of up to 5 m
  a day (below the 15 m noise threshold);
* some are moved 100-300 m on day 1 (then stay, with jitter), some on day 3;
* the others are ridden every day: moved 100-300 m under a new id (GBFS 2.x ids
  are rotated after each trip);
* the 29 scooters the real file lists as disabled are left out (the idle rule is
  about rentable vehicles).
At day 7, the first two groups have been idle 7 and 6 days (flagged), the
third 4 days (not flagged), the riders less than a day (not flagged).
"""

from __future__ import annotations

import copy
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from tests.conftest import GBFS_REAL
from tests.rules_db.conftest import permit_toml, run_cli

SOURCE = GBFS_REAL / "voi_marseille_v2.3" / "free_bike_status.json"
DAYS = 7
M_PER_DEG = 111_320.0


def _offset(lat: float, lon: float, metres: float, bearing: float) -> tuple[float, float]:
    dlat = metres * math.cos(bearing) / M_PER_DEG
    dlon = metres * math.sin(bearing) / (M_PER_DEG * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def build_series(out: Path) -> tuple[set[str], set[str], datetime]:
    """Write the derived daily captures; returns (ids that must be flagged, ids of
    scooters that moved, time of the last capture)."""
    doc = orjson.loads(SOURCE.read_bytes())
    bikes = [b for b in doc["data"]["bikes"] if not b["is_disabled"]]
    rng = random.Random(20231103)
    groups = {}
    for b in bikes:
        u = rng.random()
        groups[b["bike_id"]] = (
            "still" if u < 0.35 else "day1" if u < 0.5 else "day3" if u < 0.65 else "rider"
        )
    home = {b["bike_id"]: (b["lat"], b["lon"]) for b in bikes}
    ids = {b["bike_id"]: b["bike_id"] for b in bikes}
    t0 = int(doc["last_updated"])
    for day in range(DAYS + 1):
        snapshot = copy.deepcopy(doc)
        listed = []
        for b in bikes:
            orig = b["bike_id"]
            group = groups[orig]
            moves_today = day > 0 and (
                group == "rider" or (group == "day1" and day == 1) or (group == "day3" and day == 3)
            )
            if moves_today:
                home[orig] = _offset(
                    *home[orig], rng.uniform(100, 300), rng.uniform(0, 2 * math.pi)
                )
                if group == "rider":
                    ids[orig] = f"{orig[:8]}-r{day:02d}-{rng.getrandbits(48):012x}"
            lat, lon = _offset(*home[orig], rng.uniform(0, 5), rng.uniform(0, 2 * math.pi))
            item = dict(b, bike_id=ids[orig], lat=round(lat, 7), lon=round(lon, 7))
            item["last_reported"] = int(b["last_reported"]) + day * 86400
            listed.append(item)
        snapshot["last_updated"] = t0 + day * 86400
        snapshot["data"]["bikes"] = listed
        (out / f"free_bike_status_{t0 + day * 86400}.json").write_bytes(orjson.dumps(snapshot))
    flagged = {ids[o] for o, g in groups.items() if g in ("still", "day1")}
    moved = {ids[o] for o, g in groups.items() if g in ("day3", "rider")}
    return flagged, moved, datetime.fromtimestamp(t0 + DAYS * 86400, UTC)


def test_idle_five_days_on_a_derived_multi_day_voi_capture(db_url: str, tmp_path: Path) -> None:
    series = tmp_path / "voi_marseille_7_days"
    series.mkdir()
    expected, moved, last = build_series(series)
    assert len(expected) > 400 and len(moved) > 400

    res = run_cli(db_url, "ingest", str(series), "--operator", "voi", "--json")
    assert res.code == 0, res.err
    summary = res.json()
    assert summary["files_ok"] == DAYS + 1 and not summary["errors"]

    permit = tmp_path / "voi.toml"
    permit.write_text(
        permit_toml("voi", max_idle="5d", effective_from=datetime(2023, 1, 1, tzinfo=UTC))
    )
    assert run_cli(db_url, "permits", "import", str(permit)).code == 0

    res = run_cli(db_url, "rules", "run", "--at", last.isoformat(), "--json")
    assert res.code == 0, res.err
    run = res.json()
    assert run["vehicles"] == len(expected) + len(moved)

    res = run_cli(db_url, "violations", "list", "--open", "--operator", "voi", "--json")
    assert res.code == 0, res.err
    idle = [v for v in res.json() if v["rule_type"] == "idle_too_long"]
    flagged = {v["gbfs_id"] for v in idle}
    assert flagged == expected, (len(flagged - expected), len(expected - flagged))
    assert not flagged & moved
    for v in idle:
        assert v["status"] == "violation" and v["unit"] == "s"
        assert v["measured"] > timedelta(days=5).total_seconds()
        assert v["threshold"] == timedelta(days=5).total_seconds()
        assert v["clause"] == "permit:voi:v1#max_idle"
        # evidence: the observations, the fetches and the raw files they came from
        latest = v["evidence"]["latest"]["evidence"]
        assert latest["parked_since"] == v["since"]
        assert any(r.startswith("raw:") for r in latest["fetch_refs"])
        assert v["evidence"]["raw_hashes"]
    # the scooters idle for 7 days were first seen in the first capture: the start
    # of their stay is only a bound, which the confidence says
    first = datetime.fromtimestamp(int(last.timestamp()) - DAYS * 86400, UTC)
    sevens = [v for v in idle if datetime.fromisoformat(v["since"]) == first]
    assert sevens and all(
        v["evidence"]["latest"]["evidence"]["dwell_confidence"] == "across_gaps" for v in sevens
    )
