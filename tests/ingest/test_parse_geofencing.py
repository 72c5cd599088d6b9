"""geofencing_zones: 2.x and 3.x vocabularies, mixed keys, odd geometries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gbfs_ingest.model import FeedType, ParsedFeed
from gbfs_ingest.parse import parse_feed

SQUARE = [[[6.1, 45.9], [6.2, 45.9], [6.2, 46.0], [6.1, 46.0], [6.1, 45.9]]]
WORLD = [[[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]], SQUARE[0]]


def zone(
    rules: Any = None, coordinates: Any = None, kind: str = "MultiPolygon", **props: Any
) -> dict[str, Any]:
    properties = dict(props)
    if rules is not None:
        properties["rules"] = rules
    return {
        "type": "Feature",
        "geometry": {
            "type": kind,
            "coordinates": coordinates if coordinates is not None else [SQUARE],
        },
        "properties": properties,
    }


def zones_doc(*features: dict[str, Any], version: str = "2.3", **data: Any) -> dict[str, Any]:
    last_updated: Any = "2025-10-21T04:12:19Z" if version.startswith("3") else 1_761_018_739
    return {
        "last_updated": last_updated,
        "ttl": 0,
        "version": version,
        "data": {
            "geofencing_zones": {"type": "FeatureCollection", "features": list(features)},
            **data,
        },
    }


def parse(doc: dict[str, Any]) -> ParsedFeed:
    return parse_feed(FeedType.GEOFENCING_ZONES, doc, doc["version"])


def codes(parsed: ParsedFeed) -> dict[str, Any]:
    return {f.code: f for f in parsed.findings}


def test_v2_rules() -> None:
    parsed = parse(
        zones_doc(
            zone(
                [
                    {
                        "vehicle_type_id": ["s"],
                        "ride_allowed": False,
                        "ride_through_allowed": True,
                        "maximum_speed_kph": 10,
                        "station_parking": 1,
                    }
                ],
                name="Old town",
                start=1_761_000_000,
            )
        )
    )
    (z,) = parsed.records
    (rule,) = z.rules
    assert z.name == "Old town" and z.start == datetime.fromtimestamp(1_761_000_000, UTC)
    assert (rule.vehicle_type_ids, rule.ride_start_allowed, rule.ride_end_allowed) == (
        ["s"],
        False,
        False,
    )
    assert (rule.ride_through_allowed, rule.maximum_speed_kph, rule.station_parking) == (
        True,
        10,
        True,
    )
    assert set(codes(parsed)) == {"coerce.bool_int"}
    assert parsed.global_rules == []


def test_v3_rules_and_global_rules() -> None:
    parsed = parse(
        zones_doc(
            zone(
                [
                    {
                        "vehicle_type_ids": ["s"],
                        "ride_start_allowed": True,
                        "ride_end_allowed": False,
                        "ride_through_allowed": True,
                    }
                ],
                name=[{"text": "Vieille ville", "language": "fr"}],
                end="2030-01-01T00:00:00+01:00",
            ),
            version="3.0",
            global_rules=[
                {
                    "ride_start_allowed": False,
                    "ride_end_allowed": False,
                    "ride_through_allowed": True,
                }
            ],
        )
    )
    (z,) = parsed.records
    assert z.name == "Vieille ville"
    assert z.end == datetime(2029, 12, 31, 23, 0, tzinfo=UTC)  # far future is fine for zones
    assert (z.rules[0].ride_start_allowed, z.rules[0].ride_end_allowed) == (True, False)
    (outside,) = parsed.global_rules
    assert (outside.vehicle_type_ids, outside.ride_end_allowed) == (None, False)
    assert parsed.findings == []


def test_mixed_vocabulary_in_v3() -> None:
    parsed = parse(
        zones_doc(
            zone(
                [
                    {
                        "vehicle_type_id": ["a", "b"],
                        "ride_allowed": True,
                        "ride_through_allowed": False,
                    }
                ]
            ),
            zone([{"vehicle_type_id": "c", "ride_start_allowed": True, "ride_allowed": False}]),
            version="3.0",
            global_rules=[],
        )
    )
    first, second = (z.rules[0] for z in parsed.records)
    assert (first.vehicle_type_ids, first.ride_start_allowed, first.ride_end_allowed) == (
        ["a", "b"],
        True,
        True,
    )
    # explicit 3.x keys win over ride_allowed; a single id becomes a list
    assert (second.vehicle_type_ids, second.ride_start_allowed, second.ride_end_allowed) == (
        ["c"],
        True,
        False,
    )
    found = codes(parsed)
    assert found["geofencing.v2_key"].severity == "warning"
    assert {f.path for f in parsed.findings if f.code == "geofencing.v2_key"} == {
        "/data/geofencing_zones/features/*/properties/rules/*/vehicle_type_id",
        "/data/geofencing_zones/features/*/properties/rules/*/ride_allowed",
    }
    assert "coerce.scalar_list" in found


def test_v3_keys_in_a_v2_file() -> None:
    parsed = parse(
        zones_doc(
            zone(
                [{"vehicle_type_ids": ["a"], "ride_start_allowed": False, "ride_end_allowed": True}]
            )
        )
    )
    (rule,) = parsed.records[0].rules
    assert (rule.vehicle_type_ids, rule.ride_start_allowed, rule.ride_end_allowed) == (
        ["a"],
        False,
        True,
    )
    v3_keys = sorted(
        f.path.rsplit("/", 1)[1] for f in parsed.findings if f.code == "geofencing.v3_key"
    )
    assert v3_keys == ["ride_start_allowed", "vehicle_type_ids"]


def test_world_covering_zone_is_kept_and_flagged() -> None:
    parsed = parse(
        zones_doc(zone([{"ride_allowed": False}], coordinates=[WORLD], name="outside"), zone([]))
    )
    assert len(parsed.records) == 2
    world = codes(parsed)["geofencing.world_zone"]
    assert world.severity == "warning" and world.count == 1 and "outside" in world.message


def test_empty_feature_collection() -> None:
    parsed = parse(zones_doc(version="3.0", global_rules=[{"ride_end_allowed": True}]))
    assert parsed.records == [] and parsed.invalid_records == 0
    assert codes(parsed)["feed.empty"].severity == "info"
    assert len(parsed.global_rules) == 1


def test_zones_without_rules() -> None:
    parsed = parse(
        zones_doc(zone(), zone(), version="3.0", global_rules=[{"ride_end_allowed": True}])
    )
    assert [z.rules for z in parsed.records] == [[], []]
    assert codes(parsed)["geofencing.no_rules"].count == 2


def test_invalid_geometries_are_dropped() -> None:
    parsed = parse(
        zones_doc(
            zone([], kind="Point", coordinates=[6.1, 45.9]),
            zone([], coordinates=[[[[6.1, 45.9], [6.2, 45.9]]]]),
            zone([], coordinates=[[[[6.1, 45.9], [6.2, 95], [6.2, 46], [6.1, 45.9]]]]),
            zone([], kind="Polygon", coordinates=SQUARE),
            {"type": "Feature", "properties": {}},
        )
    )
    assert len(parsed.records) == 1 and parsed.records[0].geometry["type"] == "Polygon"
    assert parsed.invalid_records == 4
    assert codes(parsed)["geofencing.invalid_geometry"].count == 4


def test_not_a_feature_collection() -> None:
    parsed = parse(
        {"last_updated": 1, "ttl": 0, "version": "2.3", "data": {"geofencing_zones": []}}
    )
    assert parsed.records == []
    assert codes(parsed)["feed.missing_array"].severity == "error"
