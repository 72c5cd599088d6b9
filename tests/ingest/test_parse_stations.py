"""Station feeds and the small reference feeds, on inline documents."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gbfs_ingest.model import FeedType, Finding, FormFactor, ParsedFeed, Station
from gbfs_ingest.parse import HUGE_STATION_COUNT, merge_stations, parse_feed

LAST_UPDATED = 1_761_018_446


def doc(key: str, records: list[Any], version: str = "2.3", **envelope: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "last_updated": LAST_UPDATED,
        "ttl": 60,
        "version": version,
        "data": {key: records},
    }
    out.update(envelope)
    return out


def parse(
    feed_type: FeedType, document: dict[str, Any], languages: tuple[str, ...] = ()
) -> ParsedFeed:
    return parse_feed(feed_type, document, document.get("version"), languages=languages)


def codes(parsed: ParsedFeed) -> dict[str, Finding]:
    return {f.code: f for f in parsed.findings}


def info(sid: Any = "s1", **fields: Any) -> dict[str, Any]:
    return {"station_id": sid, "name": "Pâquier", "lat": 45.9, "lon": 6.13, **fields}


def status(sid: Any = "s1", **fields: Any) -> dict[str, Any]:
    base = {
        "station_id": sid,
        "num_bikes_available": 3,
        "num_docks_available": 7,
        "is_installed": True,
        "is_renting": True,
        "is_returning": True,
        "last_reported": LAST_UPDATED - 30,
    }
    base.update(fields)
    return base


def test_station_information_quirks() -> None:
    parsed = parse(
        FeedType.STATION_INFORMATION,
        doc(
            "stations",
            [
                info("a", capacity="12", region_id=7),
                info(None),
                info("", name=None),
                info("b", lat=None, lon=None),
                info("c", lat=0, lon=0),
                info("a"),
                info(9, name=""),
            ],
        ),
    )
    assert [(s.station_id, s.capacity, s.region_id, s.name) for s in parsed.records] == [
        ("a", 12, "7", "Pâquier"),
        ("9", None, None, None),
    ]
    assert parsed.invalid_records == 5
    found = codes(parsed)
    assert found["record.missing_id"].count == 2
    assert found["coord.missing"].severity == "error"
    assert found["coord.null_island"].severity == "error"
    assert found["record.duplicate_id"].count == 1
    assert found["coerce.number_str"].path == "/data/stations/*/capacity"


def test_station_status_coercions_and_legacy_keys() -> None:
    parsed = parse(
        FeedType.STATION_STATUS,
        doc(
            "stations",
            [
                status("a", is_installed=1, is_renting=0, is_returning="true"),
                {
                    "station_id": "b",
                    "num_bikes_available": "4",
                    "installed": True,
                    "last_reported": 86400,
                },
            ],
        ),
    )
    a, b = parsed.records
    assert (a.is_installed, a.is_renting, a.is_returning) == (True, False, True)
    assert a.last_reported == datetime.fromtimestamp(LAST_UPDATED - 30, UTC)
    assert (b.num_vehicles_available, b.is_installed, b.last_reported) == (4, True, None)
    found = codes(parsed)
    assert {"coerce.bool_int", "coerce.bool_str", "station.legacy_key", "time.implausible"} <= set(
        found
    )


def test_pseudo_station_with_sentinel_docks_and_huge_count() -> None:
    lime = {
        "station_id": "seattle",
        "num_vehicles_available": 12040,
        "num_docks_available": 999999,
        "is_installed": True,
        "is_renting": True,
        "is_returning": True,
        "last_reported": LAST_UPDATED,
    }
    parsed = parse(FeedType.STATION_STATUS, doc("stations", [lime, status("dock")], version="1.0"))
    seattle, dock = parsed.records
    assert seattle.is_virtual and not dock.is_virtual
    assert (seattle.num_vehicles_available, seattle.num_docks_available) == (12040, None)
    found = codes(parsed)
    assert found["station.pseudo_sentinel"].severity == "warning"
    assert "999999" in found["station.pseudo_sentinel"].message
    assert found["station.pseudo_huge_count"].severity == "warning"
    assert found["station.count_key"].severity == "warning"  # num_vehicles_* in 1.0


def test_huge_count_alone_marks_virtual() -> None:
    parsed = parse(
        FeedType.STATION_STATUS,
        doc("stations", [status("depot", num_bikes_available=HUGE_STATION_COUNT)]),
    )
    assert parsed.records[0].is_virtual


def test_declared_virtual_and_sentinel_capacity() -> None:
    parsed = parse(
        FeedType.STATION_INFORMATION,
        doc(
            "stations",
            [
                info("v", is_virtual_station=True),
                info("c", capacity=999999),
                info("d", capacity=20),
            ],
        ),
    )
    v, c, d = parsed.records
    assert (v.is_virtual, c.is_virtual, d.is_virtual) == (True, True, False)
    assert (c.capacity, d.capacity) == (None, 20)
    found = codes(parsed)
    assert found["station.virtual_declared"].severity == "info"
    assert found["station.pseudo_sentinel"].severity == "warning"


def test_v3_station_information_and_status() -> None:
    info_doc = doc(
        "stations",
        [
            info(
                "a",
                name=[{"text": "Gare", "language": "fr"}, {"text": "Station", "language": "en"}],
            )
        ],
        version="3.0",
        last_updated="2025-10-21T06:14:17.9919234+02:00",
    )
    assert parse(FeedType.STATION_INFORMATION, info_doc).records[0].name == "Station"
    assert parse(FeedType.STATION_INFORMATION, info_doc, ("fr",)).records[0].name == "Gare"
    status_doc = doc(
        "stations",
        [
            {
                "station_id": "a",
                "num_vehicles_available": 2,
                "num_vehicles_disabled": 1,
                "num_docks_available": 5,
                "is_installed": True,
                "is_renting": True,
                "is_returning": False,
                "last_reported": "2025-10-21T04:00:00Z",
            }
        ],
        version="3.0",
        last_updated="2025-10-21T06:14:17.9919234+02:00",
    )
    parsed = parse(FeedType.STATION_STATUS, status_doc)
    (station,) = parsed.records
    assert (station.num_vehicles_available, station.num_vehicles_disabled) == (2, 1)
    assert station.last_reported == datetime(2025, 10, 21, 4, 0, tzinfo=UTC)
    assert parsed.last_updated == datetime(2025, 10, 21, 4, 14, 17, 991923, tzinfo=UTC)
    assert parsed.findings == []


def test_merge_stations() -> None:
    information = [
        Station("a", name="A", lat=1.0, lon=2.0, capacity=10),
        Station("b", is_virtual=True),
    ]
    states = [
        Station("b", num_vehicles_available=1),
        Station("a", num_vehicles_available=4, is_renting=True),
        Station("z", num_vehicles_available=600, is_virtual=True),
    ]
    merged = merge_stations(information, states)
    assert [(s.station_id, s.name, s.num_vehicles_available, s.is_virtual) for s in merged] == [
        ("a", "A", 4, False),
        ("b", None, 1, True),
        ("z", None, 600, True),
    ]
    assert merged[0].capacity == 10 and merged[0].is_renting is True


def test_system_information_v2_and_v3() -> None:
    v2 = parse(
        FeedType.SYSTEM_INFORMATION,
        {
            "last_updated": LAST_UPDATED,
            "ttl": 0,
            "version": "2.3",
            "data": {"system_id": "x", "name": "X", "language": "fr", "timezone": "Europe/Paris"},
        },
    )
    assert (v2.records[0].system_id, v2.records[0].language, v2.records[0].timezone) == (
        "x",
        "fr",
        "Europe/Paris",
    )
    v3 = parse(
        FeedType.SYSTEM_INFORMATION,
        {
            "last_updated": "2025-10-21T04:12:17Z",
            "ttl": 0,
            "version": "3.0",
            "data": {
                "system_id": "y",
                "languages": ["de", "en"],
                "name": [{"text": "Ypsilon", "language": "de"}],
                "operator": [
                    {"text": "Op EN", "language": "en"},
                    {"text": "Op DE", "language": "de"},
                ],
                "timezone": "Mars/Olympus",
            },
        },
        languages=("de",),
    )
    (system,) = v3.records
    assert (system.name, system.operator, system.language) == ("Ypsilon", "Op DE", "de")
    assert codes(v3)["value.unknown_timezone"].severity == "warning"
    missing = parse(FeedType.SYSTEM_INFORMATION, doc("name", "no id"))  # type: ignore[arg-type]
    assert missing.records == [] and codes(missing)["record.missing_id"].severity == "error"


def test_vehicle_types_enums() -> None:
    parsed = parse(
        FeedType.VEHICLE_TYPES,
        doc(
            "vehicle_types",
            [
                {
                    "vehicle_type_id": "a",
                    "form_factor": "BICYCLE",
                    "propulsion_type": "Electric_Assist",
                },
                {"vehicle_type_id": "b", "form_factor": "scooter", "propulsion_type": "electric"},
                {"vehicle_type_id": "c", "form_factor": "hoverboard", "propulsion_type": "magic"},
                {"vehicle_type_id": 4, "form_factor": "car", "max_range_meters": "1000"},
            ],
        ),
    )
    forms = [(t.vehicle_type_id, t.form_factor, t.propulsion_type) for t in parsed.records]
    assert forms == [
        ("a", FormFactor.BICYCLE, "electric_assist"),
        ("b", FormFactor.SCOOTER_STANDING, "electric"),
        ("c", FormFactor.OTHER, "human"),
        ("4", FormFactor.CAR, "human"),
    ]
    found = codes(parsed)
    assert found["coerce.enum_case"].count == 1
    assert found["vehicle_type.scooter"].severity == "info"  # valid (deprecated) in 2.3
    assert found["value.unknown_enum"].count == 1


def test_v3_scooter_form_factor_is_a_warning() -> None:
    parsed = parse(
        FeedType.VEHICLE_TYPES,
        doc(
            "vehicle_types",
            [{"vehicle_type_id": "a", "form_factor": "scooter", "propulsion_type": "electric"}],
            version="3.0",
            last_updated="2025-10-21T04:12:17Z",
        ),
    )
    assert codes(parsed)["vehicle_type.scooter"].severity == "warning"


def test_pricing_plans_and_regions() -> None:
    plans = parse(
        FeedType.SYSTEM_PRICING_PLANS,
        doc(
            "plans",
            [
                {
                    "plan_id": "p",
                    "name": "P",
                    "currency": "usd",
                    "price": "1.00",
                    "is_taxable": 1,
                    "description": None,
                },
                {"plan_id": "p", "price": 2},
            ],
        ),
    )
    (plan,) = plans.records
    assert (plan.price, plan.currency, plan.is_taxable, plan.description) == (
        1.0,
        "USD",
        True,
        None,
    )
    assert plans.invalid_records == 1
    regions = parse(
        FeedType.SYSTEM_REGIONS,
        doc(
            "regions",
            [{"region_id": "3", "name": "SF"}, {"region_id": "3", "name": "SF"}, {"region_id": 5}],
        ),
    )
    assert [(r.region_id, r.name) for r in regions.records] == [("3", "SF"), ("5", None)]
    assert codes(regions)["record.duplicate_id"].count == 1


def test_feeds_without_a_model_are_accepted() -> None:
    parsed = parse(FeedType.SYSTEM_HOURS, doc("rental_hours", []))
    assert parsed.records == []
    assert codes(parsed)["feed.not_normalised"].severity == "info"
