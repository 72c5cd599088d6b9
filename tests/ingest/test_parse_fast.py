"""The typed fast path for vehicle files gives exactly what the tolerant parser gives.

It may decline (return None) whenever a file is not clean; when it accepts one,
the vehicles and the findings must be identical to :func:`parse_bytes`.
"""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest

from gbfs_ingest.model import FeedType
from gbfs_ingest.parse import ParseError, detect_version, parse_bytes
from gbfs_ingest.parse.vehicles_fast import parse_vehicle_status_fast
from tests.conftest import GBFS_REAL

CAPTURES = sorted(
    [*GBFS_REAL.glob("*/free_bike_status*.json"), *GBFS_REAL.glob("*/vehicle_status*.json")]
)


def _same(body: bytes, declared: str) -> bool:
    """Assert fast == tolerant when the fast path accepts; return whether it did."""
    fast = parse_vehicle_status_fast(body, declared)
    slow = parse_bytes(FeedType.VEHICLE_STATUS, body, declared)
    if fast is None:
        return False
    assert fast.records == slow.records
    assert [(v.current_range_meters, v.last_reported) for v in fast.records] == [
        (v.current_range_meters, v.last_reported) for v in slow.records
    ]
    assert sorted(map(repr, fast.findings)) == sorted(map(repr, slow.findings))
    assert (fast.version, fast.last_updated, fast.ttl, fast.invalid_records) == (
        slow.version,
        slow.last_updated,
        slow.ttl,
        slow.invalid_records,
    )
    return True


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_real_captures_agree_with_the_tolerant_parser(path: Path) -> None:
    body = path.read_bytes()
    declared, _ = detect_version(orjson.loads(body))
    _same(body, declared)


def test_several_real_captures_take_the_fast_path() -> None:
    accepted = []
    for path in CAPTURES:
        body = path.read_bytes()
        declared, _ = detect_version(orjson.loads(body))
        if _same(body, declared):
            accepted.append(path.parent.name)
    assert len(accepted) >= 3, accepted


def _clean(n: int = 30, v3: bool = False) -> dict:
    rng = random.Random(5)
    key = "vehicle_id" if v3 else "bike_id"
    recs = [
        {
            key: f"id{i}",
            "lat": round(45.9 + rng.random() / 50, 6),
            "lon": round(6.1 + rng.random() / 50, 6),
            "is_reserved": False,
            "is_disabled": i % 7 == 0,
            "vehicle_type_id": "scooter",
            "current_range_meters": rng.randint(0, 30000),
            "current_fuel_percent": round(rng.random(), 2),
            "last_reported": f"2026-11-02T08:00:0{i % 10}Z" if v3 else 1793606400 + i,
            "rental_uris": {"android": f"app://{i}", "web": f"https://x/{i}"},
        }
        for i in range(n)
    ]
    data = {"vehicles": recs} if v3 else {"bikes": recs}
    last = "2026-11-02T08:01:00Z" if v3 else 1793606460
    return {"last_updated": last, "ttl": 0, "version": "3.0" if v3 else "2.3", "data": data}


@pytest.mark.parametrize("v3", [False, True])
def test_clean_files_are_accepted(v3: bool) -> None:
    assert _same(orjson.dumps(_clean(v3=v3)), "3.0" if v3 else "2.3")


QUIRKS = {
    "string coordinates": lambda d, r: r.__setitem__("lat", str(r["lat"])),
    "0/1 booleans": lambda d, r: r.__setitem__("is_reserved", 0),
    "missing boolean": lambda d, r: r.pop("is_disabled"),
    "empty id": lambda d, r: r.__setitem__("bike_id", ""),
    "numeric id": lambda d, r: r.__setitem__("bike_id", 12),
    "duplicate id": lambda d, r: r.__setitem__("bike_id", "id0"),
    "null island": lambda d, r: (r.__setitem__("lat", 0), r.__setitem__("lon", 0.0)),
    "near null island": lambda d, r: (r.__setitem__("lat", 1e-7), r.__setitem__("lon", 0.0)),
    "out of range": lambda d, r: r.__setitem__("lat", 95.0),
    "no position, at a station": lambda d, r: (
        r.pop("lat"),
        r.pop("lon"),
        r.__setitem__("station_id", "s1"),
    ),
    "null position": lambda d, r: r.__setitem__("lon", None),
    "fuel 0-100": lambda d, r: r.__setitem__("current_fuel_percent", 55),
    "negative range": lambda d, r: r.__setitem__("current_range_meters", -3),
    "legacy type": lambda d, r: (r.pop("vehicle_type_id"), r.__setitem__("type", "scooter")),
    "float timestamp": lambda d, r: r.__setitem__("last_reported", 1793606400.5),
    "implausible timestamp": lambda d, r: r.__setitem__("last_reported", 12),
    "future timestamp": lambda d, r: r.__setitem__("last_reported", 1893606400),
    "rental_uris not an object": lambda d, r: r.__setitem__("rental_uris", "x"),
    "record not an object": lambda d, r: d["data"]["bikes"].append(3),
    "no version": lambda d, r: d.pop("version"),
    "version v2.3": lambda d, r: d.__setitem__("version", "v2.3"),
    "string last_updated": lambda d, r: d.__setitem__("last_updated", "1793606460"),
    "negative ttl": lambda d, r: d.__setitem__("ttl", -1),
    "vehicles key in 2.3": lambda d, r: d.__setitem__("data", {"vehicles": d["data"]["bikes"]}),
}


# quirks the fast path reads itself (the others send the file to the tolerant parser)
FAST_QUIRKS = {
    "future timestamp",
    "implausible timestamp",
    "negative ttl",
    "rental_uris not an object",
    "string last_updated",
}


@pytest.mark.parametrize("quirk", sorted(QUIRKS))
def test_quirks_give_the_same_result_either_way(quirk: str) -> None:
    doc = _clean()
    QUIRKS[quirk](doc, doc["data"]["bikes"][3] if "bikes" in doc["data"] else {})
    assert _same(orjson.dumps(doc), "2.3") == (quirk in FAST_QUIRKS)


_PRINTABLE = "`${jndi:x}</script>\"' Vélo 🚲"
_DEEP = "<nested 900 levels>"
_HUGE = "<an integer of 25 digits>"  # beyond 64 bits: orjson does not write it
# hostile values in record 3: (field, value, does the fast path accept the file?)
HOSTILE: dict[str, tuple[str, object, bool | None]] = {
    "printable id": ("bike_id", _PRINTABLE, True),
    "printable station": ("station_id", _PRINTABLE, True),
    "printable type": ("vehicle_type_id", _PRINTABLE, True),
    "printable plan": ("pricing_plan_id", _PRINTABLE, True),
    "longest id": ("bike_id", "i" * 256, True),
    "NUL id": ("bike_id", "a\x00b", False),
    "escape id": ("bike_id", "\x1b[2J", False),
    "U+2028 id": ("bike_id", "a\u2028b", False),
    "U+2029 station": ("station_id", "a\u2029b", False),
    "bidi type": ("vehicle_type_id", "a\u202eb", False),
    "DEL plan": ("pricing_plan_id", "a\x7fb", False),
    "id one too long": ("bike_id", "i" * 257, False),
    "1 MB id": ("bike_id", "i" * 1024 * 1024, False),
    "1 MB home station": ("home_station_id", "h" * 1024 * 1024, False),
    "javascript link": ("rental_uris", {"web": "javascript:alert(1)"}, False),
    "link with credentials": ("rental_uris", {"web": "https://u:p@x.example/"}, False),
    "1 MB link": ("rental_uris", {"web": "https://x.example/" + "a" * 1024 * 1024}, False),
    "deep link": ("rental_uris", {"web": _DEEP}, None),
    "deep unknown field": ("x_extra", _DEEP, None),
    "huge range": ("current_range_meters", _HUGE, None),
    "huge last_reported": ("last_reported", _HUGE, None),
    "u64 last_reported": ("last_reported", 2**64 - 1, None),
    "1 MB of digits": ("current_range_meters", "1" * 1024 * 1024, False),
}


@pytest.mark.parametrize("key", ["ttl", "last_updated"])
@pytest.mark.parametrize("digits", [19, 20, 25, 400])
def test_huge_envelope_numbers_give_the_same_result_either_way(key: str, digits: int) -> None:
    body = orjson.dumps(_clean()).replace(
        f'"{key}":'.encode() + str(_clean()[key]).encode(), f'"{key}":{"9" * digits}'.encode()
    )
    assert b"9" * digits in body
    if digits > 308:  # beyond a double: the file cannot be read at all
        assert parse_vehicle_status_fast(body, "2.3") is None
        with pytest.raises(ParseError, match="beyond the range of a double"):
            parse_bytes(FeedType.VEHICLE_STATUS, body, "2.3")
        return
    assert _same(body, "2.3") is False  # a finding: the tolerant path's job
    slow = parse_bytes(FeedType.VEHICLE_STATUS, body, "2.3")
    assert len(slow.records) == 30 and (getattr(slow, key) is None)


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_values_give_the_same_result_either_way(case: str) -> None:
    field, value, accepted = HOSTILE[case]
    doc = _clean()
    doc["data"]["bikes"][3][field] = value
    body = orjson.dumps(doc).replace(orjson.dumps(_DEEP), b"[" * 900 + b"]" * 900)
    body = body.replace(orjson.dumps(_HUGE), b"9" * 25)
    fast_took_it = _same(body, "2.3")
    if accepted is not None:
        assert fast_took_it == accepted
    slow = parse_bytes(FeedType.VEHICLE_STATUS, body, "2.3")
    if accepted is False and field == "bike_id":
        assert len(slow.records) == 29 and slow.invalid_records == 1
    else:
        assert len(slow.records) == 30
    if accepted:
        attribute = "vehicle_id" if field == "bike_id" else field
        assert slow.findings == [] and getattr(slow.records[3], attribute) == value


def test_a_bom_or_another_version_family_declines() -> None:
    body = orjson.dumps(_clean())
    assert parse_vehicle_status_fast(b"\xef\xbb\xbf" + body, "2.3") is None
    assert parse_vehicle_status_fast(body, "3.0") is None
    assert parse_vehicle_status_fast(body, None) is None
    assert parse_vehicle_status_fast(b"{not json", "2.3") is None


def test_a_memo_reuses_unchanged_records_and_changes_nothing_else() -> None:
    from gbfs_ingest.parse.vehicle_memo import VehicleMemo

    memo = VehicleMemo()
    doc = _clean(200)
    bikes = doc["data"]["bikes"]
    previous: dict[str, object] = {}
    for k in range(6):
        doc["last_updated"] += 60
        if k:
            for r in bikes[k * 10 : k * 10 + 15]:  # moves, a state change, a new id
                r["lat"] = round(r["lat"] + 0.001, 6)
                r["is_disabled"] = not r["is_disabled"]
            bikes[k]["bike_id"] = f"new{k}"
        if k == 3:  # one record with an implausible time: never remembered
            bikes[50]["last_reported"] = 12
        if k == 5:
            bikes[50]["last_reported"] = 1793606400
        body = orjson.dumps(doc)
        fast = parse_vehicle_status_fast(body, "2.3", memo)
        slow = parse_bytes(FeedType.VEHICLE_STATUS, body, "2.3")
        assert fast is not None
        assert fast.records == slow.records
        assert sorted(map(repr, fast.findings)) == sorted(map(repr, slow.findings))
        reused = sum(1 for v in fast.records if previous.get(v.vehicle_id) is v)
        if k:
            assert 150 <= reused <= 185  # the untouched records are the previous objects
        previous = {v.vehicle_id: v for v in fast.records}
        assert sum(memo.remembered) == len(bikes) - (1 if k in (3, 4) else 0)


def test_a_memo_is_dropped_for_an_older_file_or_another_version() -> None:
    from gbfs_ingest.parse.vehicle_memo import VehicleMemo

    memo = VehicleMemo()
    doc = _clean(50)
    # far in the future of an older file: implausible there, plausible in the newer one
    doc["data"]["bikes"][0]["last_reported"] = doc["last_updated"] + 86_400 + 30
    doc["last_updated"] += 60
    newer = parse_vehicle_status_fast(orjson.dumps(doc), "2.3", memo)
    assert newer is not None and newer.records[0].last_reported is not None
    doc["last_updated"] -= 60
    body = orjson.dumps(doc)
    older = parse_vehicle_status_fast(body, "2.3", memo)
    slow = parse_bytes(FeedType.VEHICLE_STATUS, body, "2.3")
    assert older is not None and older.records == slow.records
    assert older.records[0].last_reported is None
    assert sorted(map(repr, older.findings)) == sorted(map(repr, slow.findings))


def test_a_file_declined_after_a_memo_leaves_no_stale_memo() -> None:
    from gbfs_ingest.parse.vehicle_memo import VehicleMemo

    memo = VehicleMemo()
    doc = _clean(50)
    assert parse_vehicle_status_fast(orjson.dumps(doc), "2.3", memo) is not None
    doc["data"]["bikes"].append(dict(doc["data"]["bikes"][0]))  # a duplicate record
    assert parse_vehicle_status_fast(orjson.dumps(doc), "2.3", memo) is None
    assert len(memo) == 0


@pytest.mark.parametrize("odd", ["none", "milliseconds", "missing", "implausible"])
def test_the_synthetic_last_reported_finding_is_decided_the_same_way(odd: str) -> None:
    """Every vehicle at the same instant is a fake last_reported; one odd record."""
    from gbfs_ingest.parse.vehicle_memo import VehicleMemo

    doc = _clean(40)
    same = 1793606400
    for bike in doc["data"]["bikes"]:
        bike["last_reported"] = same
    odd_bike = doc["data"]["bikes"][7]
    if odd == "milliseconds":
        odd_bike["last_reported"] = same * 1000
    elif odd == "missing":
        odd_bike.pop("last_reported")
    elif odd == "implausible":
        odd_bike["last_reported"] = 12
    memo = VehicleMemo()
    for step in range(2):  # alone, then against the memo of the same file
        doc["last_updated"] += 60 * step
        body = orjson.dumps(doc)
        assert _same(body, "2.3")
        slow = parse_bytes(FeedType.VEHICLE_STATUS, body, "2.3")
        fast = parse_vehicle_status_fast(body, "2.3", memo)
        assert fast is not None and fast.records == slow.records
        assert sorted(map(repr, fast.findings)) == sorted(map(repr, slow.findings))
    synthetic = any(f.code == "vehicle.synthetic_last_reported" for f in slow.findings)
    assert synthetic == (odd in ("none", "milliseconds"))
