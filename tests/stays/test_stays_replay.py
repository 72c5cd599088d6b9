"""Evaluating archived snapshots later (``rules run --at``, ``rules replay``: the
as-of reader) gives the findings a live evaluation gave right after each poll
(the current reader), on the first 40 real Lime snapshots (id rotations, gaps,
rentals): same vehicles, since, duration, confidence, status and stay facts."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from fleet_monitor.database import make_engine
from fleet_monitor.violations import load_snapshots
from gbfs_ingest.config import IngestSettings
from gbfs_ingest.replay import replay
from gbfs_ingest.vehicle_store import VehicleStateCache
from rules import evaluate_disabled, evaluate_idle
from rules.inputs import NoticeTerms, Permit
from tests.conftest import GBFS_REAL

FILES = sorted(
    (GBFS_REAL / "lime_seattle-u-district_v2.2_timeseries_5d" / "free_bike_status").glob("*.json")
)[:40]


def _findings(session: Session, at: Any, permit: Permit, as_of: bool) -> list[tuple]:
    snaps = load_snapshots(session, at, as_of=as_of)
    assert snaps.source == ("as_of" if as_of else "current")
    found = evaluate_idle(snaps.snapshots, [permit], at) + evaluate_disabled(
        snaps.snapshots, [permit], at
    )
    return sorted(
        (
            f.key,
            f.status,
            f.since,
            f.measured,
            f.confidence,
            tuple(sorted((f.evidence.get("stay") or {}).items())),
            f.evidence["gbfs_id"],
        )
        for f in found
    )


def test_archived_evaluation_equals_live(template_db: str, tmp_path: Path) -> None:
    from tests.conftest import _clone, _drop

    settings = IngestSettings(validate_schema=False)
    live_url, archive_url = _clone(template_db), _clone(template_db)
    live, archive = make_engine(live_url, pool_size=2), make_engine(archive_url, pool_size=2)
    try:
        permit = None
        cache = VehicleStateCache()
        checkpoints: list[tuple[Any, list[tuple]]] = []
        for i, f in enumerate(FILES):
            one = tmp_path / f"poll_{i:03d}"
            one.mkdir()
            shutil.copy(f, one / f.name)
            s = replay(
                live,
                one,
                operator_slug="lime",
                operator_name="Lime",
                settings=settings,
                cache=cache,
            )
            assert s.errors == []
            with live.connect() as c:
                at = c.exec_driver_sql(
                    "SELECT last_observed_at FROM feed WHERE feed_type = 'vehicle_status'"
                ).scalar()
            if permit is None:
                permit = Permit(
                    operator="lime",
                    version=1,
                    effective_from=at - timedelta(days=1),
                    max_idle=timedelta(hours=6),
                    max_disabled=timedelta(hours=1),
                    notices=NoticeTerms(min_confidence=0.9),
                )
            if i % 4 == 3:
                with Session(live) as session:
                    checkpoints.append((at, _findings(session, at, permit, as_of=False)))
        archived = tmp_path / "archive"
        archived.mkdir()
        for f in FILES:
            shutil.copy(f, archived / f.name)
        assert (
            replay(
                archive, archived, operator_slug="lime", operator_name="Lime", settings=settings
            ).errors
            == []
        )
        assert permit is not None
        assert sum(len(found) for _at, found in checkpoints) > 100
        assert any(row[1] == "uncertain" for _at, found in checkpoints for row in found)
        with Session(archive) as session:
            for at, found in checkpoints:
                assert _findings(session, at, permit, as_of=True) == found, at
    finally:
        live.dispose()
        archive.dispose()
        _drop(live_url)
        _drop(archive_url)
