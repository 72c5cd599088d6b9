"""The same report computed from the raw history, without the stored aggregates.

The day computations run into temporary tables that shadow the aggregate tables
(``pg_temp`` comes first in PostgreSQL's search path), then the report is read
from them by the same code; nothing is stored (the transaction is rolled back).
Used to check the aggregates and by the benchmark, to show what they save.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from datastore.connection import driver_connection
from fleet_monitor.settings import Settings
from fleet_monitor.stats.aggregate import (
    DAY_TABLES,
    AggregateConfig,
    compute_day,
    last_complete_day,
    load_carry,
    write_day,
)
from fleet_monitor.stats.report import ReportQuery
from fleet_monitor.stats.service import run_report


def report_from_raw(
    engine: Engine,
    settings: Settings,
    query: ReportQuery,
    *,
    visible: frozenset[int] | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    cfg = AggregateConfig.from_settings(settings)
    last = last_complete_day(now, cfg)
    raw = engine.raw_connection()
    try:
        conn = driver_connection(raw)
        with conn.cursor() as cur:
            cur.execute("SELECT current_schema()")
            schema = cur.fetchone()[0]
            for table in (*DAY_TABLES, "stats_aggregate_day", "stats_carry"):
                cur.execute(
                    f'CREATE TEMP TABLE {table} (LIKE "{schema}".{table} INCLUDING ALL)'
                    " ON COMMIT DROP"
                )
            for day in query.period.days():
                if day > last:
                    break
                write_day(cur, compute_day(cur, day, cfg, load_carry(cur, day)), 0.0, now)
            report = run_report(engine, settings, query, visible=visible, now=now, cur=cur)
        conn.rollback()
        return report
    finally:
        raw.close()
