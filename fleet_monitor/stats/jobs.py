"""Scheduled jobs of the statistics, for the service's scheduler to add.

``register_jobs(scheduler, settings, engine, clock)`` adds two interval jobs to
an APScheduler 3 scheduler: ``stats:aggregate`` (every
``stats.aggregate_every_s``: aggregate the local days completed since the last
run) and ``stats:retention`` (every ``stats.retention_every_s``: coarsen or
purge old positions, delete expired aggregates). ``clock`` gives "now" (the
simulation clock in the demo); intervals are the scheduler's own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from fleet_monitor.settings import Settings
from fleet_monitor.stats.aggregate import AggregateConfig, aggregate
from fleet_monitor.stats.retention import apply_retention

log = logging.getLogger(__name__)

AGGREGATE_JOB = "stats:aggregate"
RETENTION_JOB = "stats:retention"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def aggregate_job(
    settings: Settings, engine: Engine, clock: Callable[[], datetime] = _utc_now
) -> None:
    try:
        summary = aggregate(
            engine, AggregateConfig.from_settings(settings), until=clock(), clock=clock
        )
    except Exception:  # the database may be restarting: the next run catches up
        log.exception("statistics aggregation failed")
        return
    if summary.days:
        log.info("statistics: %d days aggregated in %.1f s", len(summary.days), summary.duration_s)


def retention_job(
    settings: Settings, engine: Engine, clock: Callable[[], datetime] = _utc_now
) -> None:
    try:
        apply_retention(engine, settings.stats, settings.city.timezone, clock())
    except Exception:
        log.exception("statistics retention failed")


def register_jobs(
    scheduler: BaseScheduler,
    settings: Settings,
    engine: Engine,
    clock: Callable[[], datetime] | None = None,
) -> list[str]:
    """Add the statistics jobs (none when ``stats.enabled`` is false); returns their ids."""
    if not settings.stats.enabled:
        return []
    now_fn = clock or _utc_now
    start = datetime.now(UTC)
    scheduler.add_job(
        aggregate_job,
        IntervalTrigger(seconds=settings.stats.aggregate_every_s),
        args=[settings, engine, now_fn],
        id=AGGREGATE_JOB,
        name="statistics aggregation",
        next_run_time=start + timedelta(seconds=60),
        replace_existing=True,
        coalesce=True,
        max_instances=1,
    )
    scheduler.add_job(
        retention_job,
        IntervalTrigger(seconds=settings.stats.retention_every_s),
        args=[settings, engine, now_fn],
        id=RETENTION_JOB,
        name="statistics retention (data protection)",
        next_run_time=start + timedelta(seconds=300),
        replace_existing=True,
        coalesce=True,
        max_instances=1,
    )
    return [AGGREGATE_JOB, RETENTION_JOB]
