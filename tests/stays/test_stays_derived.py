"""Stays on a series derived from a real capture, with stated edits (issue 11).

Source: Bolt Essen, GBFS 3.0 ``vehicle_status.json`` (1,360 real vehicles, ids
stable between polls). Five snapshots at t0, +30, +60, +90 and +180 minutes
(the +120 and +150 files are missing: a 90-minute gap in the history), each the
real file with ``last_updated`` moved, and these edits:

* A: untouched (stays put the whole time);
* B: absent from the +60 file (a rental), back at +90 12 m away, same id;
* C: a single-step GPS jump of 20 m in the +60 file, back in place at +90;
* D: ``is_disabled`` from +60 on, in place (battery empty);
* E: 200 m away from +60 on (ridden).

The permit: ``max_idle`` 2 h, ``max_disabled`` 1 h. What a person expects at
+180: A, C and D idle since t0; D also disabled since +60; B not idle (its stay
began at +90 after the rental); E not idle (2 h since it moved, exactly the
limit); no stay with confidence 1.0 (all were first seen at t0, and the 90-minute
gap was bridged).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy.orm import Session

from fleet_monitor.violations import load_snapshots
from gbfs_ingest.config import IngestSettings
from gbfs_ingest.replay import replay
from rules import RuleType, evaluate_disabled, evaluate_idle
from rules.inputs import Permit
from tests.conftest import GBFS_REAL

SOURCE = GBFS_REAL / "bolt_essen_v3.0_mdkt" / "vehicle_status.json"
M_LAT = 1 / 111_132.0
MINUTES = (0, 30, 60, 90, 180)


def _isolated(vehicles: list[dict], n: int) -> list[int]:
    """Indexes of ``n`` available vehicles with no other vehicle within 300 m (no link
    can mix them)."""
    out: list[int] = []
    for i, v in enumerate(vehicles):
        if v["is_disabled"] or v["is_reserved"]:
            continue
        lat, lon = v["lat"], v["lon"]
        k = math.cos(math.radians(lat))
        if all(
            j == i or math.hypot((w["lat"] - lat) / M_LAT, (w["lon"] - lon) * k / M_LAT) > 300
            for j, w in enumerate(vehicles)
        ):
            out.append(i)
            if len(out) == n:
                return out
    raise AssertionError("not enough isolated vehicles in the capture")


def build(out: Path) -> tuple[datetime, dict[str, str]]:
    doc = orjson.loads(SOURCE.read_bytes())
    t0 = datetime.fromisoformat(doc["last_updated"].replace("Z", "+00:00"))
    base = doc["data"]["vehicles"]
    a, b, c, d, e = _isolated(base, 5)
    names = {n: base[i]["vehicle_id"] for n, i in zip("ABCDE", (a, b, c, d, e), strict=True)}
    for m in MINUTES:
        vehicles = [dict(v) for v in base]
        if m >= 60:
            vehicles[d]["is_disabled"] = True
            vehicles[e]["lat"] += 200 * M_LAT
        if m == 60:
            vehicles[c]["lat"] += 20 * M_LAT
        if m >= 90:
            vehicles[b]["lat"] += 12 * M_LAT
        if m == 60:
            vehicles = [v for k, v in enumerate(vehicles) if k != b]
        when = t0 + timedelta(minutes=m)
        snap = dict(doc, last_updated=when.isoformat().replace("+00:00", "Z"))
        snap["data"] = {"vehicles": vehicles}
        (out / f"vehicle_status_{m:03d}.json").write_bytes(orjson.dumps(snap))
    return t0, names


def test_derived_series_gives_the_stays_and_idle_findings_a_person_expects(
    engine, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    t0, names = build(tmp_path)
    summary = replay(
        engine, tmp_path, operator_slug="bolt", operator_name="Bolt", settings=IngestSettings()
    )
    assert summary.errors == [] and summary.files_ok == len(MINUTES)
    end = t0 + timedelta(minutes=180)
    with Session(engine) as s:
        snaps = load_snapshots(s, end)
        rows = (
            s.connection()
            .exec_driver_sql(
                "SELECT d.gbfs_id, d.started_at, d.ended_at, d.end_reason, d.bridged_gaps,"
                " d.definition_version FROM dwell d WHERE d.gbfs_id = ANY(%(ids)s)"
                " ORDER BY d.gbfs_id, d.started_at",
                {"ids": list(names.values())},
            )
            .fetchall()
        )
        events = (
            s.connection()
            .exec_driver_sql(
                "SELECT gbfs_id, e.kind, e.state, e.at FROM dwell_event e"
                " JOIN dwell d ON d.id = e.dwell_id WHERE e.kind = 'state'"
            )
            .fetchall()
        )
    stays: dict[str, list[tuple]] = {}
    for gid, *rest in rows:
        stays.setdefault(gid, []).append(tuple(rest))
    at = {m: t0 + timedelta(minutes=m) for m in MINUTES}
    A, B, C, D, E = (names[n] for n in "ABCDE")
    assert {r[-1] for r in rows} == {2}
    assert stays[A] == [(t0, None, None, 1, 2)]
    assert stays[B] == [(t0, at[60], "absent", 0, 2), (at[90], None, None, 1, 2)]
    assert stays[C] == [(t0, None, None, 1, 2)]  # a 20 m jump is drift, not a move
    assert stays[D] == [(t0, None, None, 1, 2)]  # the state change did not end it
    assert stays[E] == [(t0, at[60], "moved", 0, 2), (at[60], None, None, 1, 2)]
    assert events == [(D, "state", "disabled", at[60])]

    permit = Permit(
        operator="bolt",
        version=1,
        effective_from=t0 - timedelta(days=1),
        max_idle=timedelta(hours=2),
        max_disabled=timedelta(hours=1),
    )
    by_gid = {s.gbfs_id: s for s in snaps.snapshots}
    mine = [by_gid[g] for g in (A, B, C, D, E)]
    idle = {f.evidence["gbfs_id"]: f for f in evaluate_idle(mine, [permit], end)}
    disabled = {f.evidence["gbfs_id"]: f for f in evaluate_disabled(mine, [permit], end)}
    assert set(idle) == {A, C, D}
    assert set(disabled) == {D}
    for g in (A, C, D):
        f = idle[g]
        assert f.since == t0 and f.measured == 3 * 3600
        # first seen 0.95 x observed share (90 of 180 minutes unobserved: 0.5)
        assert f.confidence == pytest.approx(0.475)
        assert f.evidence["stay"]["bridged_gaps"] == 1
    assert disabled[D].since == at[60] and disabled[D].measured == 2 * 3600
    assert idle[D].rule_type is RuleType.IDLE_TOO_LONG and by_gid[D].state.value == "disabled"
