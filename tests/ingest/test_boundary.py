"""The boundary for operators' strings and numbers (gbfs_ingest/parse/boundary.py),
and how every parser applies it: printable hostile values are data and kept
verbatim; a record whose own id fails is dropped with a finding naming the
field and the reason; an optional field that fails is ignored, its record kept.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gbfs_ingest.model import FeedType, ParsedFeed
from gbfs_ingest.parse import ParseError, parse_bytes, parse_feed, read_document
from gbfs_ingest.parse.boundary import (
    MAX_ID_CHARS,
    MAX_TEXT_CHARS,
    id_problem,
    is_plain_json_text,
    text_problem,
    url_problem,
)

MB = 1024 * 1024
LAST_UPDATED = 1_761_018_446

# printable hostile strings: data, stored as published (encoding is the web's job)
PRINTABLE = {
    "backticks": "`rm -rf /`",
    "template": "${jndi:ldap://x.example/a}",
    "script": "</script><script>alert(1)</script>",
    "quotes": "\"'; DROP TABLE vehicle; --",
    "longest id": "x" * MAX_ID_CHARS,
    "unicode": "Vélo ß 自転車 🚲",
}
# (value, finding code, words of the reason) for ids
BAD_IDS = {
    "NUL": ("a\x00b", "value.bad_character", "U+0000 (a control character)"),
    "escape": ("\x1b[31mred", "value.bad_character", "U+001B (a control character)"),
    "DEL": ("a\x7fb", "value.bad_character", "U+007F (a control character)"),
    "line separator": ("a\u2028b", "value.bad_character", "U+2028 (a line separator)"),
    "paragraph separator": ("a\u2029b", "value.bad_character", "U+2029 (a paragraph separator)"),
    "right-to-left override": ("a\u202eb", "value.bad_character", "U+202E"),
    "zero width space": ("a\u200bb", "value.bad_character", "U+200B"),
    "newline": ("a\nb", "value.bad_character", "U+000A"),
    "one too long": ("x" * (MAX_ID_CHARS + 1), "value.too_long", "257 characters long"),
    "1 MB": ("x" * MB, "value.too_long", f"{MB} characters long (limit 256)"),
}


def test_the_checkers() -> None:
    for value in PRINTABLE.values():
        assert id_problem(value) is None, value
        assert text_problem(value) is None
    for value, code, reason in BAD_IDS.values():
        problem = id_problem(value)
        assert problem is not None and problem[0] == code and reason in problem[1], problem
    # names: tab, line breaks and U+2028/2029 are text; other controls and bidi controls not
    for text in ("Bahnstraße/ Löhstraße\n", "a\tb\r\nc", "a\u2028b\u2029", "\u00a0«\u202f»"):
        assert text_problem(text) is None, text
    for text in ("a\x00b", "a\x1bb", "a\u202eb", "a\u2066b", "\ud800"):
        assert text_problem(text) is not None, text
    assert text_problem("x" * (MAX_TEXT_CHARS + 1)) == (
        "value.too_long",
        f"is {MAX_TEXT_CHARS + 1} characters long (limit {MAX_TEXT_CHARS})",
    )
    assert url_problem("https://gbfs.op.example/fr/free_bike_status.json?key=1") is None
    for url, reason in [
        ("javascript:alert(1)", "scheme 'javascript'"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("gbfs.op.example/gbfs.json", "not an absolute URL"),
        ("https://user:pw@gbfs.op.example/", "credentials"),
        ("https://gbfs.op.example:99999/", "not a valid URL"),
        ("https://gbfs.op.example/a b", "U+0020"),
        ("https://gbfs.op.example/\x00", "U+0000"),
        ("https:///path", "no host"),
        ("https://op.example/" + "a" * 3000, "limit 2048"),
    ]:
        problem = url_problem(url)
        assert problem is not None and reason in problem[1], (url, problem)


def test_plain_json_text_needs_no_character_check() -> None:
    assert is_plain_json_text(b'{"a": "b\\"c\\\\d\\/e"}')
    for raw in (b'{"a": "\\u0000"}', b'{"a": "\\n"}', '{"a": "é"}'.encode(), b'{"a": "\x7f"}'):
        assert not is_plain_json_text(raw), raw


def bikes_doc(*records: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"last_updated": LAST_UPDATED, "ttl": 0, "version": "2.3"}
    doc.update(envelope)
    doc["data"] = {"bikes": list(records)}
    return doc


def bike(bike_id: Any, **fields: Any) -> dict[str, Any]:
    base = {"bike_id": bike_id, "lat": 45.9, "lon": 6.12, "is_reserved": False}
    return {**base, "is_disabled": False, **fields}


DEEP = "<a value nested 1,000 levels deep>"


def parse_both_ways(
    doc: dict[str, Any], feed_type: FeedType = FeedType.VEHICLE_STATUS
) -> ParsedFeed:
    """Through the bytes (plain-text shortcut) and through the decoded document (full
    character checks): both must give the same result. :data:`DEEP` strings become
    1,000-level nested lists (orjson writes no more than 255 levels)."""
    raw = orjson.dumps(doc).replace(orjson.dumps(DEEP), b"[" * 1000 + b"]" * 1000)
    from_bytes = parse_bytes(feed_type, raw, "2.3")
    from_doc = parse_feed(feed_type, orjson.loads(raw), "2.3")
    assert from_bytes.records == from_doc.records
    assert sorted(map(repr, from_bytes.findings)) == sorted(map(repr, from_doc.findings))
    return from_bytes


@pytest.mark.parametrize("name", sorted(PRINTABLE))
def test_printable_hostile_strings_are_stored_verbatim(name: str) -> None:
    value = PRINTABLE[name]
    doc = bikes_doc(
        bike(value, station_id=value, vehicle_type_id=value, pricing_plan_id=value),
        bike("ok"),
    )
    parsed = parse_both_ways(doc)
    assert parsed.invalid_records == 0 and parsed.findings == []
    first = parsed.records[0]
    assert (first.vehicle_id, first.station_id, first.vehicle_type_id, first.pricing_plan_id) == (
        value,
        value,
        value,
        value,
    )


@pytest.mark.parametrize("name", sorted(BAD_IDS))
def test_a_vehicle_with_a_bad_id_is_dropped_with_a_finding(name: str) -> None:
    value, code, reason = BAD_IDS[name]
    parsed = parse_both_ways(bikes_doc(bike("ok1"), bike(value), bike("ok2")))
    assert [v.vehicle_id for v in parsed.records] == ["ok1", "ok2"]
    assert parsed.invalid_records == 1
    (found,) = parsed.findings
    assert (found.severity, found.code, found.path) == ("error", code, "/data/bikes/*/bike_id")
    assert found.message.startswith("vehicle dropped: bike_id ") and reason in found.message
    assert len(found.message) <= 500


@pytest.mark.parametrize("field", ["station_id", "vehicle_type_id", "pricing_plan_id"])
@pytest.mark.parametrize("name", ["NUL", "1 MB", "line separator"])
def test_a_bad_reference_is_ignored_and_the_vehicle_kept(field: str, name: str) -> None:
    value, code, reason = BAD_IDS[name]
    parsed = parse_both_ways(bikes_doc(bike("b1", **{field: value}), bike("b2")))
    assert [v.vehicle_id for v in parsed.records] == ["b1", "b2"]
    assert getattr(parsed.records[0], field) is None
    (found,) = parsed.findings
    assert (found.severity, found.code, found.path) == ("warning", code, f"/data/bikes/*/{field}")
    assert found.message.startswith(f"{field} ignored: ") and reason in found.message


def test_rental_links_are_http_only() -> None:
    doc = bikes_doc(
        bike("deep", rental_uris={"android": "bolt://r/1", "ios": "bolt://r/1"}),
        bike("web", rental_uris={"android": "app://r", "web": "https://op.example/r/2"}),
        bike("js", rental_uris={"web": "javascript:alert(1)", "ios": "https://op.example/i"}),
    )
    parsed = parse_both_ways(doc)
    assert [v.rental_uri for v in parsed.records] == [
        None,
        "https://op.example/r/2",
        "https://op.example/i",
    ]
    (found,) = parsed.findings
    assert (found.code, found.path) == ("value.bad_url", "/data/bikes/*/rental_uris/web")


def test_huge_numbers_are_out_of_range_not_a_crash() -> None:
    digits = "9" * 25
    flags = '"is_installed": true, "is_renting": true, "is_returning": true'
    raw = (
        f'{{"last_updated": {LAST_UPDATED}, "ttl": {digits}, "version": "2.3", "data": {{'
        f'"stations": [{{"station_id": "s1", "num_bikes_available": {digits},'
        f' "num_docks_available": 3, {flags}, "last_reported": {digits}}},'
        f' {{"station_id": "s2", "num_bikes_available": "{"1" * MB}",'
        f' "num_docks_available": 1, {flags}}}]}}}}'
    ).encode()
    parsed = parse_bytes(FeedType.STATION_STATUS, raw, "2.3")
    assert parsed.ttl is None
    assert [s.num_vehicles_available for s in parsed.records] == [None, None]
    assert [s.num_docks_available for s in parsed.records] == [3, 1]
    codes = {(f.code, f.path) for f in parsed.findings}
    assert ("value.out_of_range", "/ttl") in codes
    assert ("value.out_of_range", "/data/stations/*/num_bikes_available") in codes
    assert ("value.invalid", "/data/stations/*/num_bikes_available") in codes  # the 1 MB string
    assert ("time.invalid", "/data/stations/*/last_reported") in codes or (
        "time.implausible",
        "/data/stations/*/last_reported",
    ) in codes


@pytest.mark.timeout(60)
def test_a_megabyte_of_digits_is_read_in_linear_time() -> None:
    """The number pattern once backtracked quadratically: 40,000 digits took 50 s."""
    digits = "1" * MB + "x"
    doc = bikes_doc(bike("b1", lat=digits, current_range_meters=digits, last_reported=digits))
    parsed = parse_both_ways(doc)
    assert parsed.invalid_records == 1  # no position (the strings are not numbers)
    assert all(len(f.message) <= 500 for f in parsed.findings)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested more than 1024 levels deep"),
        (b'{"data": {"bikes": ' + b"[" * 2000 + b"]" * 2000 + b"}}", "1024 levels"),
        (b'{"last_updated": NaN, "data": {"bikes": []}}', "not JSON"),
        (b'{"last_updated": Infinity, "data": {"bikes": []}}', "not JSON"),
        (b'{"last_updated": 1e999, "data": {"bikes": []}}', "beyond the range of a double"),
        (b'{"ttl": 1' + b"0" * 400 + b', "data": {"bikes": []}}', "beyond the range"),
        (b"\xff\xfe{}", "not JSON"),
        (b'{"data": ["not an object"]}', "'data' object list"),
        (b"[]", "top level is list"),
    ],
    ids=[
        "100k levels",
        "2000 levels",
        "NaN",
        "Infinity",
        "1e999",
        "400 digits",
        "UTF-16",
        "data",
        "list",
    ],
)
def test_unreadable_bodies(body: bytes, reason: str) -> None:
    with pytest.raises(ParseError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        read_document(body)


def test_deep_values_inside_a_readable_file_are_never_walked() -> None:
    """A 1,000-level value is within the decoder's limit: it is just an invalid value
    (a plain repr of it in a finding would raise RecursionError)."""
    deep = DEEP
    doc = bikes_doc(bike("b1", is_reserved=deep, rental_uris={"web": deep}), bike(deep), bike("b2"))
    parsed = parse_both_ways(doc)
    assert [v.vehicle_id for v in parsed.records] == ["b1", "b2"]
    assert parsed.invalid_records == 1
    assert all(len(f.message) <= 500 for f in parsed.findings)
    parsed = parse_both_ways(bikes_doc(bike("b1"), version=deep, ttl=deep, last_updated=deep))
    assert [v.vehicle_id for v in parsed.records] == ["b1"]
    assert {f.code for f in parsed.findings} >= {"coerce.version", "time.invalid", "value.invalid"}
    zones = {
        "last_updated": LAST_UPDATED,
        "ttl": 0,
        "version": "2.3",
        "data": {
            "geofencing_zones": {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [[[6, 45, deep], [6.1, 45, 1], [6.1, 45.1], [6, 45]]],
                        },
                        "properties": {"name": deep, "rules": [{"ride_allowed": deep}]},
                    }
                ],
            }
        },
    }
    parsed = parse_both_ways(zones, FeedType.GEOFENCING_ZONES)
    (zone,) = parsed.records
    assert zone.name is None
    # only the checked longitude and latitude are kept (the junk altitude is not)
    assert zone.geometry["coordinates"][0][0] == [6, 45]
    orjson.dumps(zone.geometry)  # storable as a document


def test_stations_systems_and_discovery_apply_the_boundary() -> None:
    info = {
        "last_updated": LAST_UPDATED,
        "ttl": 0,
        "version": "2.3",
        "data": {
            "stations": [
                {"station_id": "s\x00", "name": "NUL", "lat": 45.9, "lon": 6.1},
                {"station_id": "s2", "name": "Gare\x00", "lat": 45.9, "lon": 6.1},
                {"station_id": "s3", "name": PRINTABLE["script"], "lat": 45.9, "lon": 6.1},
                {"station_id": "s4", "name": "x" * MB, "lat": 45.9, "lon": 6.1, "region_id": "r\n"},
            ]
        },
    }
    parsed = parse_both_ways(info, FeedType.STATION_INFORMATION)
    assert [(s.station_id, s.name, s.region_id) for s in parsed.records] == [
        ("s2", None, None),
        ("s3", PRINTABLE["script"], None),
        ("s4", None, None),
    ]
    findings = {(f.severity, f.code, f.path) for f in parsed.findings}
    assert findings == {
        ("error", "value.bad_character", "/data/stations/*/station_id"),
        ("warning", "value.bad_character", "/data/stations/*/name"),
        ("warning", "value.too_long", "/data/stations/*/name"),
        ("warning", "value.bad_character", "/data/stations/*/region_id"),
    }
    system = {
        "last_updated": LAST_UPDATED,
        "ttl": 0,
        "version": "2.3",
        "data": {
            "system_id": "op",
            "language": "fr\x00" * 10,
            "name": "${name}",
            "timezone": "../../etc/passwd",
            "url": "javascript:alert(1)",
            "email": "a b@c",
        },
    }
    parsed = parse_both_ways(system, FeedType.SYSTEM_INFORMATION)
    (si,) = parsed.records
    assert (si.system_id, si.name, si.language, si.timezone, si.url, si.email) == (
        "op",
        "${name}",
        None,
        None,
        None,
        None,
    )
    assert {f.path for f in parsed.findings} == {
        "/data/language",
        "/data/timezone",
        "/data/url",
        "/data/email",
    }
    discovery = {
        "last_updated": LAST_UPDATED,
        "ttl": 0,
        "version": "2.3",
        "data": {
            "fr\x00": {"feeds": [{"name": "system_information", "url": "https://a/si.json"}]},
            "fr": {
                "feeds": [
                    {"name": "system_information", "url": "https://a.example/si.json"},
                    {"name": "free_bike_status", "url": "file:///etc/passwd"},
                    {"name": "station_status", "url": "https://u:p@b.example/ss.json"},
                    {"name": "x" * MB, "url": "https://a.example/x.json"},
                ]
            },
        },
    }
    parsed = parse_bytes(FeedType.GBFS, orjson.dumps(discovery), "2.3")
    assert parsed.discovery is not None
    assert parsed.discovery.languages == ["fr"]
    assert {ft.value: ref.url for ft, ref in parsed.discovery.feeds.items()} == {
        "system_information": "https://a.example/si.json"
    }
    assert parsed.invalid_records == 2 and parsed.discovery.unknown_feeds == []
    dropped = [f for f in parsed.findings if f.severity == "error"]
    assert [(f.code, f.path, f.count) for f in dropped] == [
        ("value.bad_url", "/data/fr/feeds/*/url", 2)
    ]
