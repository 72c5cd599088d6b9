"""Ingesting simulated days records the scripted cases where and when they were scripted.

A recorded history (30 simulated hours, a capture every 15 minutes) is replayed
into PostGIS with ``fleet-monitor ingest``'s replay; the scripted outage is
checked live, polling the simulator over HTTP while stepping its clock.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from fleet_monitor.database import make_engine
from gbfs_ingest.config import IngestSettings, OperatorSettings
from gbfs_ingest.model import FeedType
from gbfs_ingest.pipeline import Ingestor
from gbfs_ingest.replay import replay
from gbfs_simulator import Simulation, default_config, record_history, start_server
from gbfs_simulator.city import zone_file_path
from gbfs_simulator.clock import ManualClock

START = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)  # 06:00 in Annecy, a Monday
VEHICLES = 600


@pytest.fixture(scope="module")
def history(tmp_path_factory, template_db):  # type: ignore[no-untyped-def]
    from tests.conftest import _clone, _drop

    out = tmp_path_factory.mktemp("history")
    record_history(
        out,
        config=default_config(VEHICLES),
        seed=3,
        start=START,
        hours=30,
        every=timedelta(minutes=15),
    )
    url = _clone(template_db)
    engine = make_engine(url, pool_size=2)
    summaries = {
        op: replay(engine, out / op, operator_slug=op, operator_name=op, settings=IngestSettings())
        for op in ("velomax", "trotti", "lacbike")
    }
    cases = {c["name"]: c for c in json.loads((out / "cases.json").read_text())["cases"]}
    yield engine, summaries, cases
    engine.dispose()
    _drop(url)


def q(engine, sql: str, **kw):  # type: ignore[no-untyped-def]
    with engine.connect() as c:
        return c.execute(text(sql), kw).fetchall()


def test_every_capture_ingests(history) -> None:  # type: ignore[no-untyped-def]
    _engine, summaries, _cases = history
    for op, s in summaries.items():
        assert s.errors == [], (op, s.errors)
        assert s.vehicles_stored > 50, (op, s.vehicles_stored)


def _near(lat: float, lon: float, m: float = 15) -> str:
    return (
        f"ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326)::geography, {m})"
    )


@pytest.mark.parametrize("case", ["abandoned-seynod", "abandoned-cran-gevrier"])
def test_abandoned_vehicle_keeps_one_dwell(history, case: str) -> None:  # type: ignore[no-untyped-def]
    engine, _s, cases = history
    c = cases[case]
    lat, lon = c["positions"][0]
    start = datetime.fromisoformat(c["start"])
    rows = q(
        engine,
        "SELECT started_at, ended_at, rotations FROM dwell d JOIN operator o"
        f" ON o.id = d.operator_id WHERE o.slug = :op AND {_near(lat, lon)}"
        " AND started_at <= :s + interval '15 minutes' AND ended_at IS NULL",
        op=c["operator"],
        s=start,
    )
    assert len(rows) == 1, rows
    started_at, _ended, rotations = rows[0]
    assert start - timedelta(minutes=15) <= started_at <= start + timedelta(minutes=15)
    if c["operator"] == "lacbike":  # rotates every id on every fetch: the dwell followed them
        assert rotations > 100


def test_vehicle_in_the_lake_is_recorded_in_the_water(history) -> None:  # type: ignore[no-untyped-def]
    engine, _s, cases = history
    c = cases["scooter-in-lake"]
    water = json.loads(zone_file_path("water").read_text())
    lake = next(f for f in water["features"] if f["properties"].get("water_kind") == "lake")
    rows = q(
        engine,
        "SELECT count(*) FROM dwell d JOIN operator o ON o.id = d.operator_id"
        " WHERE o.slug = 'trotti' AND started_at >= :s - interval '15 minutes'"
        " AND ST_Contains(ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326), geom)",
        s=datetime.fromisoformat(c["start"]),
        g=json.dumps(lake["geometry"]),
    )
    assert rows[0][0] >= 1


def test_cap_breach_window_counts_more_than_the_cap(history) -> None:  # type: ignore[no-untyped-def]
    engine, _s, cases = history
    c = cases["trotti-cap-breach"]
    cap = next(o for o in default_config(VEHICLES).operators if o.slug == "trotti").cap
    t = datetime.fromisoformat(c["start"]) + timedelta(hours=1)
    before = datetime.fromisoformat(c["start"]) - timedelta(hours=3)

    def listed(at: datetime) -> int:
        return q(
            engine,
            "SELECT count(DISTINCT vehicle_id) FROM dwell d JOIN operator o"
            " ON o.id = d.operator_id WHERE o.slug = 'trotti' AND started_at <= :t"
            " AND (ended_at IS NULL OR last_seen_at >= :t)",
            t=at,
        )[0][0]

    during = listed(t)
    assert during > listed(before)
    assert during >= cap + c["extra"]


@pytest.fixture
def live(engine):  # type: ignore[no-untyped-def]
    sim = Simulation(default_config(300), seed=5, start=START)
    clock = ManualClock(START + timedelta(hours=25, minutes=30))
    sim.advance_to(clock.now())
    with start_server(sim, clock=clock) as srv:
        ing = Ingestor(engine, IngestSettings(allowed_private_hosts=("127.0.0.1",)), clock=clock)
        yield sim, clock, srv, ing
        ing.close()


def test_outage_window_opens_and_closes_an_outage(engine, live) -> None:  # type: ignore[no-untyped-def]
    sim, clock, srv, ing = live
    op = OperatorSettings(
        slug="velomax", name="VéloMax", discovery_url=srv.discovery_url("velomax")
    )
    fid = ing.discover(op).feed_ids[FeedType.VEHICLE_STATUS]
    outcomes = []
    for _ in range(12):  # 25:30 -> 28:30, every 15 simulated minutes
        outcomes.append((clock.now(), ing.poll(fid).outcome))
        clock.advance(timedelta(minutes=15))
        sim.advance_to(clock.now())
    assert "error" in {o for _t, o in outcomes}
    rows = q(engine, "SELECT kind, started_at, ended_at FROM outage WHERE feed_id = :f", f=fid)
    assert len(rows) == 1
    kind, started, ended = rows[0]
    case = sim.case("velomax-outage")
    assert kind == "unavailable"
    assert case.start <= started <= case.start + timedelta(minutes=15)
    assert case.end <= ended <= case.end + timedelta(minutes=15)
    assert q(engine, "SELECT count(*) FROM vehicle_current WHERE missing_since IS NULL")[0][0] > 50
