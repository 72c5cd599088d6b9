"""The daily run: generate yesterday's reports once ``send_time`` has passed, send them.

``register_jobs(scheduler, settings, engine, clock)`` adds two interval jobs to
an APScheduler ``BackgroundScheduler``:

* ``reports:daily`` every ``reports.check_every_s``: once the local time (in
  ``reports.timezone``) is past ``reports.send_time``, the previous local day's
  reports are generated if missing, their deliveries queued, and sent;
* ``reports:send`` every ``notices.send_every_s``: due deliveries (retries).

Checking on an interval against ``clock`` rather than with a cron trigger
keeps the demo's simulated clock working, and a scheduler that was down at
07:00 still sends the day's reports when it comes back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fleet_monitor.models.reports import CITY_SUBJECT, DailyReport
from fleet_monitor.outbox.message import (
    Attachment,
    DeliveryError,
    EmailMessageSpec,
    WebhookMessageSpec,
)
from fleet_monitor.outbox.store import ClaimedDelivery
from fleet_monitor.outbox.worker import SendSummary, send_due
from fleet_monitor.reports.archive import Generated, generate_day, queue_deliveries
from fleet_monitor.reports.render import render_text
from fleet_monitor.settings import Settings
from fleet_monitor.users import record_audit

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def due_day(now: datetime, settings: Settings) -> date:
    """The day whose reports are due at ``now``: yesterday once ``send_time`` has passed
    (local time), the day before otherwise."""
    tz = ZoneInfo(settings.reports.timezone or settings.city.timezone)
    local = now.astimezone(tz)
    back = 1 if local.time() >= time.fromisoformat(settings.reports.send_time) else 2
    return local.date() - timedelta(days=back)


def file_stem(report: DailyReport) -> str:
    who = "city" if report.subject == CITY_SUBJECT else report.subject
    return f"report-{who}-{report.day.isoformat()}"


def compose(session: Session, d: ClaimedDelivery) -> EmailMessageSpec | WebhookMessageSpec:
    report = session.get(DailyReport, d.subject_id)
    if report is None:
        raise DeliveryError("permanent", "the report no longer exists")
    data = report.data
    who = data["operator"]["name"] if data["type"] == "operator" else data.get("city", "")
    if d.channel == "webhook":
        body = orjson.dumps(
            {"event": "report.daily", "report": data, "content_hash": report.content_hash},
            option=orjson.OPT_SORT_KEYS,
        )
        return WebhookMessageSpec(event="report.daily", body=body, operator_slug=report.subject)
    stem = file_stem(report)
    return EmailMessageSpec(
        subject=f"Rapport quotidien / Daily report – {who} – {report.day.isoformat()}",
        html=report.html,
        text=render_text(data, data.get("city") or who),
        attachments=(
            Attachment(f"{stem}.pdf", "application/pdf", report.pdf),
            Attachment(f"{stem}.csv", "text/csv", report.csv),
        ),
        headers=(("X-Fleet-Report", f"{report.subject}/{report.day.isoformat()}"),),
    )


def on_sent(session: Session, d: ClaimedDelivery, now: datetime, detail: str) -> None:
    report = session.get(DailyReport, d.subject_id)
    record_audit(
        session,
        "report.sent",
        actor_email="system",
        operator_id=report.operator_id if report else None,
        details={"report": d.idempotency_key, "channel": d.channel, "recipient": d.recipient},
    )


def send_pending(
    engine: Engine, settings: Settings, clock: Clock = _utc_now, **kwargs: Any
) -> SendSummary:
    return send_due(
        engine,
        subject="report",
        mail=settings.mail,
        notices=settings.notices,
        compose=compose,
        clock=clock,
        on_sent=on_sent,
        **kwargs,
    )


def run_daily(engine: Engine, settings: Settings, now: datetime) -> list[Generated]:
    """Generate the due day's missing reports and queue their deliveries."""
    day = due_day(now, settings)
    with Session(engine) as s, s.begin():
        generated = generate_day(s, day, settings, now, only_missing=True)
        queue_deliveries(s, day, settings, now)
    return generated


def register_jobs(scheduler: Any, settings: Settings, engine: Engine, clock: Clock) -> list[str]:
    """Add the reports' jobs to ``scheduler`` (an APScheduler 3 BackgroundScheduler)."""
    from apscheduler.triggers.interval import IntervalTrigger

    if not settings.reports.enabled:
        return []

    def daily_job() -> None:
        try:
            generated = run_daily(engine, settings, clock())
            if generated:
                log.info("daily reports: %s", [(g.subject, g.status) for g in generated])
            send_pending(engine, settings, clock)
        except Exception:
            log.exception("daily reports failed")

    def send_job() -> None:
        try:
            send_pending(engine, settings, clock)
        except Exception:
            log.exception("report delivery failed")

    scheduler.add_job(
        daily_job,
        IntervalTrigger(seconds=settings.reports.check_every_s),
        id="reports:daily",
        name="reports:daily",
        replace_existing=True,
    )
    scheduler.add_job(
        send_job,
        IntervalTrigger(seconds=settings.notices.send_every_s),
        id="reports:send",
        name="reports:send",
        replace_existing=True,
    )
    return ["reports:daily", "reports:send"]
