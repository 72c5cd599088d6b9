"""The scheduler's rules jobs: debounced evaluation on the scheduler's clock, count
sampling on the permits' grid, permits imported from a folder."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fleet_monitor.scheduler import IngestScheduler
from fleet_monitor.settings import (
    ConfigError,
    RulesSettings,
    SchedulerSettings,
    Settings,
    settings_from_dict,
)
from fleet_monitor.violations.jobs import EVALUATE_JOB, SAMPLE_JOB, RulesJobs
from tests.rules_db.conftest import permit_toml
from tests.rules_db.fleet import Fleet

T0 = datetime(2025, 6, 3, 8, 0, tzinfo=UTC)
M = timedelta(minutes=1)


def test_evaluation_is_debounced_after_vehicle_polls(engine) -> None:  # type: ignore[no-untyped-def]
    fleet = Fleet(engine)
    fleet.permit(permit_toml("op", max_idle="1h"))
    fleet.poll(T0, {"a": (0, 0)})
    clock = [T0 + 2 * M]
    jobs = RulesJobs(engine, RulesSettings(evaluate_every_s=3600, debounce_s=1), lambda: clock[0])
    assert jobs.tick() is None  # nothing due
    jobs.poke(fleet.feed_id)
    jobs.poke(fleet.feed_id)
    assert jobs.tick() is None  # within the debounce delay
    time.sleep(1.05)
    summary = jobs.tick()
    assert summary is not None and summary.as_of == clock[0] and summary.vehicles == 1
    assert jobs.tick() is None  # the two polls shared one evaluation
    jobs.poke(fleet.feed_id + 1000)  # not a vehicle feed
    time.sleep(1.05)
    assert jobs.tick() is None
    assert jobs.runs == 1


def test_sampling_job_takes_the_due_samples(engine) -> None:  # type: ignore[no-untyped-def]
    fleet = Fleet(engine)
    fleet.permit(permit_toml("op", cap=10))
    for k in range(0, 13):
        fleet.poll(T0 + k * M, {"a": (0, 0), "b": (10, 0)})
    clock = [T0 + 12 * M]
    settings = RulesSettings(sample_every_s=60, sample_catchup_s=15 * 60)
    jobs = RulesJobs(engine, settings, lambda: clock[0])
    assert jobs.sample() == 3  # the grid times of the last 15 minutes: 08:00, 08:05, 08:10
    rows = fleet.rows("SELECT time, deployed, coverage FROM count_sample ORDER BY time")
    assert rows == [(T0 + k * M, 2, 1.0) for k in (0, 5, 10)]
    assert jobs.sample() == 0  # nothing new due
    clock[0] = T0 + 15 * M
    assert jobs.sample() == 1


def test_permits_folder_is_imported_at_start(engine, tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.toml").write_text(permit_toml("trotti", max_idle="3d"))
    (tmp_path / "b.toml").write_text("operator = 'x'\n")
    jobs = RulesJobs(engine, RulesSettings(permits_dir=str(tmp_path)), lambda: T0)
    assert jobs.import_permits_dir() == ["a.toml: trotti v1 created"]
    assert "b.toml not imported" in caplog.text
    assert jobs.import_permits_dir() == ["a.toml: trotti v1 unchanged"]


def test_scheduler_runs_the_rules_jobs_on_its_clock(db_url: str, engine) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(
        database_url=db_url,
        scheduler=SchedulerSettings(max_workers=2),
        rules=RulesSettings(evaluate_every_s=1, sample_every_s=1, debounce_s=1),
    )
    sim_now = T0 + 7 * M
    sched = IngestScheduler(settings, engine=engine, clock=lambda: sim_now)
    sched.start()
    try:
        assert sched.scheduler.get_job(EVALUATE_JOB) and sched.scheduler.get_job(SAMPLE_JOB)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and sched.rules_jobs.runs == 0:  # type: ignore[union-attr]
            time.sleep(0.1)
    finally:
        sched.shutdown()
    assert sched.rules_jobs is not None and sched.rules_jobs.runs >= 1
    assert sched.rules_jobs.last is not None and sched.rules_jobs.last.as_of == sim_now


def test_rules_settings_section() -> None:
    rules = settings_from_dict({"rules": {"evaluate_every_s": 60, "gps_tolerance_m": 5}}).rules
    assert (rules.evaluate_every_s, rules.gps_tolerance_m, rules.debounce_s) == (60, 5.0, 20)
    for table, key in (
        ({"evaluate_every_s": 0}, "rules.evaluate_every_s"),
        ({"gps_tolerance_m": -1}, "rules.gps_tolerance_m"),
        ({"permits_dir": "/nonexistent/permits"}, "rules.permits_dir"),
        ({"evaluate_every": 5}, "rules.evaluate_every"),
    ):
        with pytest.raises(ConfigError) as err:
            settings_from_dict({"rules": table})
        assert err.value.key == key
