"""A station status whose station is absent from station_information (and a station
without a status) is a finding on the fetch, never a silent drop (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from gbfs_ingest.config import IngestSettings
from gbfs_ingest.replay import replay
from tests.conftest import GBFS_REAL

OSLO = GBFS_REAL / "urbansharing-oslo-bysykkel_oslo_v2.3_timeseries"
HSL = GBFS_REAL / "hsl-citybikes_helsinki_v1.x_otp"


def _connect(db_url: str) -> psycopg.Connection:
    return psycopg.connect(make_url(db_url).set(drivername="postgresql").render_as_string(False))


def _ids(path: Path) -> set[str]:
    return {s["station_id"] for s in json.loads(path.read_bytes())["data"]["stations"]}


def _status_findings(db_url: str, code: str) -> list[dict]:
    with _connect(db_url) as conn:
        rows = conn.execute(
            "SELECT ff.findings FROM feed_fetch ff JOIN feed f ON f.id = ff.feed_id"
            " WHERE f.feed_type = 'station_status' ORDER BY ff.id"
        ).fetchall()
    return [f for (findings,) in rows for f in findings or [] if f["code"] == code]


def test_oslo_statuses_and_stations_that_do_not_match(engine: Engine, db_url: str) -> None:
    summary = replay(
        engine, OSLO, operator_slug="oslo", operator_name=None, settings=IngestSettings()
    )
    assert summary.errors == []
    info = _ids(OSLO / "station_information_2022-10-23.json")
    snapshots = sorted((OSLO / "station_status").glob("*.json"))
    expected = [(len(_ids(p) - info), len(info - _ids(p))) for p in snapshots]
    assert all(a > 0 and b > 0 for a, b in expected)  # the capture shows both cases

    orphans = _status_findings(db_url, "station.status_without_information")
    silent = _status_findings(db_url, "station.information_without_status")
    assert [f["count"] for f in orphans] == [a for a, _ in expected]
    assert [f["count"] for f in silent] == [b for _, b in expected]
    assert orphans[0]["severity"] == "error" and silent[0]["severity"] == "warning"
    some_orphan = sorted(_ids(snapshots[0]) - info)[0]
    assert repr(some_orphan) in orphans[0]["message"]
    # the summary says it too, naming the file
    assert any(
        w.startswith("station_status_1733004120.json: ") and "absent from station_information" in w
        for w in summary.warnings
    ), summary.warnings
    # and the stations stored are still those of the information file
    with _connect(db_url) as conn:
        (n,) = conn.execute("SELECT count(*) FROM station").fetchone()
    assert n == len(info)


def test_hsl_statuses_of_dropped_stations(engine: Engine, db_url: str) -> None:
    """HSL's information drops three stations (null and empty id, '010' without a
    position): their three statuses ('006', '007', '010') are named, not silently lost."""
    replay(engine, HSL, operator_slug="hsl", operator_name=None, settings=IngestSettings())
    (orphans,) = _status_findings(db_url, "station.status_without_information")
    assert orphans["count"] == 3
    assert "('006', '007', '010')" in orphans["message"]


def test_status_without_any_information_feed(engine: Engine, db_url: str, tmp_path: Path) -> None:
    status = GBFS_REAL / "lillestrom-bysykkel_lillestrom_v2.2_otp" / "station_status.json"
    copy = tmp_path / "station_status.json"
    copy.write_bytes(status.read_bytes())  # a lone status file, written by the test
    summary = replay(
        engine, copy, operator_slug="lone", operator_name=None, settings=IngestSettings()
    )
    assert summary.outcomes == {"not_applied": 1}
    (finding,) = _status_findings(db_url, "station.no_information_feed")
    assert finding["count"] == len(_ids(status)) == 6
    with _connect(db_url) as conn:
        (error,) = conn.execute("SELECT error FROM feed_fetch").fetchone()
    assert error == "no station_information to place the statuses on"


@pytest.mark.parametrize("name", ["lyft-divvy_chicago_v2.3", "bolt_essen_v3.0_mdkt"])
def test_matching_files_give_no_finding(engine: Engine, db_url: str, name: str) -> None:
    replay(
        engine, GBFS_REAL / name, operator_slug="m", operator_name=None, settings=IngestSettings()
    )
    assert _status_findings(db_url, "station.status_without_information") == []
    assert _status_findings(db_url, "station.information_without_status") == []
