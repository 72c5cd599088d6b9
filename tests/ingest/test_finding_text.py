"""Coercion warnings name the file, the field and the count (issue 13), for
replayed captures and for a feed fetched over HTTP by ``fleet-monitor ingest``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from fleet_monitor.cli import cli
from gbfs_ingest.config import IngestSettings
from gbfs_ingest.finding_text import describe_finding, finding_field
from gbfs_ingest.model import Finding
from gbfs_ingest.replay import replay
from tests.conftest import GBFS_REAL
from tests.httpserver import LocalHTTPServer, Reply

BOLT_V1 = GBFS_REAL / "bolt_essen_v1.0_mdkt"
POGOH = GBFS_REAL / "pbsc-pogoh_pittsburgh_v1.x_mdkt"


def _ones_and_zeros(path, key: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    bikes = json.loads(path.read_bytes())["data"]["bikes"]
    values = [b[key] for b in bikes]
    assert all(type(v) is int for v in values)  # the capture's quirk
    return values.count(1), values.count(0)


def test_field_of_a_path() -> None:
    assert finding_field("/data/bikes/*/is_disabled") == "is_disabled"
    assert finding_field("/data/stations/*") == "stations"
    assert finding_field("/last_updated") == "last_updated"
    assert finding_field("") is None
    line = describe_finding("x.json", Finding("warning", "c", "said", "/data/bikes/*/lat", 3))
    assert line == "x.json: lat: said (x3)"


def test_replayed_vehicle_file_names_file_field_and_count(engine: Engine) -> None:
    summary = replay(
        engine, BOLT_V1, operator_slug="bolt", operator_name=None, settings=IngestSettings()
    )
    for key in ("is_reserved", "is_disabled"):
        ones, zeros = _ones_and_zeros(BOLT_V1 / "free_bike_status.json", key)
        values = ", ".join(f"{n} x {v}" for v, n in ((1, ones), (0, zeros)) if n)
        expected = (
            f"free_bike_status.json: {key}: boolean given as integer ({values}),"
            f" coerced (x{ones + zeros})"
        )
        assert expected in summary.warnings, summary.warnings
    # one line per field, not one per value
    vehicle_lines = [w for w in summary.warnings if w.startswith("free_bike_status.json: ")]
    assert sum("boolean given as integer" in w for w in vehicle_lines) == 2


def test_replayed_station_flags_name_their_field(engine: Engine) -> None:
    summary = replay(
        engine, POGOH, operator_slug="pogoh", operator_name=None, settings=IngestSettings()
    )
    for key in ("is_installed", "is_renting", "is_returning"):
        line = f"station_status.json: {key}: boolean given as integer (e.g. 1), coerced (x60)"
        assert line in summary.warnings, summary.warnings


@pytest.fixture
def server() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as srv:
        yield srv


def test_cli_ingest_over_http_reports_the_same_lines(db_url: str, server: LocalHTTPServer) -> None:
    now = int(datetime.now(UTC).timestamp())
    bikes = [
        {"bike_id": f"b{i}", "lat": 45.9, "lon": 6.1 + i / 1000, "is_reserved": 0}
        | {"is_disabled": int(i == 0)}
        for i in range(5)
    ]

    def doc(data: object) -> str:
        return json.dumps({"last_updated": now, "ttl": 0, "version": "2.3", "data": data})

    feeds = [{"name": "free_bike_status", "url": server.url("/fbs.json")}]
    server.route("/gbfs.json", Reply.json(doc({"en": {"feeds": feeds}})))
    server.route("/fbs.json", Reply.json(doc({"bikes": bikes})))
    env = {
        "DATABASE_URL": db_url,
        "FLEET_CONFIG": None,
        "FLEET__INGEST__ALLOWED_PRIVATE_HOSTS": '["127.0.0.1"]',
    }
    result = CliRunner().invoke(cli, ["ingest", server.url("/gbfs.json"), "--json"], env=env)
    assert result.exit_code == 0, result.output
    warnings = json.loads(result.stdout)["warnings"]
    assert (
        "free_bike_status.json: is_disabled: boolean given as integer (1 x 1, 4 x 0), coerced (x5)"
        in warnings
    )
    assert (
        "free_bike_status.json: is_reserved: boolean given as integer (5 x 0), coerced (x5)"
        in warnings
    )
