"""Every real capture in shared/gbfs/real parses, with the counts its README states.

The expected counts are read from the README §3 per-folder tables at test
time, so the test follows the corpus documentation. A count is the number of
records published: kept + dropped must equal it, and only the records listed
in :data:`DROPPED` may be dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import orjson
import pytest

from gbfs_ingest.model import FeedType, Station, Vehicle
from gbfs_ingest.parse import detect_version, parse_bytes
from tests.conftest import GBFS_REAL

README = GBFS_REAL.parent / "README.md"

pytestmark = pytest.mark.skipif(not README.exists(), reason="shared/gbfs corpus not available")

# records legitimately dropped: capture file -> number dropped
DROPPED = {
    # HSL (OTP fixture): station_id null, station_id "" and lat/lon null on three
    # different stations (the README describes them as one all-null station).
    "hsl-citybikes_helsinki_v1.x_otp/station_information.json": 3,
    # Bay Wheels lists each of its 6 regions twice.
    "lyft-baywheels_sf-bay_v1.x_transitland/system_regions.json": 6,
    # OpenTripPlanner's test fixtures list their feeds as file: URLs, which the
    # boundary refuses (only http and https; see gbfs_ingest/parse/boundary.py).
    "hsl-citybikes_helsinki_v1.x_otp/gbfs.json": 3,
    "lillestrom-bysykkel_lillestrom_v2.2_otp/gbfs.json": 6,
    "tier_oslo_v2.3_otp/gbfs.json": 2,
}

# gbfs_versions.json whose data is {}: one error finding, nothing to drop
NO_VERSIONS_ARRAY = "bcycle-rtc-bike-share_las-vegas_v1.1_mdkt/gbfs_versions.json"

# version-less files: the version guessed from their shape
GUESSED_1_1 = {  # rental_uris (added in 1.1) present
    "capital-bikeshare_washington-dc_v1.x/station_information.json",
    "lyft-baywheels_sf-bay_v1.x_timeseries_2023/station_information.json",
    "lyft-baywheels_sf-bay_v1.x_transitland/free_bike_status.json",
    "lyft-baywheels_sf-bay_v1.x_transitland/station_information.json",
    "pbsc-pogoh_pittsburgh_v1.x_mdkt/station_information.json",
}


@dataclass(frozen=True)
class Row:
    """One row of a README §3.2 table."""

    path: str  # relative to real/
    feed: str
    version: str | None  # None: the file has no version field
    count: int | None
    schema_errors: int
    schema_version: str


_SECTION = re.compile(r"^#### `real/([^`]+)`", re.M)
_ROW = re.compile(
    r"^\| ([^|]+\.json) \| (\w+) \| ([^|]+) \| [^|]+ \| [^|]+ \| ([^|]+) \| ([^|]+) \|$"
)


@cache
def readme_rows() -> tuple[Row, ...]:
    text = README.read_text(encoding="utf-8")
    sections = list(_SECTION.finditer(text))
    rows: list[Row] = []
    for index, section in enumerate(sections):
        end = sections[index + 1].start() if index + 1 < len(sections) else len(text)
        for line in text[section.end() : end].splitlines():
            match = _ROW.match(line.strip())
            if match is None:
                continue
            name, feed, version, count, errors = (g.strip() for g in match.groups())
            schema_version, _, n_errors = errors.partition(":")
            rows.append(
                Row(
                    path=f"{section.group(1)}/{name}",
                    feed=feed,
                    version=None if version == "—" else version,
                    count=None if count == "—" else int(count),
                    schema_errors=int(n_errors),
                    schema_version=schema_version.strip(),
                )
            )
    return tuple(rows)


def feed_type_of(row: Row) -> FeedType:
    feed_type = FeedType.from_name(row.feed)
    assert feed_type is not None, row.feed
    return feed_type


def test_readme_tables_cover_every_capture() -> None:
    listed = {row.path for row in readme_rows()}
    on_disk = {str(p.relative_to(GBFS_REAL)) for p in GBFS_REAL.rglob("*.json")}
    assert listed == on_disk
    assert len(listed) > 150


@pytest.mark.parametrize("row", readme_rows(), ids=lambda row: row.path)
def test_capture_parses_with_readme_count(row: Row) -> None:
    raw = (GBFS_REAL / row.path).read_bytes()
    parsed = parse_bytes(feed_type_of(row), raw)
    dropped = DROPPED.get(row.path, 0)
    assert parsed.invalid_records == dropped
    if row.count is not None:
        assert len(parsed.records) + parsed.invalid_records == row.count
    assert parsed.last_updated is not None and parsed.last_updated.tzinfo is not None
    for finding in parsed.findings:
        assert finding.count >= 1
        assert finding.severity in ("error", "warning", "info")
    # an "error" finding means a dropped record, except BCycle's record-less gbfs_versions
    errors = sum(f.count for f in parsed.findings if f.severity == "error")
    assert errors == dropped + (row.path == NO_VERSIONS_ARRAY)


@pytest.mark.parametrize("row", readme_rows(), ids=lambda row: row.path)
def test_version_detection(row: Row) -> None:
    doc = orjson.loads((GBFS_REAL / row.path).read_bytes())
    version, guessed = detect_version(doc)
    if row.version is not None:
        assert (version, guessed) == (row.version, False)
    else:
        expected = "1.1" if row.path in GUESSED_1_1 else "1.0"
        assert (version, guessed) == (expected, True)


def _parse(path: str, feed_type: FeedType) -> list:  # type: ignore[type-arg]
    return parse_bytes(feed_type, (GBFS_REAL / path).read_bytes()).records


def test_vehicle_records_are_normalised() -> None:
    vehicles = _parse("bolt_essen_v3.0_mdkt/vehicle_status.json", FeedType.VEHICLE_STATUS)
    assert len(vehicles) == 1360
    assert all(isinstance(v, Vehicle) and v.lat is not None for v in vehicles)
    assert all(0 <= (v.current_fuel_percent or 0) <= 1 for v in vehicles)
    first = vehicles[0]
    assert first.vehicle_id == "41880a14-da30-48d5-8c66-a2cb3e568a70"
    # Bolt publishes only app deep links (bolt://...): no http(s) link for a web page
    assert first.rental_uri is None


def test_lime_v1_legacy_vehicle_types() -> None:
    vehicles = _parse("lime_seattle_v1.0_mdkt/free_bike_status.json", FeedType.VEHICLE_STATUS)
    types = [v.vehicle_type_id for v in vehicles]
    assert (types.count("legacy:scooter"), types.count("legacy:bike")) == (8450, 3590)
    # 0/1 integers read as booleans: two reserved scooters, none disabled
    assert sum(v.is_reserved is True for v in vehicles) == 2
    assert all(v.is_disabled is False for v in vehicles)


def test_lime_catch_all_station_is_virtual() -> None:
    (station,) = _parse("lime_seattle_v1.0_mdkt/station_status.json", FeedType.STATION_STATUS)
    assert isinstance(station, Station)
    assert station.is_virtual
    assert station.num_vehicles_available == 12040
    assert station.num_docks_available is None  # 999999 is a sentinel


def test_renningen_docked_vehicles_without_position_are_kept() -> None:
    path = "mobidata-bw-oekostadt-renningen-carsharing_renningen_v2.3_mdkt/free_bike_status.json"
    vehicles = _parse(path, FeedType.VEHICLE_STATUS)
    assert len(vehicles) == 40
    assert all(v.lat is None and v.lon is None and v.station_id for v in vehicles)


def test_baywheels_sentinel_last_reported() -> None:
    path = (
        "lyft-baywheels_sf-bay_v1.x_timeseries_2023/station_status/station_status_1689790835.json"
    )
    parsed = parse_bytes(FeedType.STATION_STATUS, (GBFS_REAL / path).read_bytes())
    unknown = [s for s in parsed.records if s.last_reported is None]
    assert len(unknown) == 1
    (finding,) = [f for f in parsed.findings if f.code == "time.implausible"]
    assert finding.count == 1 and "86400" in finding.message


def test_citiz_v3_timestamps_are_utc() -> None:
    path = "citiz_hauts-de-france_v3.0_mdkt/vehicle_status.json"
    parsed = parse_bytes(FeedType.VEHICLE_STATUS, (GBFS_REAL / path).read_bytes())
    assert parsed.last_updated is not None
    assert parsed.last_updated.isoformat() == "2025-10-21T04:14:21.298997+00:00"
    first = parsed.records[0]
    assert first.last_reported.isoformat() == "2025-10-20T18:37:36.488300+00:00"


def test_bolt_v3_geofencing_mixed_vocabulary_and_global_rules() -> None:
    raw = (GBFS_REAL / "bolt_essen_v3.0_mdkt/geofencing_zones.json").read_bytes()
    parsed = parse_bytes(FeedType.GEOFENCING_ZONES, raw)
    assert len(parsed.records) == 522
    assert all(rule.vehicle_type_ids for zone in parsed.records for rule in zone.rules)
    (finding,) = [f for f in parsed.findings if f.code == "geofencing.v2_key"]
    assert finding.count == 522
    (rule,) = parsed.global_rules
    assert (rule.ride_start_allowed, rule.ride_end_allowed, rule.ride_through_allowed) == (
        True,
        False,
        False,
    )


def test_voi_synthetic_last_reported_is_flagged() -> None:
    parsed = parse_bytes(
        FeedType.VEHICLE_STATUS,
        (GBFS_REAL / "voi_marseille_v2.3/free_bike_status.json").read_bytes(),
    )
    codes = {f.code for f in parsed.findings}
    assert "vehicle.synthetic_last_reported" in codes


def test_every_capture_folder_has_a_readme_section() -> None:
    folders = {p.name for p in GBFS_REAL.iterdir() if p.is_dir()}
    sections = {Path(row.path).parts[0] for row in readme_rows()}
    assert folders == sections
