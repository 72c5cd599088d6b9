"""Vehicle feed quirks, each on a small inline document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gbfs_ingest.model import FeedType, Finding, FormFactor, ParsedFeed
from gbfs_ingest.parse import LEGACY_TYPE_PREFIX, legacy_vehicle_type, parse_feed

LAST_UPDATED = 1_761_018_446  # 2025-10-21T03:47:26Z


def bikes(*records: dict[str, Any], version: str = "2.3", **envelope: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"last_updated": LAST_UPDATED, "ttl": 0, "version": version}
    doc.update(envelope)
    key = "vehicles" if version.startswith("3") else "bikes"
    doc["data"] = {key: list(records)}
    return doc


def bike(bike_id: Any = "b1", lat: Any = 45.9, lon: Any = 6.12, **fields: Any) -> dict[str, Any]:
    return {
        "bike_id": bike_id,
        "lat": lat,
        "lon": lon,
        "is_reserved": False,
        "is_disabled": False,
        **fields,
    }


def parse(doc: dict[str, Any]) -> ParsedFeed:
    return parse_feed(FeedType.VEHICLE_STATUS, doc, doc.get("version"))


def finding(parsed: ParsedFeed, code: str) -> Finding:
    matches = [f for f in parsed.findings if f.code == code]
    assert len(matches) == 1, (code, parsed.findings)
    return matches[0]


def test_clean_vehicle() -> None:
    parsed = parse(bikes(bike(vehicle_type_id="s", last_reported=LAST_UPDATED - 60)))
    (v,) = parsed.records
    assert (v.vehicle_id, v.lat, v.lon, v.vehicle_type_id) == ("b1", 45.9, 6.12, "s")
    assert v.last_reported == datetime(2025, 10, 21, 3, 46, 26, tzinfo=UTC)
    assert parsed.findings == [] and parsed.invalid_records == 0
    assert parsed.last_updated == datetime(2025, 10, 21, 3, 47, 26, tzinfo=UTC)


def test_numbers_as_strings_are_coerced() -> None:
    doc = bikes(
        bike(lat="45.91", lon="6.13", current_range_meters="1200.5", current_fuel_percent="0.5"),
        last_updated=str(LAST_UPDATED),
        ttl="60",
    )
    parsed = parse(doc)
    (v,) = parsed.records
    assert (v.lat, v.lon, v.current_range_meters, v.current_fuel_percent) == (
        45.91,
        6.13,
        1200.5,
        0.5,
    )
    assert parsed.ttl == 60
    assert parsed.last_updated == datetime(2025, 10, 21, 3, 47, 26, tzinfo=UTC)
    codes = {f.code for f in parsed.findings}
    assert {"coerce.coord_str", "coerce.number_str", "coerce.time_string"} <= codes
    assert all(f.severity == "warning" for f in parsed.findings)


def test_integer_and_string_booleans() -> None:
    parsed = parse(
        bikes(
            bike("a", is_reserved=0, is_disabled=1),
            bike("b", is_reserved="true", is_disabled="FALSE"),
            bike("c", is_reserved=2, is_disabled=None),
        )
    )
    a, b, c = parsed.records
    assert (a.is_reserved, a.is_disabled) == (False, True)
    assert (b.is_reserved, b.is_disabled) == (True, False)
    assert (c.is_reserved, c.is_disabled) == (False, False)
    # one finding per (code, path)
    assert {(f.code, f.path, f.count) for f in parsed.findings} == {
        ("coerce.bool_int", "/data/bikes/*/is_reserved", 1),
        ("coerce.bool_int", "/data/bikes/*/is_disabled", 1),
        ("coerce.bool_str", "/data/bikes/*/is_reserved", 1),
        ("coerce.bool_str", "/data/bikes/*/is_disabled", 1),
        ("value.invalid", "/data/bikes/*/is_reserved", 1),
        ("value.missing", "/data/bikes/*/is_disabled", 1),
    }
    assert {(f.code, f.path) for f in parsed.findings} >= {
        ("coerce.bool_int", "/data/bikes/*/is_reserved"),
        ("coerce.bool_int", "/data/bikes/*/is_disabled"),
        ("coerce.bool_str", "/data/bikes/*/is_reserved"),
        ("value.invalid", "/data/bikes/*/is_reserved"),
        ("value.missing", "/data/bikes/*/is_disabled"),
    }


@pytest.mark.parametrize(
    ("lat", "lon", "code"),
    [
        (None, None, "coord.missing"),
        (None, 6.1, "coord.missing"),
        ("abc", 6.1, "coord.invalid"),
        ([45.9], 6.1, "coord.invalid"),
        (95.0, 6.1, "coord.out_of_range"),
        (45.9, 200, "coord.out_of_range"),
        (float("nan"), 6.1, "coord.out_of_range"),
        (0, 0, "coord.null_island"),
        (0.0, 0.0, "coord.null_island"),
    ],
)
def test_bad_coordinates_drop_the_vehicle(lat: Any, lon: Any, code: str) -> None:
    parsed = parse(bikes(bike("ok"), bike("bad", lat, lon), bike("ok2")))
    assert [v.vehicle_id for v in parsed.records] == ["ok", "ok2"]
    assert parsed.invalid_records == 1
    found = finding(parsed, code)
    assert found.severity == "error" and found.count == 1
    assert "bad" in found.message


def test_integer_coordinates_are_fine() -> None:
    (v,) = parse(bikes(bike(lat=46, lon=6))).records
    assert (v.lat, v.lon) == (46.0, 6.0)


def test_missing_or_integer_ids() -> None:
    parsed = parse(bikes(bike(None), bike(""), bike(42), bike(4.2)))
    assert [v.vehicle_id for v in parsed.records] == ["42"]
    assert parsed.invalid_records == 3
    assert finding(parsed, "record.missing_id").count == 3
    assert finding(parsed, "coerce.id_int").count == 1


def test_duplicate_ids_keep_the_first() -> None:
    parsed = parse(bikes(bike("a", lat=45.1), bike("b"), bike("a", lat=45.2), bike("a", lat=45.3)))
    assert [(v.vehicle_id, v.lat) for v in parsed.records] == [("a", 45.1), ("b", 45.9)]
    assert parsed.invalid_records == 2
    dup = finding(parsed, "record.duplicate_id")
    assert (dup.severity, dup.count, dup.path) == ("error", 2, "/data/bikes/*/bike_id")


def test_duplicate_of_a_dropped_record_is_kept() -> None:
    parsed = parse(bikes(bike("a", lat=None), bike("a", lat=45.2)))
    assert [(v.vehicle_id, v.lat) for v in parsed.records] == [("a", 45.2)]


def test_one_garbage_record_does_not_drop_the_feed() -> None:
    parsed = parse(bikes(bike("a"), "garbage", None, bike("b")))  # type: ignore[arg-type]
    assert [v.vehicle_id for v in parsed.records] == ["a", "b"]
    assert parsed.invalid_records == 2
    assert finding(parsed, "record.not_object").count == 2


def test_findings_are_aggregated_not_per_record() -> None:
    records = [
        bike(f"v{i}", is_reserved=0, is_disabled=0, lat=None, station_id="s") for i in range(1000)
    ]
    parsed = parse(bikes(*records))
    assert len(parsed.records) == 1000
    assert len(parsed.findings) == 3
    assert {f.count for f in parsed.findings} == {1000}


def test_docked_vehicles_without_position() -> None:
    parsed = parse(
        bikes(bike("a", lat=None, lon=None, station_id="st1"), bike("b", lat=None, lon=None))
    )
    (docked,) = parsed.records
    assert (docked.vehicle_id, docked.lat, docked.lon, docked.station_id) == (
        "a",
        None,
        None,
        "st1",
    )
    assert finding(parsed, "vehicle.docked_without_position").severity == "info"
    assert finding(parsed, "coord.missing").severity == "error"  # b: no station either
    assert parsed.invalid_records == 1


def test_docked_vehicle_before_2_1_is_kept_with_a_warning() -> None:
    parsed = parse(bikes(bike("a", lat=None, lon=None, station_id="st1"), version="1.0"))
    assert len(parsed.records) == 1
    assert finding(parsed, "vehicle.docked_without_position").severity == "warning"


def test_docked_vehicle_with_bad_position_keeps_its_station() -> None:
    parsed = parse(bikes(bike("a", lat=0, lon=0, station_id="st1")))
    (v,) = parsed.records
    assert (v.lat, v.lon, v.station_id) == (None, None, "st1")
    assert finding(parsed, "coord.null_island").severity == "warning"


def test_v3_vehicle_status() -> None:
    doc = bikes(
        {
            "vehicle_id": "v1",
            "lat": 45.9,
            "lon": 6.1,
            "is_reserved": False,
            "is_disabled": True,
            "last_reported": "2025-10-21T05:40:00.123456789+02:00",
            "current_fuel_percent": 0.42,
            "rental_uris": {"android": "app://v1", "web": "https://x.example/v1"},
        },
        version="3.0",
        last_updated="2025-10-21T03:47:26Z",
    )
    parsed = parse(doc)
    (v,) = parsed.records
    assert v.last_reported == datetime(2025, 10, 21, 3, 40, 0, 123456, tzinfo=UTC)
    assert (v.is_disabled, v.current_fuel_percent, v.rental_uri) == (
        True,
        0.42,
        "https://x.example/v1",
    )
    assert parsed.findings == []


def test_v3_file_using_v2_keys() -> None:
    doc = {
        "last_updated": "2025-10-21T03:47:26Z",
        "ttl": 0,
        "version": "3.0",
        "data": {"bikes": [bike("a")]},
    }
    parsed = parse(doc)
    assert [v.vehicle_id for v in parsed.records] == ["a"]
    assert {"feed.array_key", "vehicle.id_key"} <= {f.code for f in parsed.findings}


def test_sentinel_and_future_last_reported() -> None:
    parsed = parse(
        bikes(
            bike("zero", last_reported=0),
            bike("day2", last_reported=86400),
            bike("future", last_reported=LAST_UPDATED + 2 * 86400),
            bike("late13s", last_reported=LAST_UPDATED + 13),
            bike("millis", last_reported=(LAST_UPDATED - 60) * 1000),
        )
    )
    by_id = {v.vehicle_id: v.last_reported for v in parsed.records}
    assert by_id["zero"] is None and by_id["day2"] is None and by_id["future"] is None
    assert by_id["late13s"] == datetime(2025, 10, 21, 3, 47, 39, tzinfo=UTC)
    assert by_id["millis"] == datetime(2025, 10, 21, 3, 46, 26, tzinfo=UTC)
    implausible = finding(parsed, "time.implausible")
    assert (implausible.severity, implausible.count) == ("warning", 3)
    assert finding(parsed, "time.milliseconds").count == 1
    assert len(parsed.records) == 5  # a bad timestamp never drops a vehicle


def test_timestamps_as_floats_strings_and_rfc3339_in_v2() -> None:
    parsed = parse(
        bikes(
            bike("f", last_reported=float(LAST_UPDATED)),
            bike("s", last_reported=str(LAST_UPDATED)),
            bike("r", last_reported="2025-10-21T05:47:26+02:00"),
            bike("x", last_reported="yesterday"),
        )
    )
    values = [v.last_reported for v in parsed.records]
    expected = datetime.fromtimestamp(LAST_UPDATED, UTC)
    assert values == [expected, expected, expected, None]
    codes = {f.code for f in parsed.findings}
    assert {
        "coerce.time_float",
        "coerce.time_string",
        "time.rfc3339_before_v3",
        "time.invalid",
    } <= codes


def test_synthetic_last_reported() -> None:
    parsed = parse(bikes(*(bike(f"v{i}", last_reported=LAST_UPDATED) for i in range(20))))
    found = finding(parsed, "vehicle.synthetic_last_reported")
    assert "last_updated" in found.message


def test_fuel_percent_given_as_0_100() -> None:
    parsed = parse(
        bikes(bike("a", current_fuel_percent=80), bike("b", current_fuel_percent=1), bike("c"))
    )
    assert [v.current_fuel_percent for v in parsed.records] == [0.8, 0.01, None]
    scale = finding(parsed, "coerce.fuel_percent_scale")
    assert (scale.severity, scale.count) == ("warning", 2)


def test_one_fuel_percent_above_1_in_a_0_1_file() -> None:
    parsed = parse(
        bikes(
            bike("a", current_fuel_percent=0.5),
            bike("b", current_fuel_percent=0.6),
            bike("c", current_fuel_percent=7),
        )
    )
    assert [v.current_fuel_percent for v in parsed.records] == [0.5, 0.6, None]
    assert finding(parsed, "value.out_of_range").count == 1


def test_negative_range_and_bad_refs() -> None:
    parsed = parse(
        bikes(bike(current_range_meters=-5, vehicle_type_id=7, pricing_plan_id="", station_id=[1]))
    )
    (v,) = parsed.records
    assert (v.current_range_meters, v.vehicle_type_id, v.pricing_plan_id, v.station_id) == (
        None,
        "7",
        None,
        None,
    )


def test_lime_v1_vehicle_type_maps_to_synthetic_type() -> None:
    parsed = parse(
        bikes(bike("a", vehicle_type="scooter"), bike("b", vehicle_type="bike"), version="1.0")
    )
    assert [v.vehicle_type_id for v in parsed.records] == ["legacy:scooter", "legacy:bike"]
    found = finding(parsed, "vehicle.legacy_type")
    assert found.count == 2 and found.path == "/data/bikes/*/vehicle_type"
    scooter = legacy_vehicle_type(LEGACY_TYPE_PREFIX + "scooter")
    assert scooter is not None and scooter.form_factor is FormFactor.SCOOTER_STANDING
    assert legacy_vehicle_type("42") is None


def test_missing_bikes_array_is_an_error_not_an_empty_fleet() -> None:
    parsed = parse({"last_updated": LAST_UPDATED, "ttl": 0, "version": "2.3", "data": {}})
    assert parsed.records == []
    assert finding(parsed, "feed.missing_array").severity == "error"
    empty = parse(bikes())
    assert finding(empty, "feed.empty").severity == "info"
