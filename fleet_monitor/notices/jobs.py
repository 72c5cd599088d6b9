"""Running the notices: plan, deliver, check deadlines; and the scheduler's jobs.

``register_jobs(scheduler, settings, engine, clock)`` adds three interval jobs
to an APScheduler ``BackgroundScheduler`` (each job id prefixed ``notices:``):

* ``notices:plan`` every ``notices.plan_every_s``: create and issue notices,
  then send what is due;
* ``notices:send`` every ``notices.send_every_s``: send due deliveries
  (retries included);
* ``notices:deadlines`` every ``notices.check_every_s``: check passed deadlines.

Urgent rules do not wait for ``notices:plan``: :func:`after_evaluation` is
called by the rules' evaluation job each time it has evaluated.

``clock`` gives "now" (the simulated clock in the demo). A failing run is
logged and the job runs again at its next time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from fleet_monitor.models.notices import Notice
from fleet_monitor.notices.deadlines import CheckResult, check_deadlines
from fleet_monitor.notices.document import compose_email, compose_webhook
from fleet_monitor.notices.planner import PlanResult, plan_notices
from fleet_monitor.notices.printed import PRINTABLE, notice_pdf
from fleet_monitor.notices.statements import issue_penalty_statements
from fleet_monitor.outbox.message import DeliveryError, EmailMessageSpec, WebhookMessageSpec
from fleet_monitor.outbox.store import ClaimedDelivery
from fleet_monitor.outbox.worker import SendSummary, send_due
from fleet_monitor.settings import Settings
from fleet_monitor.users import record_audit

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def compose(
    session: Session, d: ClaimedDelivery, settings: Settings
) -> EmailMessageSpec | WebhookMessageSpec:
    """The message of one delivery; the notice is printed here if this is its first need."""
    printed = notice_pdf(session, d.subject_id, settings.letterhead.logo_path, why="delivery")
    notice = session.get(Notice, d.subject_id)
    if printed is None or notice is None or notice.status not in PRINTABLE:
        raise DeliveryError("permanent", "the notice was cancelled or is not issued")
    pdf, digest = printed
    return compose_email(notice, pdf) if d.channel == "email" else compose_webhook(notice, digest)


def _notice_of(session: Session, d: ClaimedDelivery) -> tuple[str | None, int | None]:
    row = session.execute(
        text("SELECT reference, operator_id FROM notice WHERE id = :id"), {"id": d.subject_id}
    ).first()
    return (row[0], row[1]) if row else (None, None)


def on_sent(session: Session, d: ClaimedDelivery, now: datetime, detail: str) -> None:
    session.execute(
        text("UPDATE notice SET sent_at = coalesce(sent_at, :now) WHERE id = :id"),
        {"now": now, "id": d.subject_id},
    )
    reference, operator_id = _notice_of(session, d)
    record_audit(
        session,
        "notice.sent",
        actor_email="system",
        operator_id=operator_id,
        details={
            "notice": reference,
            "channel": d.channel,
            "recipient": d.recipient,
            "answer": detail[:200],
        },
    )


def on_failed(session: Session, d: ClaimedDelivery, now: datetime, error: str) -> None:
    reference, operator_id = _notice_of(session, d)
    record_audit(
        session,
        "notice.delivery_failed",
        actor_email="system",
        operator_id=operator_id,
        details={
            "notice": reference,
            "channel": d.channel,
            "recipient": d.recipient,
            "error": error[:300],
        },
    )


def send_pending(
    engine: Engine, settings: Settings, clock: Clock = _utc_now, **kwargs: Any
) -> SendSummary:
    """Send the due deliveries of notices (at most once each)."""
    return send_due(
        engine,
        subject="notice",
        mail=settings.mail,
        notices=settings.notices,
        compose=lambda s, d: compose(s, d, settings),
        clock=clock,
        on_sent=on_sent,
        on_failed=on_failed,
        **kwargs,
    )


def plan(engine: Engine, settings: Settings, now: datetime) -> PlanResult:
    with Session(engine) as s, s.begin():
        return plan_notices(s, now, settings)


def check(engine: Engine, settings: Settings, now: datetime) -> CheckResult:
    """Check passed deadlines, then issue the penalty statements now due."""
    with Session(engine) as s, s.begin():
        result = check_deadlines(
            s,
            now,
            noise_m=settings.ingest.gps_noise_m,
            undetermined_after_s=settings.notices.undetermined_after_s,
        )
    with Session(engine) as s, s.begin():
        result.statements = issue_penalty_statements(s, now, settings)
    return result


def after_evaluation(
    engine: Engine, settings: Settings, clock: Clock
) -> Callable[[datetime], None]:
    """What runs right after each evaluation of the rules (``RulesJobs``): the
    urgent rules' notices are planned (and in ``auto`` mode issued and sent) at
    the evaluation's own time, so an urgent violation is noticed by the
    evaluation that detects it, not at the next ``notices:plan`` run."""

    def urgent(now: datetime) -> None:
        if not settings.notices.enabled:
            return
        try:
            with Session(engine) as s, s.begin():
                result = plan_notices(s, now, settings, urgent_only=True)
            if result.created:
                log.info("urgent notices: %s", result.as_dict())
                send_pending(engine, settings, clock)
        except Exception:
            log.exception("urgent notices failed")

    return urgent


def register_jobs(scheduler: Any, settings: Settings, engine: Engine, clock: Clock) -> list[str]:
    """Add the notices' jobs to ``scheduler`` (an APScheduler 3 BackgroundScheduler)."""
    from apscheduler.triggers.interval import IntervalTrigger

    ns = settings.notices
    if not ns.enabled:
        return []

    def plan_job() -> None:
        try:
            result = plan(engine, settings, clock())
            if result.created:
                log.info("notices planned: %s", result.as_dict())
            send_pending(engine, settings, clock)
        except Exception:
            log.exception("notices planning failed")

    def send_job() -> None:
        try:
            summary = send_pending(engine, settings, clock)
            if summary.claimed:
                log.info("notice deliveries: %s", summary.as_dict())
        except Exception:
            log.exception("notice delivery failed")

    def deadline_job() -> None:
        try:
            result = check(engine, settings, clock())
            if result.closed or result.overdue:
                log.info("notice deadlines: %s", result.as_dict())
        except Exception:
            log.exception("notice deadline check failed")

    jobs = [
        ("notices:plan", plan_job, ns.plan_every_s),
        ("notices:send", send_job, ns.send_every_s),
        ("notices:deadlines", deadline_job, ns.check_every_s),
    ]
    for job_id, func, every in jobs:
        scheduler.add_job(
            func, IntervalTrigger(seconds=every), id=job_id, name=job_id, replace_existing=True
        )
    return [j[0] for j in jobs]
