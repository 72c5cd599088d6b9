"""Vehicles without a position through the whole chain (issue 13): stored by the
ingest and counted apart (Renningen's real capture: 40 cars docked without lat/lon),
loaded apart from the snapshots the rules place, counted in the fleet cap, in no
zone, and stated in the stored count sample."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from click.testing import CliRunner
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fleet_monitor.cli import cli
from fleet_monitor.violations import load_snapshots
from fleet_monitor.violations.inputs import load_samples
from gbfs_ingest.config import IngestSettings
from gbfs_ingest.process import load_feed_row, process_body
from gbfs_ingest.replay import replay
from tests.conftest import GBFS_REAL
from tests.rules.helpers import ll
from tests.rules_db.conftest import permit_toml
from tests.rules_db.fleet import SETTINGS, Fleet, no_parking_square

RENNINGEN = GBFS_REAL / "mobidata-bw-oekostadt-renningen-carsharing_renningen_v2.3_mdkt"
T0 = datetime(2025, 6, 3, 8, 0, tzinfo=UTC)
M = timedelta(minutes=1)


def test_renningen_cars_without_position_are_counted_apart(engine: Engine, db_url: str) -> None:
    summary = replay(
        engine, RENNINGEN, operator_slug="renningen", operator_name=None, settings=IngestSettings()
    )
    assert (summary.vehicles_stored, summary.vehicles_without_position) == (40, 40)
    last = max(orjson.loads(p.read_bytes())["last_updated"] for p in RENNINGEN.glob("*.json"))
    at = datetime.fromtimestamp(last, UTC)
    with Session(engine) as session:
        snaps = load_snapshots(session, at)
    assert snaps.snapshots == []  # nothing the rules could place
    assert len(snaps.unplaced) == 40 and {u.operator for u in snaps.unplaced} == {"renningen"}
    assert {u.form_factor for u in snaps.unplaced} == {"car"}
    # the CLI states it in its count line
    env = {"DATABASE_URL": db_url, "FLEET_CONFIG": None}
    result = CliRunner().invoke(cli, ["ingest", str(RENNINGEN), "--operator", "renningen"], env=env)
    assert result.exit_code == 0, result.output
    assert "40 vehicles (40 without a position: in no zone count)" in result.stdout


def _poll(fleet: Fleet, at: datetime, placed: dict[str, tuple[float, float]], docked: list[str]):  # type: ignore[no-untyped-def]
    bikes = []
    for gid, (x, y) in placed.items():
        lon, lat = ll(x, y)
        bikes.append({"bike_id": gid, "lat": lat, "lon": lon})
    bikes += [{"bike_id": gid, "station_id": "st-1"} for gid in docked]
    for b in bikes:
        b |= {"is_reserved": False, "is_disabled": False}
    body = orjson.dumps(
        {"last_updated": int(at.timestamp()), "ttl": 60, "version": "2.3", "data": {"bikes": bikes}}
    )
    with Session(fleet.engine) as s, s.begin():
        res = process_body(
            s,
            load_feed_row(s, fleet.feed_id),
            body,
            fetched_at=at,
            settings=SETTINGS,
            cache=fleet.cache,
            live=False,
            fetch_meta={},
        )
    assert res.outcome == "ok", res


def test_fleet_cap_counts_docked_vehicles_without_position(engine: Engine) -> None:
    fleet = Fleet(engine)
    fleet.zones([no_parking_square()], "no_parking", T0)
    fleet.permit(permit_toml("op", tolerance=5, prohibited=["no_parking"], cap=3))
    # two placed (one in the no-parking square), three docked without a position
    _poll(fleet, T0, {"a": (50, 50), "b": (300, 300)}, ["c", "d", "e"])
    run = fleet.evaluate(T0)
    assert run.by_rule["fleet_cap"] == {"violation": 1, "uncertain": 0}
    ((measured, evidence),) = fleet.rows(
        "SELECT measured, evidence FROM violation WHERE rule_type = 'fleet_cap'"
    )
    assert measured == 5
    assert evidence["opened"]["evidence"]["positionless"]["count"] == 3
    # only the placed vehicle in the square is badly parked; the docked ones are not placed
    parked = fleet.rows("SELECT gbfs_id FROM violation WHERE rule_type = 'in_no_parking_area'")
    assert parked == [("a",)]
    ((deployed, positionless, method),) = fleet.rows(
        "SELECT deployed, positionless, method FROM count_sample"
    )
    assert (deployed, positionless) == (5, 3)
    assert "vehicles listed without a position (docked at a station) are in the" in method
    with Session(engine) as s:
        (sample,) = load_samples(s, T0 - M, T0)
    assert (sample.deployed, sample.positionless) == (5, 3)
