"""Schema validation in a worker process gives exactly the in-poll findings.

Large bodies are validated by a spawned worker while the poll parses and stores
(``gbfs_ingest.validate_worker``); a dead or missing worker falls back to
validating in the poll, so findings are never lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, text

from gbfs_ingest import validate_worker
from gbfs_ingest.config import IngestSettings
from gbfs_ingest.model import FeedType
from gbfs_ingest.parse import detect_version
from gbfs_ingest.replay import replay
from gbfs_ingest.validate import validate_document
from tests.conftest import GBFS_REAL

# messy (1.0, booleans as 0/1, schema errors) and clean (fast path) vehicle files
FOLDERS = [
    "lime_seattle_v1.0_mdkt",
    "lyft-divvy_chicago_v2.3",
    "voi_marseille_v2.3",
    "bolt_essen_v3.0_mdkt",
]


@pytest.fixture(autouse=True)
def _fresh_pool() -> Iterator[None]:
    validate_worker.shutdown()
    yield
    validate_worker.shutdown()


def _vehicle_file(folder: str) -> Path:
    path = GBFS_REAL / folder / "free_bike_status.json"
    return path if path.exists() else GBFS_REAL / folder / "vehicle_status.json"


@pytest.mark.parametrize("folder", FOLDERS)
def test_the_worker_finds_what_the_poll_finds(folder: str) -> None:
    body = _vehicle_file(folder).read_bytes()
    doc = orjson.loads(body)
    version, _ = detect_version(doc)
    future = validate_worker.validate_later(FeedType.VEHICLE_STATUS, version, body, workers=1)
    assert future is not None
    from_worker = validate_worker.collect(future, version)
    assert from_worker is not None
    assert from_worker == validate_document(FeedType.VEHICLE_STATUS, version, doc)


def test_divvy_has_schema_findings_to_compare() -> None:
    body = _vehicle_file("lyft-divvy_chicago_v2.3").read_bytes()
    future = validate_worker.validate_later(FeedType.VEHICLE_STATUS, "2.3", body, workers=1)
    findings = validate_worker.collect(future, "2.3")
    assert findings and any(f.severity == "schema" for f in findings)


def test_an_unreadable_body_or_another_version_means_validating_in_the_poll() -> None:
    future = validate_worker.validate_later(FeedType.VEHICLE_STATUS, "2.3", b"{nope", workers=1)
    assert validate_worker.collect(future, "2.3") is None
    body = _vehicle_file("voi_marseille_v2.3").read_bytes()
    future = validate_worker.validate_later(FeedType.VEHICLE_STATUS, "2.3", body, workers=1)
    assert validate_worker.collect(future, "3.0") is None  # the poll read it otherwise


def test_a_killed_worker_falls_back_to_the_poll() -> None:
    body = _vehicle_file("lime_seattle_v1.0_mdkt").read_bytes()
    pool = validate_worker._get_pool(1)
    pool.submit(int).result()  # the worker is up
    for process in list(pool._processes.values()):  # type: ignore[union-attr]
        process.kill()
        process.join()
    future = validate_worker.validate_later(FeedType.VEHICLE_STATUS, "1.0", body, workers=1)
    findings = validate_worker.schema_findings(FeedType.VEHICLE_STATUS, "1.0", None, body, future)
    assert findings == validate_document(FeedType.VEHICLE_STATUS, "1.0", orjson.loads(body))
    # and the next large body gets a new, working pool
    again = validate_worker.validate_later(FeedType.VEHICLE_STATUS, "1.0", body, workers=1)
    assert validate_worker.collect(again, "1.0") == findings


@pytest.mark.parametrize("folder", FOLDERS)
def test_stored_fetch_findings_are_the_same_either_way(folder: str, engine: Engine) -> None:

    results = []
    for workers, slug in ((1, "offloaded"), (0, "inline")):
        settings = IngestSettings(validate_workers=workers, validate_offload_min_kb=0)
        replay(
            engine, GBFS_REAL / folder, operator_slug=slug, operator_name=slug, settings=settings
        )
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT ff.schema_error_count, ff.findings FROM feed_fetch ff"
                    " JOIN feed f ON f.id = ff.feed_id JOIN operator o ON o.id = f.operator_id"
                    " WHERE o.slug = :s AND f.feed_type = 'vehicle_status'"
                ),
                {"s": slug},
            ).one()
        results.append((row[0], sorted(row[1], key=repr)))
    assert results[0] == results[1]
