"""Version detection, discovery (languages), manifest, gbfs_versions, envelopes."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gbfs_ingest.model import FeedType
from gbfs_ingest.parse import (
    ParseError,
    choose_language,
    detect_version,
    normalise_version,
    parse_bytes,
    parse_discovery,
    parse_feed,
    parse_manifest,
)
from tests.conftest import GBFS_REAL


def load(path: str) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads((GBFS_REAL / path).read_bytes())
    return doc


# -- versions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "declared", "expected"),
    [
        ({"version": "2.3", "data": {}}, None, ("2.3", False)),
        ({"version": "v2.3", "data": {}}, None, ("2.3", False)),
        ({"version": "3.1-RC3", "data": {}}, None, ("3.1", False)),
        ({"version": "3.1-RC2", "data": {}}, "2.3", ("3.1", False)),
        ({"version": 2.2, "data": {}}, None, ("2.2", False)),
        ({"version": "2.4", "data": {}}, None, ("2.3", True)),
        ({"version": "2", "data": {}}, None, ("2.3", True)),
        ({"data": {}}, "2.2", ("2.2", False)),
        ({"data": {}}, "v1.1", ("1.1", False)),
        ({"last_updated": "2025-10-21T04:12:17Z", "data": {}}, None, ("3.0", True)),
        ({"last_updated": "1761018446", "data": {}}, None, ("1.0", True)),
        ({"last_updated": 1, "data": {"feeds": []}}, None, ("3.0", True)),
        ({"last_updated": 1, "data": {"vehicles": []}}, None, ("3.0", True)),
        ({"last_updated": 1, "data": {"stations": [{"rental_uris": {}}]}}, None, ("1.1", True)),
        (
            {"last_updated": 1, "data": {"en": {"feeds": [{"name": "gbfs_versions"}]}}},
            None,
            ("1.1", True),
        ),
        ({"last_updated": 1, "data": {"stations": [{"station_id": "1"}]}}, None, ("1.0", True)),
        ({"version": "garbage", "data": {}}, None, ("1.0", True)),
        ({"version": "9.0", "data": {}}, "3.0", ("3.0", False)),
    ],
)
def test_detect_version(
    doc: dict[str, Any], declared: str | None, expected: tuple[str, bool]
) -> None:
    assert detect_version(doc, declared) == expected


def test_normalise_version() -> None:
    assert normalise_version("v1.1") == ("1.1", True)
    assert normalise_version(" V3.0 ") == ("3.0", True)
    assert normalise_version("3.2") == ("3.1", False)
    assert normalise_version(None) == (None, False)
    assert normalise_version(True) == (None, False)


def test_parse_feed_prefers_the_files_own_version() -> None:
    doc = {"last_updated": 1_761_018_446, "ttl": 0, "version": "2.2", "data": {"bikes": []}}
    parsed = parse_feed(FeedType.VEHICLE_STATUS, doc, "2.3")
    assert parsed.version == "2.2"
    assert any(f.code == "version.mismatch" for f in parsed.findings)
    no_version = {"last_updated": 1_761_018_446, "ttl": 0, "data": {"bikes": []}}
    assert parse_feed(FeedType.VEHICLE_STATUS, no_version, "2.3").version == "2.3"
    guessed = parse_feed(FeedType.VEHICLE_STATUS, no_version, None)
    assert guessed.version == "1.0"
    assert [f.code for f in guessed.findings if f.code.startswith("version")] == ["version.guessed"]


# -- discovery ----------------------------------------------------------------


def test_choose_language() -> None:
    assert choose_language(["en", "fr", "es"], ["fr", "en"]) == ("fr", True)
    assert choose_language(["en", "fr", "es"], ["de"]) == ("en", False)
    assert choose_language(["de", "en"], []) == ("en", False)
    assert choose_language(["nb"], ["fr", "en"]) == ("nb", False)
    assert choose_language(["fr"], ["fr-CA"]) == ("fr", True)
    assert choose_language(["en-US", "fr-CA"], ["FR"]) == ("fr-CA", True)
    assert choose_language([], ["fr"]) == (None, False)


def test_discovery_language_selection_divvy() -> None:
    doc = load("lyft-divvy_chicago_v2.3/gbfs.json")
    french = parse_discovery(doc, ["fr", "en"])
    assert (french.language, french.languages) == ("fr", ["en", "fr", "es"])
    assert french.feeds[FeedType.VEHICLE_STATUS].name == "free_bike_status"
    assert "/fr/" in french.feeds[FeedType.SYSTEM_INFORMATION].url
    assert parse_discovery(doc, ["de"]).language == "en"
    assert parse_discovery(doc, []).language == "en"
    parsed = parse_feed(FeedType.GBFS, doc, None, languages=["de"])
    assert parsed.discovery is not None and parsed.discovery.language == "en"
    assert any(f.code == "discovery.language_fallback" for f in parsed.findings)


def test_discovery_language_selection_nextbike_and_lillestrom() -> None:
    nextbike = load("nextbike-city-bike-linz_linz_v2.3_mdkt/gbfs.json")
    assert parse_discovery(nextbike, ["fr", "en"]).language == "en"
    assert parse_discovery(nextbike, ["de"]).language == "de"
    assert parse_discovery(nextbike, []).language == "en"  # "en" before the first offered
    only_nb = parse_discovery(
        load("lillestrom-bysykkel_lillestrom_v2.2_otp/gbfs.json"), ["fr", "en"]
    )
    assert (only_nb.language, only_nb.version) == ("nb", "2.2")


def test_discovery_v3_is_flat_and_languageless() -> None:
    disc = parse_discovery(load("bolt_essen_v3.0_mdkt/gbfs.json"), ["fr"])
    assert (disc.version, disc.version_detected, disc.language, disc.languages) == (
        "3.0",
        False,
        None,
        [],
    )
    assert disc.feeds[FeedType.VEHICLE_STATUS].name == "vehicle_status"
    assert (
        disc.last_updated is not None
        and disc.last_updated.isoformat() == "2025-10-21T04:12:17+00:00"
    )


def test_discovery_unknown_feeds_and_guessed_version() -> None:
    disc = parse_discovery(load("pbsc-pogoh_pittsburgh_v1.x_mdkt/gbfs.json"), ["en"])
    assert disc.unknown_feeds == ["nearby_stations"]
    assert (disc.version, disc.version_detected) == ("1.0", True)
    assert FeedType.STATION_STATUS in disc.feeds


def test_discovery_odd_entries() -> None:
    doc = {
        "last_updated": 1_761_018_446,
        "ttl": 0,
        "version": "2.3",
        "data": {
            "en": {
                "feeds": [
                    {"name": "station_status", "url": "https://x/ss.json"},
                    {"name": "station_status", "url": "https://x/ss2.json"},
                    {"name": "system_information"},
                    "junk",
                    {"name": "vendor_feed", "url": "https://x/v.json"},
                ]
            }
        },
    }
    parsed = parse_feed(FeedType.GBFS, doc, None)
    assert parsed.discovery is not None
    assert list(parsed.discovery.feeds) == [FeedType.STATION_STATUS]
    assert parsed.discovery.feeds[FeedType.STATION_STATUS].url == "https://x/ss.json"
    assert parsed.discovery.unknown_feeds == ["vendor_feed"]
    codes = {f.code: f.count for f in parsed.findings}
    assert codes == {
        "discovery.duplicate_feed": 1,
        "discovery.bad_entry": 2,
        "discovery.unknown_feed": 1,
    }


def test_manifest() -> None:
    doc = {
        "last_updated": "2025-10-21T04:12:17Z",
        "ttl": 0,
        "version": "3.0",
        "data": {
            "datasets": [
                {
                    "system_id": "a",
                    "versions": [
                        {"version": "2.3", "url": "https://x/a/2.3/gbfs.json"},
                        {"version": "3.0", "url": "https://x/a/3.0/gbfs.json"},
                    ],
                },
                {"versions": []},
            ]
        },
    }
    (entry,) = parse_manifest(doc)
    assert entry.system_id == "a"
    assert entry.versions == {
        "2.3": "https://x/a/2.3/gbfs.json",
        "3.0": "https://x/a/3.0/gbfs.json",
    }
    parsed = parse_feed(FeedType.MANIFEST, doc, "3.0")
    assert parsed.manifest is not None and len(parsed.manifest) == 1
    assert [f.code for f in parsed.findings] == ["record.missing_id"]


def test_gbfs_versions_records() -> None:
    parsed = parse_feed(
        FeedType.GBFS_VERSIONS, load("lyft-divvy_chicago_v2.3/gbfs_versions.json"), "2.3"
    )
    assert parsed.records == [
        ("1.1", "https://gbfs.lyft.com/gbfs/1.1/chi/gbfs.json"),
        ("2.3", "https://gbfs.lyft.com/gbfs/2.3/chi/gbfs.json"),
    ]
    (finding,) = parsed.findings
    assert (finding.code, finding.count) == ("coerce.version", 2)


# -- envelopes and bodies -----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "empty body"),
        (b"<html><body>502 Bad Gateway</body></html>", "<html>"),
        (b'{"data": {"bikes": [', "not JSON"),
        (b"[1, 2]", "top level is list"),
        (b'{"last_updated": 1, "ttl": 0}', "'data' object missing"),
        (b'{"last_updated": 1, "data": []}', "'data' object list"),
    ],
)
def test_parse_bytes_rejects_non_gbfs_bodies(body: bytes, fragment: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_bytes(FeedType.VEHICLE_STATUS, body)
    assert fragment in str(info.value)


def test_parse_bytes_accepts_a_bom_and_uses_the_hint() -> None:
    body = b'\xef\xbb\xbf{"last_updated": 1761018446, "ttl": 0, "data": {"bikes": []}}'
    parsed = parse_bytes(FeedType.VEHICLE_STATUS, body, "2.2")
    assert parsed.version == "2.2"
    assert {f.code for f in parsed.findings} == {"envelope.bom", "feed.empty"}


def test_envelope_quirks() -> None:
    doc = {"last_updated": 1_761_018_446_000, "ttl": -5, "version": "2.3", "data": {"bikes": []}}
    parsed = parse_feed(FeedType.VEHICLE_STATUS, doc, None)
    assert parsed.last_updated is not None and parsed.last_updated.year == 2025
    assert parsed.ttl is None
    codes = {f.code for f in parsed.findings}
    assert {"time.milliseconds", "value.out_of_range", "feed.empty"} <= codes
    no_time = parse_feed(FeedType.VEHICLE_STATUS, {"data": {"bikes": []}}, "2.3")
    assert no_time.last_updated is None
    assert any(f.code == "envelope.no_last_updated" for f in no_time.findings)


@pytest.mark.parametrize(
    ("declared", "severity"), [("v2.3", "warning"), ("2.4", "warning"), ("3.1-RC3", "info")]
)
def test_version_spelling_findings(declared: str, severity: str) -> None:
    last_updated: Any = "2025-10-21T04:12:17Z" if declared.startswith("3") else 1_761_018_446
    doc = {"last_updated": last_updated, "ttl": 0, "version": declared, "data": {"bikes": []}}
    parsed = parse_feed(FeedType.VEHICLE_STATUS, doc, None)
    (found,) = [f for f in parsed.findings if f.code == "coerce.version"]
    assert found.severity == severity
