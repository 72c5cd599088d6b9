"""Residents' personal data are kept for the handling of their report, no longer.

Once a report has been closed for :data:`PRIVATE_RETENTION_DAYS` days, its
contact (name, e-mail, telephone) and its photo are erased; the report itself
(what, where, when, the vehicles matched) stays for the statistics. A daily
scheduler job does it (``register_jobs``, picked up by the scheduler's
extension list).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Connection, Engine, text

from fleet_monitor.settings import Settings

log = logging.getLogger(__name__)

#: Days after closing before a report's contact and photo are erased.
PRIVATE_RETENTION_DAYS = 90
PURGE_JOB = "resident_reports:purge_private"


def purge_private(conn: Connection, now: datetime, days: int = PRIVATE_RETENTION_DAYS) -> int:
    """Erase the contact and photo of reports closed more than ``days`` ago; returns how
    many reports were concerned."""
    return conn.execute(
        text(
            "UPDATE resident_report SET contact_name = NULL, contact_email = NULL,"
            " contact_phone = NULL, photo = NULL, photo_type = NULL"
            " WHERE status = 'closed' AND closed_at < :limit AND (contact_name IS NOT NULL"
            " OR contact_email IS NOT NULL OR contact_phone IS NOT NULL OR photo IS NOT NULL)"
        ),
        {"limit": now - timedelta(days=days)},
    ).rowcount


def purge_job(engine: Engine, clock: Callable[[], datetime]) -> None:
    with engine.begin() as conn:
        n = purge_private(conn, clock())
    if n:
        log.info("residents' reports: contact and photo erased from %d closed reports", n)


def register_jobs(
    scheduler: BaseScheduler,
    settings: Settings,
    engine: Engine,
    clock: Callable[[], datetime] | None = None,
) -> list[str]:
    """Add the daily purge; returns the job ids."""
    scheduler.add_job(
        purge_job,
        IntervalTrigger(days=1),
        args=[engine, clock or (lambda: datetime.now(UTC))],
        id=PURGE_JOB,
        name="residents' reports: erase private data of closed reports",
        next_run_time=datetime.now(UTC) + timedelta(minutes=5),
        replace_existing=True,
        coalesce=True,
        max_instances=1,
    )
    return [PURGE_JOB]
