"""GBFS 3.1 files are recognised: ``vehicle_availability.json`` (the file 3.1 adds)
is parsed and explicitly not ingested, with the reason, never "not a known GBFS
file name" (issue 13). No real 3.1 feed is in the corpus, so the test writes its
own small 3.1-RC3 files and checks them against the official v3.1-RC3 schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from sqlalchemy import Engine

from gbfs_ingest.config import IngestSettings, OperatorSettings
from gbfs_ingest.feed_scope import NOT_INGESTED
from gbfs_ingest.model import FeedType
from gbfs_ingest.parse import parse_bytes, parse_discovery
from gbfs_ingest.registry import INGESTED_FEEDS, wanted_feeds
from gbfs_ingest.replay import collect_files, replay
from tests.conftest import GBFS_SCHEMAS

V31 = "3.1-RC3"
NOW = "2025-10-21T06:00:00+02:00"
BASE = "https://gbfs.example.org/3.1"
SCHEMAS = GBFS_SCHEMAS / "v3.1-RC3"


def envelope(data: dict[str, Any]) -> dict[str, Any]:
    return {"last_updated": NOW, "ttl": 60, "version": V31, "data": data}


def discovery() -> dict[str, Any]:
    names = ["system_information", "vehicle_status", "vehicle_availability"]
    return envelope({"feeds": [{"name": n, "url": f"{BASE}/{n}.json"} for n in names]})


def vehicle_status() -> dict[str, Any]:
    vehicles = [
        {"vehicle_id": "car-1", "station_id": "st-1", "is_reserved": False, "is_disabled": False},
        {
            "vehicle_id": "car-2",
            "lat": 50.63,
            "lon": 3.06,
            "is_reserved": False,
            "is_disabled": True,
        },
    ]
    return envelope({"vehicles": vehicles})


def vehicle_availability() -> dict[str, Any]:
    vehicles = [
        {
            "vehicle_id": "car-1",
            "vehicle_type_id": "small",
            "station_id": "st-1",
            "availabilities": [
                {"from": "2025-10-21T06:00:00+02:00", "until": "2025-10-21T09:30:00+02:00"},
                {"from": "2025-10-21T14:00:00+02:00"},
            ],
        },
        {"vehicle_id": "car-2", "station_id": "st-2", "availabilities": []},
    ]
    return envelope({"vehicles": vehicles})


def system_information() -> dict[str, Any]:
    return envelope(
        {
            "system_id": "citiz-test",
            "languages": ["fr"],
            "name": [{"text": "Citiz test", "language": "fr"}],
            "opening_hours": "24/7",
            "feed_contact_email": "gbfs@example.org",
            "timezone": "Europe/Paris",
        }
    )


DOCS = {
    "gbfs": discovery,
    "system_information": system_information,
    "vehicle_status": vehicle_status,
    "vehicle_availability": vehicle_availability,
}


@pytest.mark.parametrize("name", sorted(DOCS))
def test_the_files_written_here_are_valid_31(name: str) -> None:
    schema = json.loads((SCHEMAS / f"{name}.json").read_bytes())
    errors = list(jsonschema_rs.validator_for(schema).iter_errors(DOCS[name]()))
    assert errors == []


def test_every_gbfs_file_name_is_ingested_or_left_out_with_a_reason() -> None:
    for feed_type in FeedType:
        assert (feed_type in INGESTED_FEEDS) != (feed_type in NOT_INGESTED), feed_type
    # every file of the 3.1 schema folder has a name the service knows
    for path in SCHEMAS.glob("*.json"):
        assert FeedType.from_name(path.stem) is not None, path.name


def test_discovery_of_a_31_feed() -> None:
    disc = parse_discovery(discovery())
    assert disc.version == "3.1"
    assert FeedType.VEHICLE_AVAILABILITY in disc.feeds
    assert disc.unknown_feeds == []
    op = OperatorSettings(slug="citiz", name="Citiz", discovery_url=f"{BASE}/gbfs.json")
    assert {ref.feed_type for ref in wanted_feeds(op, disc)} == {
        FeedType.SYSTEM_INFORMATION,
        FeedType.VEHICLE_STATUS,
    }


def test_vehicle_availability_is_parsed() -> None:
    parsed = parse_bytes(FeedType.VEHICLE_AVAILABILITY, json.dumps(vehicle_availability()).encode())
    assert parsed.version == "3.1" and parsed.invalid_records == 0
    first, second = parsed.records
    assert (first.vehicle_id, first.station_id, first.vehicle_type_id) == ("car-1", "st-1", "small")
    (start, end), (start2, open_end) = first.availabilities
    assert start.isoformat() == "2025-10-21T04:00:00+00:00" and end is not None
    assert open_end is None and start2 > end
    assert second.availabilities == []


def test_bad_availability_records_are_dropped_with_findings() -> None:
    doc = vehicle_availability()
    doc["data"]["vehicles"] += [
        {"vehicle_id": "car-1", "station_id": "st-1", "availabilities": []},  # duplicate
        {"station_id": "st-3", "availabilities": []},  # no id
        {
            "vehicle_id": "car-9",
            "station_id": "st-9",
            "availabilities": [{"from": "2025-10-21T10:00:00Z", "until": "2025-10-21T09:00:00Z"}],
        },
    ]
    parsed = parse_bytes(FeedType.VEHICLE_AVAILABILITY, json.dumps(doc).encode())
    assert [r.vehicle_id for r in parsed.records] == ["car-1", "car-2", "car-9"]
    assert parsed.invalid_records == 2
    codes = {f.code for f in parsed.findings}
    assert {"record.duplicate_id", "record.missing_id", "value.invalid"} <= codes
    assert parsed.records[2].availabilities == []


def write_folder(folder: Path) -> None:
    folder.mkdir()
    for name, make in DOCS.items():
        (folder / f"{name}.json").write_text(json.dumps(make()))


def test_replay_of_a_31_folder(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "citiz_v3.1"
    write_folder(folder)
    _files, problems = collect_files(folder)
    assert problems == []  # no "not a known GBFS file name"
    summary = replay(
        engine, folder, operator_slug="citiz", operator_name=None, settings=IngestSettings()
    )
    assert summary.errors == []
    assert summary.version == "3.1"
    assert summary.vehicles_stored == 2
    assert not any("not a known GBFS file name" in w for w in summary.warnings)
    (line,) = [i for i in summary.ignored if i.startswith("vehicle_availability.json: ")]
    assert "2 vehicles parsed (0 dropped), not ingested: GBFS 3.1" in line
    assert "car sharing" in line


def test_cli_on_a_lone_31_availability_file_says_why(db_url: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from fleet_monitor.cli import cli

    path = tmp_path / "vehicle_availability.json"
    path.write_text(json.dumps(vehicle_availability()))
    env = {"DATABASE_URL": db_url, "FLEET_CONFIG": None}
    result = CliRunner().invoke(cli, ["ingest", str(path)], env=env)
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "no file this service ingests (vehicle_availability.json: GBFS 3.1" in line
    assert "not a known GBFS file name" not in result.output


def test_cli_ingest_of_a_31_feed_over_http(db_url: str) -> None:
    from click.testing import CliRunner

    from fleet_monitor.cli import cli
    from tests.httpserver import LocalHTTPServer, Reply

    with LocalHTTPServer() as server:
        disc = discovery()
        for feed in disc["data"]["feeds"]:
            feed["url"] = server.url(f"/{feed['name']}.json")
        server.route("/gbfs.json", Reply.json(json.dumps(disc)))
        for name, make in DOCS.items():
            if name != "gbfs":
                server.route(f"/{name}.json", Reply.json(json.dumps(make())))
        env = {
            "DATABASE_URL": db_url,
            "FLEET_CONFIG": None,
            "FLEET__INGEST__ALLOWED_PRIVATE_HOSTS": '["127.0.0.1"]',
            # the files say 2025: not stale for this test
            "FLEET__INGEST__STALE_AFTER_S": str(10 * 365 * 86400),
        }
        result = CliRunner().invoke(cli, ["ingest", server.url("/gbfs.json")], env=env)
    assert result.exit_code == 0, result.output
    assert "GBFS 3.1, 2 vehicles (1 without a position: in no zone count)" in result.stdout
    assert "not ingested: vehicle_availability: recognised, not ingested: GBFS 3.1" in (
        result.stdout
    )
