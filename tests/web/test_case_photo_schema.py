"""Migration 0020 creates exactly the case_photo table of the model."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from fleet_monitor.models import metadata


def test_migration_0020_matches_the_model(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
        tables = set(
            conn.exec_driver_sql(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            ).scalars()
        )
    assert "case_photo" in tables
    assert [d for d in diffs if "case_photo" in str(d)] == []
