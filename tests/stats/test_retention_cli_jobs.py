"""Data-protection retention, the raw-history cross-check, the CLI and the scheduled jobs."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from click.testing import CliRunner
from sqlalchemy import Engine

from fleet_monitor.cli import cli
from fleet_monitor.settings import Settings, StatsSettings
from fleet_monitor.stats.jobs import AGGREGATE_JOB, RETENTION_JOB, aggregate_job, register_jobs
from fleet_monitor.stats.periods import parse_period
from fleet_monitor.stats.raw import report_from_raw
from fleet_monitor.stats.report import ReportQuery
from fleet_monitor.stats.retention import apply_retention
from fleet_monitor.stats.service import run_report
from tests.stats import scenario
from tests.stats.history import IN_EAST, History, utc
from tests.stats.scenario import Ids


def test_positions_are_coarsened_past_the_horizon(
    engine: Engine, history: History, aggregated: Ids
) -> None:
    # the evidence of a violation keeps its exact position
    (evidence,) = history.sql(
        "SELECT id FROM dwell WHERE operator_id = %s AND state = 'available'"
        " AND ended_at IS NOT NULL ORDER BY started_at LIMIT 1",
        (aggregated.alpha,),
    )[0]
    history.sql("UPDATE violation SET dwell_id = %s WHERE rule_type = 'idle_too_long'", (evidence,))
    exact = history.sql("SELECT id, lat, lon FROM dwell ORDER BY id")
    stats = StatsSettings(position_history_days=10, coarsen_grid_m=250.0)
    now = utc(2026, 10, 17)  # horizon 2026-10-07 00:00Z: every stay of the 6th is past it
    summary = apply_retention(engine, stats, "Europe/Paris", now)
    after = {i: (lat, lon) for i, lat, lon in history.sql("SELECT id, lat, lon FROM dwell")}
    ended = {i for (i,) in history.sql("SELECT id FROM dwell WHERE ended_at IS NOT NULL")}
    assert summary.dwells == len(ended) - 1
    for i, lat, lon in exact:
        if i in ended and i != evidence:
            assert (lat, lon) != after[i]
            assert abs(after[i][0] - lat) * 111_132 <= 125.1  # within half a grid step
            assert abs(after[i][0] / (250 / 111_132) - round(after[i][0] / (250 / 111_132))) < 1e-6
        else:  # open stays (parked now) and evidence untouched
            assert (lat, lon) == after[i]
    (geom_ok,) = history.sql(
        "SELECT bool_and(abs(ST_Y(geom) - lat) < 1e-9 AND abs(ST_X(geom) - lon) < 1e-9) FROM dwell"
    )[0]
    assert geom_ok
    # resumable and idempotent: nothing more to do at the same time
    assert apply_retention(engine, stats, "Europe/Paris", now).dwells == 0
    # the aggregates are untouched
    assert history.sql("SELECT count(*) FROM stats_aggregate_day")[0][0] == 1


def test_purge_policy_and_aggregate_retention(
    engine: Engine, history: History, aggregated: Ids
) -> None:
    stats = StatsSettings(
        position_history_days=10,
        position_policy="purge",
        aggregate_retention_days=5,
        backfill_days=5,
    )
    summary = apply_retention(engine, stats, "Europe/Paris", utc(2026, 10, 17))
    assert summary.dwells > 0
    assert history.sql("SELECT count(*) FROM dwell WHERE ended_at IS NOT NULL")[0][0] == 0
    assert summary.aggregate_days_deleted == 1
    assert history.sql("SELECT count(*) FROM stats_fleet_day")[0][0] == 0


def test_report_from_raw_history_equals_the_aggregates(engine: Engine, aggregated: Ids) -> None:
    settings = Settings()
    query = ReportQuery(parse_period("2026-10-06", "Europe/Paris"), lang="en")
    now = scenario.UNTIL
    stored = run_report(engine, settings, query, visible=None, now=now)
    raw = report_from_raw(engine, settings, query, visible=None, now=now)
    for name in ("fleet", "idle", "use", "violations", "feeds", "zones"):
        assert raw["sections"][name]["rows"] == stored["sections"][name]["rows"], name
    # nothing was written by the raw computation
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM stats_aggregate_day").scalar() == 1


def test_cli_aggregate_export_and_declared_fleet(
    engine: Engine, db_url: str, ids: Ids, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    config = tmp_path / "config.toml"
    config.write_text('[city]\nlocale = "en"\n')
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli, ["--config", str(config), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    out = json.loads(
        run(
            "stats",
            "aggregate",
            "--until",
            "2026-10-07T08:00:00+02:00",
            "--from",
            "2026-10-06",
            "--json",
        )
    )
    assert out["days"] == ["2026-10-06"]
    target = tmp_path / "oct.json"
    run(
        "stats",
        "export",
        "--period",
        "2026-10",
        "--format",
        "json",
        "--out",
        str(target),
        "--operator",
        "alpha",
    )
    doc = json.loads(target.read_bytes())
    assert [r["operator"] for r in doc["sections"]["fleet"]["rows"]] == ["alpha"]
    assert doc["lang"] == "en"
    for fmt in ("csv", "xlsx", "geojson", "pdf"):
        run(
            "stats",
            "export",
            "--period",
            "2026-10",
            "--format",
            fmt,
            "--out",
            str(tmp_path / f"oct.{fmt}"),
        )
        assert (tmp_path / f"oct.{fmt}").stat().st_size > 100
    csv_file = tmp_path / "declared.csv"
    csv_file.write_text("operator,period,declared,note\nalpha,2026-10,4,statement\n")
    assert "1 declarations imported" in run("stats", "declared-fleet", "import", str(csv_file))
    bad = tmp_path / "bad.csv"
    bad.write_text("operator,period,declared\nalpha,2026-13,4\n")
    result = runner.invoke(
        cli, ["--config", str(config), "stats", "declared-fleet", "import", str(bad)]
    )
    assert result.exit_code == 1 and "line 2" in result.output
    with engine.connect() as conn:
        events = conn.exec_driver_sql(
            "SELECT event, actor_role, details->>'format' FROM audit_log ORDER BY id"
        ).all()
    assert [e[0] for e in events].count("stats.export") == 5
    assert {e[1] for e in events} == {"cli"}
    summary = json.loads(run("stats", "retention", "--now", "2027-03-01T00:00:00Z", "--json"))
    assert summary["dwells"] > 0 and summary["policy"] == "coarsen"


def test_scheduled_jobs(engine: Engine, ids: Ids) -> None:
    settings = Settings(stats=StatsSettings(aggregate_every_s=600))
    scheduler = BackgroundScheduler()
    assert register_jobs(scheduler, settings, engine, clock=lambda: scenario.UNTIL) == [
        AGGREGATE_JOB,
        RETENTION_JOB,
    ]
    assert scheduler.get_job(AGGREGATE_JOB).trigger.interval == timedelta(seconds=600)
    assert (
        register_jobs(
            BackgroundScheduler(), replace(settings, stats=StatsSettings(enabled=False)), engine
        )
        == []
    )
    aggregate_job(settings, engine, clock=lambda: scenario.UNTIL)
    with engine.connect() as conn:
        days = conn.exec_driver_sql("SELECT day FROM stats_aggregate_day ORDER BY 1").scalars()
        assert [d.isoformat() for d in days] == ["2026-10-05", "2026-10-06"]


def test_vehicles_without_position_count_city_wide_only(
    engine: Engine, history: History, ids: Ids
) -> None:
    history.sql("UPDATE dwell SET geom = NULL WHERE lat = %s AND lon = %s", IN_EAST)
    from fleet_monitor.stats.aggregate import aggregate
    from tests.stats.conftest import CFG

    aggregate(engine, CFG, until=scenario.UNTIL, first=scenario.DAY)
    with engine.connect() as conn:
        zones = conn.exec_driver_sql(
            "SELECT DISTINCT zone_id FROM stats_fleet_day WHERE operator_id = %s",
            (ids.alpha,),
        ).scalars()
        assert sorted(zones) == ["*", "west"]
