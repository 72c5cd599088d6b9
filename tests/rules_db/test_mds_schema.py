"""Migration 0014 creates exactly the MDS models' tables and columns."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

import gbfs_ingest.db  # noqa: F401  the ingest's tables (audit_log refers to operator)
from fleet_monitor.models import metadata

TABLES = {"mds_publication", "mds_policy", "mds_geography"}


def test_migration_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
        heads = set(conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars())
        tables = set(
            conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE starts_with(tablename, 'mds_')"
            ).scalars()
        )
    ours = [d for d in diffs if any(f"'{t}'" in str(d) or f"{t}." in str(d) for t in TABLES)]
    assert ours == []
    assert "0014" in heads and tables == TABLES
