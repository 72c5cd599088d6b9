"""Migration 0015 creates exactly the address model's table and index."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from fleet_monitor.models import metadata


def test_migration_matches_the_model(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
        heads = set(conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars())
    ours = [d for d in diffs if "'address'" in str(d) or "address." in str(d)]
    assert ours == []
    assert "0015" in heads
