"""Retention of personal data in case files and residents' reports (``[retention]``).

Two kinds of personal data are kept only as long as their purpose needs them
(GDPR art. 5(1)(e), storage limitation); ``docs/security.md`` gives the reasons
for the defaults:

* **Photos of on-site checks** (``case_photo``) may show passers-by, number
  plates, house fronts. The image is erased ``retention.case_photo_days`` after
  its case closed; the clock starts again at the last act of the matter (a notice
  checked, answered or cancelled, a dispute decided). A photo is never erased
  while its case is open or held, while a notice about the case is a draft or
  issued, or while a dispute about it is open: it is the city's evidence then.
* **Residents' contacts and photos** (``resident_report``) are erased
  ``retention.resident_report_days`` after the report was closed
  (:func:`fleet_monitor.resident_reports.retention.purge_private`).

Erasing keeps the row: the SHA-256 of the photo, its size, who took it and when,
plus ``erased_at`` and ``erased_reason`` (a tombstone), so the evidence trail
still shows which photo existed and why it is gone. The job runs every
``retention.every_s`` (daily) in the scheduler; ``fleet-monitor retention`` runs
it by hand (``--dry-run`` counts without erasing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Connection, Engine, text

from fleet_monitor.resident_reports.retention import purge_private
from fleet_monitor.settings import RetentionSettings, Settings

log = logging.getLogger(__name__)

JOB_ID = "retention:personal_data"

#: the case's photos are evidence while any of these is true (whatever their age)
_MATTER_OPEN = """
  v.state <> 'closed'
  OR EXISTS (SELECT 1 FROM notice_item i JOIN notice n ON n.id = i.notice_id
             WHERE i.violation_id = v.id AND n.status IN ('draft', 'issued'))
  OR EXISTS (SELECT 1 FROM notice_dispute d
             WHERE d.violation_id = v.id AND d.status = 'open')
"""

#: the last act of the matter: the case's closing, a notice's check, answer or
#: cancellation, a dispute's decision (greatest() skips NULLs)
_LAST_ACT = """
  greatest(
    v.closed_at,
    (SELECT max(greatest(n.checked_at, n.responded_at, n.cancelled_at))
       FROM notice_item i JOIN notice n ON n.id = i.notice_id WHERE i.violation_id = v.id),
    (SELECT max(d.decided_at) FROM notice_dispute d WHERE d.violation_id = v.id)
  )
"""

_ERASE_CASE_PHOTOS = f"""
UPDATE case_photo p SET data = NULL, erased_at = :now, erased_reason = :reason
FROM violation v
WHERE v.id = p.violation_id AND p.data IS NOT NULL
  AND NOT ({_MATTER_OPEN}) AND {_LAST_ACT} < :limit
"""

_HELD_CASE_PHOTOS = f"""
SELECT count(*) FROM case_photo p JOIN violation v ON v.id = p.violation_id
WHERE p.data IS NOT NULL AND p.uploaded_at < :limit AND ({_MATTER_OPEN})
"""


@dataclass(slots=True)
class RetentionOutcome:
    """What one run did: counts, and the limits it applied."""

    now: datetime
    case_photo_limit: datetime
    resident_report_limit: datetime
    case_photos_erased: int = 0
    case_photos_held: int = 0  # older than the limit, kept: their matter is open
    resident_reports_erased: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "case_photo_limit": self.case_photo_limit.isoformat(),
            "resident_report_limit": self.resident_report_limit.isoformat(),
            "case_photos_erased": self.case_photos_erased,
            "case_photos_held": self.case_photos_held,
            "resident_reports_erased": self.resident_reports_erased,
            "dry_run": self.dry_run,
        }


def erase_case_photos(conn: Connection, now: datetime, days: int) -> tuple[int, int]:
    """Erase the photos of matters closed more than ``days`` ago; returns (erased,
    held): held are photos older than the limit kept because their matter is open."""
    limit = now - timedelta(days=days)
    reason = f"retention: case closed more than {days} days ago (retention.case_photo_days)"
    erased = conn.execute(
        text(_ERASE_CASE_PHOTOS), {"now": now, "limit": limit, "reason": reason}
    ).rowcount
    held = int(conn.execute(text(_HELD_CASE_PHOTOS), {"limit": limit}).scalar_one())
    return int(erased), held


def apply_personal_data_retention(
    conn: Connection,
    policy: RetentionSettings,
    now: datetime,
    *,
    dry_run: bool = False,
    via: str = "scheduler",
) -> RetentionOutcome:
    """Apply the policy as of ``now`` in the caller's transaction (a dry run rolls
    back a savepoint: the counts are what a real run would erase). A run that
    erased something leaves a ``retention.erased`` record in the audit log."""
    outcome = RetentionOutcome(
        now=now,
        case_photo_limit=now - timedelta(days=policy.case_photo_days),
        resident_report_limit=now - timedelta(days=policy.resident_report_days),
        dry_run=dry_run,
    )
    savepoint = conn.begin_nested()
    outcome.case_photos_erased, outcome.case_photos_held = erase_case_photos(
        conn, now, policy.case_photo_days
    )
    outcome.resident_reports_erased = purge_private(conn, now, policy.resident_report_days)
    if dry_run:
        savepoint.rollback()
        return outcome
    savepoint.commit()
    if outcome.case_photos_erased or outcome.resident_reports_erased:
        _audit(conn, outcome, policy, via)
    return outcome


def _audit(
    conn: Connection, outcome: RetentionOutcome, policy: RetentionSettings, via: str
) -> None:
    from sqlalchemy.orm import Session

    from fleet_monitor.users import record_audit

    with Session(bind=conn) as session:  # joins the caller's transaction
        record_audit(
            session,
            "retention.erased",
            actor_role=via,
            details={
                **outcome.as_dict(),
                "case_photo_days": policy.case_photo_days,
                "resident_report_days": policy.resident_report_days,
            },
        )
        session.flush()


def retention_job(engine: Engine, policy: RetentionSettings, clock: Callable[[], datetime]) -> None:
    """The scheduler's daily run: erase, and log the counts (also when nothing is due,
    so the log shows the policy ran)."""
    try:
        with engine.begin() as conn:
            outcome = apply_personal_data_retention(conn, policy, clock())
    except Exception:  # the scheduler keeps running; the next run tries again
        log.exception("data protection: the retention of personal data failed")
        return
    log.info(
        "data protection: %d case photos erased (closed before %s), %d kept as their"
        " matter is open; contact and photo erased from %d residents' reports",
        outcome.case_photos_erased,
        outcome.case_photo_limit.isoformat(timespec="seconds"),
        outcome.case_photos_held,
        outcome.resident_reports_erased,
    )


def register_jobs(
    scheduler: BaseScheduler,
    settings: Settings,
    engine: Engine,
    clock: Callable[[], datetime] | None = None,
) -> list[str]:
    """Add the retention job (every ``retention.every_s``); returns its id."""
    scheduler.add_job(
        retention_job,
        IntervalTrigger(seconds=settings.retention.every_s),
        args=[engine, settings.retention, clock or (lambda: datetime.now(UTC))],
        id=JOB_ID,
        name="data protection: erase expired case photos and residents' contacts",
        next_run_time=datetime.now(UTC) + timedelta(minutes=5),
        replace_existing=True,
        coalesce=True,
        max_instances=1,
    )
    return [JOB_ID]
