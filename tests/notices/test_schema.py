"""Migration 0004 creates exactly the tables of the notices and reports models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from fleet_monitor.models import metadata

TABLES = {
    "operator_contact",
    "operator_api_token",
    "case_file",
    "case_note",
    "notice",
    "notice_item",
    "notice_counter",
    "penalty",
    "delivery",
    "daily_report",
    "notice_dispute",
    "dispute_attachment",
}


def test_migration_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
        heads = set(conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars())
    ours = [d for d in diffs if any(f"'{t}'" in str(d) or f"{t}." in str(d) for t in TABLES)]
    assert ours == []
    # 0004 is applied, whichever later revisions (0011, 0015...) now head its branch
    from alembic.script import ScriptDirectory

    from fleet_monitor.database import alembic_config

    url = engine.url.render_as_string(hide_password=False)
    script = ScriptDirectory.from_config(alembic_config(url))
    applied = {rev.revision for head in heads for rev in script.iterate_revisions(head, "base")}
    assert "0004" in applied, heads
