"""Replay a simulator recording (``gbfs_simulator.record_history``) into the database,
failed fetches included: a capture whose vehicle file failed (an outage case) is
recorded as a failed fetch at that time, as the live ingest would have."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import orjson
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from datastore.connection import pg_connection
from gbfs_ingest.config import IngestSettings
from gbfs_ingest.process import load_feed_row, record_failure
from gbfs_ingest.replay import replay
from gbfs_ingest.vehicle_store import VehicleStateCache

VEHICLE_FILES = ("free_bike_status", "vehicle_status")


def _vehicle_feed(engine: Engine, operator: str) -> int | None:
    with Session(engine) as s:
        cur = pg_connection(s).cursor()
        cur.execute(
            "SELECT f.id FROM feed f JOIN operator o ON o.id = f.operator_id"
            " WHERE o.slug = %s AND f.feed_type = 'vehicle_status'",
            (operator,),
        )
        row = cur.fetchone()
    return None if row is None else row[0]


def replay_recording(
    engine: Engine, rec_dir: Path, operator: str, settings: IngestSettings
) -> dict[str, int]:
    index = orjson.loads((rec_dir / "index.json").read_bytes())
    cache = VehicleStateCache()
    counts = {"captures": 0, "failures": 0}
    feed_id: int | None = None
    for cap in index["captures"]:
        if cap["operator"] != operator:
            continue
        counts["captures"] += 1
        d = rec_dir / cap["dir"]
        if d.exists():
            replay(
                engine,
                d,
                operator_slug=operator,
                operator_name=operator,
                settings=settings,
                cache=cache,
            )
        failed = {
            name: f.get("status")
            for name, f in cap["files"].items()
            if name in VEHICLE_FILES and f.get("status") != 200
        }
        if failed:
            feed_id = feed_id or _vehicle_feed(engine, operator)
            if feed_id is None:
                continue
            at = datetime.fromisoformat(cap["time"])
            with Session(engine) as s, s.begin():
                status = next(iter(failed.values()))
                record_failure(
                    s,
                    load_feed_row(s, feed_id),
                    fetched_at=at,
                    error_kind="http",
                    error=f"HTTP {status}",
                    fetch_meta={},
                )
            counts["failures"] += 1
    return counts
