"""Raw evidence retention, and ``fleet-monitor operators list`` with feed health."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from gbfs_ingest.config import IngestSettings
from gbfs_ingest.replay import replay
from gbfs_ingest.store import content_hash, load_raw, pin_raw, purge_raw, store_raw
from tests.conftest import GBFS_REAL

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def test_raw_evidence_is_deduplicated_compressed_and_kept_for_the_retention(engine) -> None:  # type: ignore[no-untyped-def]
    old, pinned, fresh = b'{"a": 1}' * 500, b'{"b": 2}' * 500, b'{"c": 3}' * 500
    with Session(engine) as s, s.begin():
        for body, at in (
            (old, NOW - timedelta(days=100)),
            (pinned, NOW - timedelta(days=100)),
            (fresh, NOW - timedelta(days=1)),
        ):
            store_raw(s, body, at)
        store_raw(s, fresh, NOW)  # the same bytes again: one row, last seen moves on
        pin_raw(s, [content_hash(pinned)])
    with engine.connect() as c:
        rows = c.execute(text("SELECT count(*), sum(size), sum(compressed_size) FROM raw_blob"))
        n, size, compressed = rows.fetchone()
    assert n == 3 and compressed < size / 5
    with Session(engine) as s, s.begin():
        assert purge_raw(s, NOW, retention_days=90) == 1
    with Session(engine) as s:
        assert load_raw(s, content_hash(old)) is None
        assert load_raw(s, content_hash(pinned)) == pinned
        assert load_raw(s, content_hash(fresh)) == fresh


def test_operators_list_shows_feed_health(db_url: str, engine) -> None:  # type: ignore[no-untyped-def]
    replay(
        engine,
        GBFS_REAL / "voi_marseille_v2.3",
        operator_slug="voi",
        operator_name="Voi",
        settings=IngestSettings(),
    )
    env = {**os.environ, "DATABASE_URL": db_url}
    proc = subprocess.run(
        [sys.executable, "-m", "fleet_monitor.cli", "operators", "list", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    ops = {o["slug"]: o for o in json.loads(proc.stdout)}
    voi = ops["voi"]
    assert voi["version"] == "2.3" and not voi["configured"]
    (feed,) = voi["feeds"]
    assert feed["feed_type"] == "vehicle_status"
    assert feed["last_outcome"] == "ok" and feed["outage"] is None
    text_out = subprocess.run(
        [sys.executable, "-m", "fleet_monitor.cli", "operators", "list"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "voi" in text_out and "vehicle_status" in text_out
