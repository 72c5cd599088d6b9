"""Parse and schema-validation time for 20,000 and 100,000 vehicles (CPU time, best of 5).

Baselines in the same run: plain ``jsonschema_rs`` ``iter_errors`` over the whole
document (what validation costs without the grouping of identical records), and
for the typed fast path of clean files, the tolerant decode + parse.

Usage: .venv/bin/python bench/bench_parse.py
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gbfs_ingest.model import FeedType
from gbfs_ingest.parse import parse_feed
from gbfs_ingest.parse.vehicle_memo import VehicleMemo
from gbfs_ingest.parse.vehicles_fast import parse_vehicle_status_fast
from gbfs_ingest.validate import schema_for, validate_document


def fleet(n: int, seed: int, messy: bool) -> dict[str, Any]:
    rnd = random.Random(seed)
    bikes = [
        {
            "bike_id": f"{rnd.getrandbits(64):016x}",
            "lat": 45.85 + rnd.random() * 0.1,
            "lon": 6.05 + rnd.random() * 0.15,
            "is_reserved": 0 if messy else False,
            "is_disabled": rnd.random() < 0.02,
            "vehicle_type_id": "scooter",
            "last_reported": 1_761_018_446 - rnd.randrange(3600),
            "current_range_meters": rnd.randrange(40_000),
        }
        for _ in range(n)
    ]
    return {"last_updated": 1_761_018_446, "ttl": 0, "version": "2.3", "data": {"bikes": bikes}}


def best(action: Callable[[], Any], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.process_time()
        action()
        times.append(time.process_time() - start)
    return min(times) * 1000


def fast_with_memo(doc: dict[str, Any], runs: int = 5) -> float:
    """The fast path on a file whose previous poll differs in 5 % of the records."""
    raw = orjson.dumps(doc)
    previous = orjson.loads(raw)
    for bike in previous["data"]["bikes"][::20]:
        bike["lat"] += 0.001
    before = orjson.dumps(previous)
    times = []
    for _ in range(runs):
        memo = VehicleMemo()
        parse_vehicle_status_fast(before, "2.3", memo)
        start = time.process_time()
        parse_vehicle_status_fast(raw, "2.3", memo)
        times.append(time.process_time() - start)
    return min(times) * 1000


def main() -> None:
    schema = schema_for("v2.3", "free_bike_status")
    plain = jsonschema_rs.validator_for(schema)
    for n in (20_000, 100_000):
        for messy in (False, True):
            doc = fleet(n, 1, messy)
            raw = orjson.dumps(doc)
            decode = best(lambda raw=raw: orjson.loads(raw))
            parse = best(lambda doc=doc: parse_feed(FeedType.VEHICLE_STATUS, doc, "2.3"))
            ours = best(lambda doc=doc: validate_document(FeedType.VEHICLE_STATUS, "2.3", doc))
            base = best(lambda doc=doc: list(plain.iter_errors(doc)), runs=1 if messy else 3)
            label = "one type error per vehicle" if messy else "valid"
            print(
                f"{n:>7} vehicles, {label:<26}: decode {decode:6.1f} ms | parse {parse:6.1f} ms"
                f" | validate {ours:6.1f} ms (plain jsonschema_rs {base:7.1f} ms)"
            )
            if not messy:  # the typed fast path reads the bytes itself (no decode above)
                fast = best(lambda raw=raw: parse_vehicle_status_fast(raw, "2.3"))
                print(
                    f"{'':>26}fast path: {fast:6.1f} ms alone,"
                    f" {fast_with_memo(doc):6.1f} ms against the previous file (5 % changed)"
                    f" | tolerant decode + parse {decode + parse:6.1f} ms"
                )


if __name__ == "__main__":
    main()
