"""Migrations 0002 and 0010 create exactly the rules models' tables and columns."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from fleet_monitor.models import metadata

TABLES = {
    "zone",
    "zone_retired",
    "permit",
    "violation",
    "violation_event",
    "count_sample",
    "rules_run",
    "rules_config_error",
}


def test_migration_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
        heads = set(conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars())
    ours = [d for d in diffs if any(f"'{t}'" in str(d) or f"{t}." in str(d) for t in TABLES)]
    assert ours == []
    assert "0010" in heads
