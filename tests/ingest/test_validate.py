"""Schema validation against the packaged official GBFS schemas."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import orjson
import pytest

import gbfs_ingest.validate as validate_module
from gbfs_ingest.model import FeedType, Finding
from gbfs_ingest.validate import MAX_FINDINGS, schema_for, schema_version_dir, validate_document
from tests.conftest import GBFS_REAL, GBFS_SCHEMAS
from tests.ingest.test_parse_captures import Row, feed_type_of, readme_rows

pytestmark = pytest.mark.skipif(not GBFS_REAL.exists(), reason="shared/gbfs corpus not available")

# Where our totals differ from the README's schema-error column, and why.
README_DIFFERENCES = {
    # the README counted without checking "format": 10 plan URLs lack a scheme
    "bcycle-rtc-bike-share_las-vegas_v1.1_mdkt/system_pricing_plans.json": 11,
    # the gbfs.json schema packaged by gbfs_validator predates the rule that a
    # discovery file must list station_status or vehicle_status (see below)
    "tier_oslo_v2.3_otp/gbfs.json": 0,
}


def load(path: str) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads((GBFS_REAL / path).read_bytes())
    return doc


def total(findings: list[Finding]) -> int:
    return sum(f.count for f in findings if f.severity == "schema")


def plain_findings(feed_type: FeedType, version: str, doc: dict[str, Any]) -> list[Finding]:
    """Reference: every error reported by jsonschema_rs, aggregated, no grouping."""
    version_dir = schema_version_dir(version, doc)
    assert version_dir is not None
    validator = validate_module._validator(version_dir, feed_type.file_name(version_dir[1:]))
    assert validator is not None
    aggregator = validate_module._Aggregator()
    aggregator.add_errors(validator.iter_errors(doc))
    return aggregator.findings()


def as_set(findings: list[Finding]) -> set[tuple[str, str, str, int]]:
    return {(f.code, f.path, f.message, f.count) for f in findings}


@pytest.mark.parametrize("row", readme_rows(), ids=lambda row: row.path)
def test_capture_schema_errors_match_readme(row: Row) -> None:
    doc = load(row.path)
    version = row.version or "1.0"
    findings = validate_document(feed_type_of(row), version, doc)
    expected = README_DIFFERENCES.get(row.path, row.schema_errors)
    assert total(findings) == expected
    assert all(f.severity == "schema" for f in findings)
    if expected == 0:
        assert findings == []


def test_divvy_free_bike_status_is_aggregated() -> None:
    findings = validate_document(
        FeedType.VEHICLE_STATUS, "2.3", load("lyft-divvy_chicago_v2.3/free_bike_status.json")
    )
    assert total(findings) == 2488  # the README's count
    assert sorted((f.code, f.path, f.count) for f in findings) == [
        ("schema.type", "/data/bikes/*/is_disabled", 1244),
        ("schema.type", "/data/bikes/*/is_reserved", 1244),
    ]
    assert all('is not of type "boolean"' in f.message for f in findings)
    assert all("/properties/data/properties/bikes/items/properties/" in f.message for f in findings)


def test_divvy_station_status_is_aggregated() -> None:
    findings = validate_document(
        FeedType.STATION_STATUS, "2.3", load("lyft-divvy_chicago_v2.3/station_status.json")
    )
    assert total(findings) == 5433
    assert {(f.path, f.count) for f in findings} == {
        ("/data/stations/*/is_installed", 1811),
        ("/data/stations/*/is_renting", 1811),
        ("/data/stations/*/is_returning", 1811),
    }


@pytest.mark.parametrize(
    ("path", "feed_type", "version"),
    [
        ("lyft-divvy_chicago_v2.3/free_bike_status.json", FeedType.VEHICLE_STATUS, "2.3"),
        ("lyft-divvy_chicago_v2.3/station_status.json", FeedType.STATION_STATUS, "2.3"),
        ("lime_seattle_v1.0_mdkt/free_bike_status.json", FeedType.VEHICLE_STATUS, "1.0"),
        (
            "pbsc-bike-nordelta_nordelta-ar_v2.3_mdkt/station_information.json",
            FeedType.STATION_INFORMATION,
            "2.3",
        ),
    ],
)
def test_grouped_validation_equals_plain_validation(
    path: str, feed_type: FeedType, version: str
) -> None:
    doc = load(path)
    assert as_set(validate_document(feed_type, version, doc)) == as_set(
        plain_findings(feed_type, version, doc)
    )


def messy_vehicles(n: int, seed: int = 7) -> dict[str, Any]:
    rnd = random.Random(seed)
    bikes: list[Any] = []
    for i in range(n):
        bike: dict[str, Any] = {
            "bike_id": f"b{i}",
            "lat": 45.9,
            "lon": 6.1,
            "is_reserved": False,
            "is_disabled": False,
            "last_reported": 1_761_018_000 + i,
            "rental_uris": {"web": f"https://x.example/{i}"},
        }
        x = rnd.random()
        if x < 0.3:
            bike["is_reserved"] = 0
        elif x < 0.35:
            bike["lat"] = 95.0
        elif x < 0.4:
            del bike["lat"]
        elif x < 0.42:
            bike["current_fuel_percent"] = 55
        elif x < 0.45:
            bike["rental_uris"] = {"web": "not a uri"}
        elif x < 0.5:
            bike["last_reported"] = float(bike["last_reported"])  # 3.0 is an integer
        elif x < 0.52:
            bike["last_reported"] += 0.5
        elif x < 0.55:
            bike["bike_id"] = i
        elif x < 0.57:
            bike.update(station_id="s1")
            del bike["lat"], bike["lon"]
        elif x < 0.6:
            bike["vehicle_equipment"] = ["bogus"]
        elif x < 0.61:
            bikes.append("not an object")
        bikes.append(bike)
    return {"last_updated": "soon", "ttl": 0, "version": "2.3", "data": {"bikes": bikes}}


def test_grouped_validation_equals_plain_on_a_messy_document() -> None:
    doc = messy_vehicles(4000)
    grouped = validate_document(FeedType.VEHICLE_STATUS, "2.3", doc)
    assert as_set(grouped) == as_set(plain_findings(FeedType.VEHICLE_STATUS, "2.3", doc))
    paths = {f.path for f in grouped}
    assert {
        "/last_updated",
        "/data/bikes/*",
        "/data/bikes/*/lat",
        "/data/bikes/*/is_reserved",
    } <= paths


def test_findings_are_capped_with_a_truncation_row() -> None:
    # 60 languages, each with its own broken feed list: 60+ distinct findings
    languages = [a + b for a in "abc" for b in "abcdefghijklmnopqrst"]
    gbfs = {
        "last_updated": 1,
        "ttl": 0,
        "version": "2.3",
        "data": {lang: {"feeds": [{"name": "system_information", "url": 5}]} for lang in languages},
    }
    findings = validate_document(FeedType.GBFS, "2.3", gbfs)
    assert len(findings) == MAX_FINDINGS + 1
    truncated = findings[-1]
    assert (truncated.severity, truncated.code) == ("schema", "schema.truncated")
    # 60 url type errors + last_updated below its minimum = 61 kinds, 50 listed
    assert truncated.message.startswith("11 more kinds") and truncated.count == 11
    # the counts still add up to every error jsonschema_rs reports
    assert total(findings) == sum(
        1 for _ in validate_module._validator("v2.3", "gbfs").iter_errors(gbfs)
    )


def test_versions_and_missing_schemas() -> None:
    assert schema_version_dir("1.1", {"version": "1.1"}) == "v1.1"
    assert schema_version_dir("1.1", {}) == "v1.0"  # guessed 1.x: no version field
    assert schema_version_dir("v2.3") == "v2.3"
    assert schema_version_dir("3.1") == "v3.1-RC3"
    assert schema_version_dir("3.1-RC3") == "v3.1-RC3"
    assert schema_version_dir("nonsense") is None
    doc = {"last_updated": 1, "ttl": 0, "version": "2.0", "data": {}}
    for feed_type, version in [
        (FeedType.GEOFENCING_ZONES, "2.0"),
        (FeedType.VEHICLE_TYPES, "1.1"),
        (FeedType.GBFS_VERSIONS, "1.0"),
        (FeedType.MANIFEST, "2.3"),
        (FeedType.SYSTEM_HOURS, "3.0"),
    ]:
        (finding,) = validate_document(feed_type, version, doc)
        assert (finding.severity, finding.code) == ("info", "schema.unavailable")
    (unknown,) = validate_document(FeedType.VEHICLE_STATUS, "9.9", doc)
    assert (unknown.severity, unknown.code) == ("info", "schema.unknown_version")


def test_v3_1_uses_the_release_candidate_schema() -> None:
    doc = load("bolt_essen_v3.0_mdkt/vehicle_status.json")
    assert validate_document(FeedType.VEHICLE_STATUS, "3.0", doc) == []
    doc31 = {**doc, "version": "3.1-RC3"}
    findings = validate_document(FeedType.VEHICLE_STATUS, "3.1", doc31)
    assert all(f.severity == "schema" for f in findings)
    assert schema_for("v3.1-RC3", "vehicle_availability") is not None


def test_validators_are_compiled_once() -> None:
    doc = load("voi_marseille_v2.3/free_bike_status.json")
    validate_document(FeedType.VEHICLE_STATUS, "2.3", doc)
    before = validate_module._validator.cache_info()
    validate_document(FeedType.VEHICLE_STATUS, "2.3", doc)
    after = validate_module._validator.cache_info()
    assert after.misses == before.misses and after.hits == before.hits + 1


# -- the packaged schemas are the official ones -------------------------------


def _without_discovery_rule(schema: dict[str, Any]) -> dict[str, Any]:
    """Drop the feeds ``allOf`` that upstream added to gbfs.json after gbfs_validator's pin."""
    stripped = copy.deepcopy(schema)
    data = stripped["properties"]["data"]
    feeds = (
        data["properties"]["feeds"]
        if "feeds" in data.get("properties", {})
        else data["patternProperties"]["^[a-z]{2,3}(-[A-Z]{2})?$"]["properties"]["feeds"]
    )
    feeds.pop("allOf", None)
    return stripped


@pytest.mark.skipif(not GBFS_SCHEMAS.exists(), reason="shared/gbfs/schemas not available")
@pytest.mark.parametrize(
    "version_dir", ["v1.0", "v1.1", "v2.0", "v2.1", "v2.2", "v2.3", "v3.0", "v3.1-RC3"]
)
def test_packaged_schemas_match_the_official_ones(version_dir: str) -> None:
    official_files = sorted((GBFS_SCHEMAS / version_dir).glob("*.json"))
    assert official_files
    for official_file in official_files:
        official = json.loads(official_file.read_text(encoding="utf-8"))
        packaged = schema_for(version_dir, official_file.stem)
        assert packaged is not None, official_file.name
        if official == packaged:
            continue
        # Known drift, gbfs.json of 2.0+ only: the official schema also requires
        # station_status or vehicle_status/free_bike_status in the feed list.
        assert official_file.stem == "gbfs" and version_dir >= "v2.0", official_file.name
        assert _without_discovery_rule(official) == packaged


def test_v23_and_v30_feed_schemas_are_identical() -> None:
    for version_dir in ("v2.3", "v3.0"):
        names = [p.stem for p in (GBFS_SCHEMAS / version_dir).glob("*.json") if p.stem != "gbfs"]
        assert len(names) >= 11
        for name in names:
            official = json.loads(
                (GBFS_SCHEMAS / version_dir / f"{name}.json").read_text(encoding="utf-8")
            )
            assert schema_for(version_dir, name) == official, (version_dir, name)
