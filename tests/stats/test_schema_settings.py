"""The migration matches the models; the ``[stats]`` settings are checked."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from fleet_monitor.models import metadata
from fleet_monitor.settings import ConfigError, settings_from_dict

STATS_TABLES = (
    "stats_coverage_day",
    "stats_fleet_day",
    "stats_idle_day",
    "stats_use_day",
    "stats_feed_day",
    "stats_violation_day",
    "stats_parked_cell_day",
    "stats_aggregate_day",
    "stats_carry",
    "stats_state",
    "declared_fleet",
)


def test_migration_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
        tables = set(
            conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            ).scalars()
        )
    assert [d for d in diffs if any(t in str(d) for t in STATS_TABLES)] == []
    assert set(STATS_TABLES) <= tables


def test_stats_settings() -> None:
    s = settings_from_dict({"stats": {"zone_kinds": ["district", "no_parking"]}}, env={})
    assert s.stats.zone_kinds == ("district", "no_parking")
    assert s.stats.position_history_days == 90 and s.stats.sample_interval_s == 300
    for bad, key in (
        ({"sample_interval_s": 420}, "stats.sample_interval_s"),
        ({"idle_sample_time": "25:00"}, "stats.idle_sample_time"),
        ({"position_policy": "keep"}, "stats.position_policy"),
        ({"position_history_days": 0}, "stats.position_history_days"),
        ({"unknown": 1}, "stats.unknown"),
    ):
        with pytest.raises(ConfigError) as err:
            settings_from_dict({"stats": bad}, env={})
        assert err.value.key == key
