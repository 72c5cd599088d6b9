"""Correctness at scale on a 100,000-vehicle file: one aggregated finding per kind
of problem, never one per record. Timings live in bench/bench_parse.py."""

from __future__ import annotations

import random
from typing import Any

import pytest

from gbfs_ingest.model import FeedType
from gbfs_ingest.parse import parse_feed
from gbfs_ingest.validate import validate_document

pytestmark = pytest.mark.slow

N = 100_000
LAST_UPDATED = 1_761_018_446


def fleet(n: int, seed: int = 1) -> dict[str, Any]:
    rnd = random.Random(seed)
    bikes = [
        {
            "bike_id": f"{rnd.getrandbits(64):016x}",
            "lat": 45.85 + rnd.random() * 0.1,
            "lon": 6.05 + rnd.random() * 0.15,
            "is_reserved": False,
            "is_disabled": rnd.random() < 0.02,
            "vehicle_type_id": "scooter",
            "last_reported": LAST_UPDATED - rnd.randrange(3600),
            "current_range_meters": rnd.randrange(40_000),
            "current_fuel_percent": round(rnd.random(), 2),
            "pricing_plan_id": "plan-1",
            "rental_uris": {
                "android": f"https://x.example/v/{i}",
                "ios": f"https://x.example/v/{i}",
            },
        }
        for i in range(n)
    ]
    return {"last_updated": LAST_UPDATED, "ttl": 0, "version": "2.3", "data": {"bikes": bikes}}


@pytest.fixture(scope="module")
def big() -> dict[str, Any]:
    return fleet(N)


def test_parse_100k_vehicles(big: dict[str, Any]) -> None:
    parsed = parse_feed(FeedType.VEHICLE_STATUS, big, "2.3")
    assert len(parsed.records) == N and parsed.findings == []


def test_parse_100k_messy_vehicles_keeps_findings_aggregated() -> None:
    doc = fleet(N, seed=2)
    for bike in doc["data"]["bikes"]:
        bike["is_reserved"] = 0
        bike["is_disabled"] = 1
    parsed = parse_feed(FeedType.VEHICLE_STATUS, doc, "2.3")
    assert [f.count for f in parsed.findings] == [N, N]


def test_validate_100k_vehicles(big: dict[str, Any]) -> None:
    assert validate_document(FeedType.VEHICLE_STATUS, "2.3", big) == []


def test_validate_100k_vehicles_with_an_error_on_each() -> None:
    doc = fleet(N, seed=3)
    for bike in doc["data"]["bikes"]:
        bike["is_reserved"] = 0
    findings = validate_document(FeedType.VEHICLE_STATUS, "2.3", doc)
    assert [(f.path, f.count) for f in findings] == [("/data/bikes/*/is_reserved", N)]
