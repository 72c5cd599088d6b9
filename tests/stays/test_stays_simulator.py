"""The simulator with GPS jitter on parked vehicles, absences during rentals and
disabled vehicles left for days: its scripted abandoned and disabled vehicles are
flagged idle, its vehicles rented and returned to the same spot are not.

Two operators (ids rotated after each trip, and at every fetch), 30 simulated
hours captured every 10 minutes and replayed through the ingest; the permit
allows 24 h idle and 12 h disabled. A scripted rental lasts 15 minutes, so the
vehicle is missing from one or two files before it is back (under a new id)
within a metre or two of its spot.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from sqlalchemy.orm import Session

from fleet_monitor.database import make_engine
from fleet_monitor.violations import load_snapshots
from gbfs_ingest.config import IngestSettings
from gbfs_simulator import (
    Abandoned,
    DisabledLeft,
    OperatorConfig,
    RentedReturned,
    SimConfig,
    record_history,
)
from rules import evaluate_disabled, evaluate_idle
from rules.inputs import Permit
from tests.rules_db.recording import replay_recording

START = datetime(2025, 6, 2, 4, 0, tzinfo=UTC)
HOURS = 30


def _h(n: float) -> timedelta:
    return timedelta(hours=n)


def _metres(lat: float, lon: float, latlon: tuple[float, float]) -> float:
    dy = (lat - latlon[0]) * 111_132.0
    dx = (lon - latlon[1]) * 111_320.0 * math.cos(math.radians(lat))
    return math.hypot(dx, dy)


def test_simulated_cases_with_jitter_and_rentals(template_db: str, tmp_path: Path) -> None:
    from tests.conftest import _clone, _drop

    ops = (
        OperatorConfig("velo", "Velo", version="2.3", vehicles=120, gps_jitter_m=2.0),
        OperatorConfig(
            "lac", "Lac", version="2.3", vehicles=120, id_rotation="every_fetch", gps_jitter_m=2.0
        ),
    )
    cases = (
        Abandoned("abandoned-velo", "velo", start=_h(1), at=(45.8802, 6.1035)),
        Abandoned("abandoned-lac", "lac", start=_h(1), at=(45.9008, 6.0975)),
        DisabledLeft("disabled-velo", "velo", start=_h(1), at=(45.8983, 6.1248)),
        RentedReturned(
            "returned-velo", "velo", start=_h(1), at=(45.8920, 6.1180), every=_h(4), ride=_h(0.25)
        ),
        RentedReturned(
            "returned-lac", "lac", start=_h(1), at=(45.9065, 6.1290), every=_h(4), ride=_h(0.25)
        ),
    )
    record_history(
        tmp_path,
        config=SimConfig(operators=ops, cases=cases),
        seed=11,
        start=START,
        hours=HOURS,
        every=timedelta(minutes=10),
    )
    info = {c["name"]: c for c in orjson.loads((tmp_path / "cases.json").read_bytes())["cases"]}
    url = _clone(template_db)
    engine = make_engine(url, pool_size=2)
    try:
        for op in ("velo", "lac"):
            replay_recording(engine, tmp_path, op, IngestSettings(validate_schema=False))
        end = START + _h(HOURS)
        permits = [
            Permit(
                operator=op,
                version=1,
                effective_from=START - _h(24),
                max_idle=_h(24),
                max_disabled=_h(12),
            )
            for op in ("velo", "lac")
        ]
        with Session(engine) as s:
            snaps = load_snapshots(s, end).snapshots
        idle = evaluate_idle(snaps, permits, end)
        disabled = evaluate_disabled(snaps, permits, end)
        with engine.connect() as c:
            absent_ends = c.exec_driver_sql(
                "SELECT count(*) FROM dwell WHERE end_reason = 'absent'"
            ).scalar()
            all_stays = c.exec_driver_sql(
                "SELECT vehicle_id, lat, lon, started_at, ended_at, end_reason, state"
                " FROM dwell ORDER BY started_at"
            ).fetchall()
    finally:
        engine.dispose()
        _drop(url)

    def stays_near(name: str) -> list:  # type: ignore[type-arg]
        where = tuple(info[name]["positions"][0])
        return [r for r in all_stays if _metres(r[1], r[2], where) < 60]

    def flagged(findings, name: str) -> list:  # type: ignore[no-untyped-def]
        where = tuple(info[name]["positions"][0])
        return [
            f
            for f in findings
            if _metres(f.evidence["position"][1], f.evidence["position"][0], where) < 40
        ]

    for name in ("abandoned-velo", "abandoned-lac", "disabled-velo"):
        found = flagged(idle, name)
        assert len(found) == 1, (name, info[name], stays_near(name))
        (f,) = found
        assert f.since is not None and f.since <= START + _h(1.2), (name, f.since)
        assert f.measured > 28 * 3600
    (d,) = flagged(disabled, "disabled-velo")
    assert d.since is not None and d.since <= START + _h(1.2)
    for name in ("returned-velo", "returned-lac"):
        assert flagged(idle, name) == [], name
    assert absent_ends > 0  # rentals, scripted and simulated, ended stays
