"""Generate, archive and queue the daily reports of one local day.

``generate_day(session, day, settings, now)`` makes one report per operator
active that day (a permit in force or a fetch of its feeds) and the city-wide
summary, and stores each in ``daily_report`` with its files and their hash:

* no report yet for (day, subject): version 1 (``created``);
* the same hash as the latest version: nothing written (``unchanged``): this is
  what regenerating a day gives when the data did not change;
* another hash (late data, a corrected import): a new version
  (``new_version``); the version already sent stays archived as it was.

``queue_deliveries`` adds one delivery per recipient: the operator's active
contacts that take reports, and ``mail.staff_recipients`` for the city-wide
summary. The idempotency key names the day, subject, channel and recipient but
not the version, so a day's report is sent at most once to each recipient.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from datastore import pg_connection
from fleet_monitor.history.operators import operators_of_day
from fleet_monitor.models.notices import OperatorContact
from fleet_monitor.models.reports import CITY_SUBJECT, DailyReport
from fleet_monitor.outbox.store import enqueue
from fleet_monitor.reports.figures import day_bounds, operator_figures
from fleet_monitor.reports.render import city_summary, render_csv, render_html, render_pdf
from fleet_monitor.settings import Settings
from fleet_monitor.stats.aggregate import AggregateConfig
from fleet_monitor.stats.day_figures import operator_days
from fleet_monitor.violations.catalog import load_permits

LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('fleet_monitor.reports'))"


@dataclass(frozen=True, slots=True)
class Generated:
    report_id: int
    subject: str
    version: int
    status: str  # created | unchanged | new_version
    content_hash: str


def content_hash(html: str, pdf: bytes, csv: bytes) -> str:
    h = hashlib.sha256()
    for part in (html.encode("utf-8"), pdf, csv):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def _store(
    session: Session,
    *,
    day: date,
    subject: str,
    operator_id: int | None,
    data: dict[str, Any],
    settings: Settings,
    now: datetime,
) -> Generated:
    city = settings.city.name
    html, csv = render_html(data, city), render_csv(data)
    pdf = render_pdf(data, city, settings.letterhead)
    digest = content_hash(html, pdf, csv)
    latest = session.execute(
        text(
            "SELECT id, version, content_hash FROM daily_report WHERE day = :d AND subject = :s"
            " ORDER BY version DESC LIMIT 1"
        ),
        {"d": day, "s": subject},
    ).first()
    if latest is not None and latest[2] == digest:
        return Generated(latest[0], subject, latest[1], "unchanged", digest)
    version = 1 if latest is None else latest[1] + 1
    report = DailyReport(
        day=day,
        subject=subject,
        operator_id=operator_id,
        version=version,
        timezone=settings.reports.timezone or settings.city.timezone,
        generated_at=now,
        data=orjson.loads(orjson.dumps(data)),
        html=html,
        pdf=pdf,
        csv=csv,
        content_hash=digest,
    )
    session.add(report)
    session.flush()
    status = "created" if latest is None else "new_version"
    return Generated(report.id, subject, version, status, digest)


def generate_day(
    session: Session,
    day: date,
    settings: Settings,
    now: datetime,
    *,
    only_missing: bool = False,
) -> list[Generated]:
    """Generate (or confirm) the reports of ``day``; with ``only_missing``, subjects that
    already have a report are skipped (the scheduler's daily run)."""
    session.execute(text(LOCK_SQL))
    tz = settings.reports.timezone or settings.city.timezone
    start, end = day_bounds(day, tz)
    operators = operators_of_day(session, start, end)
    if not operators:
        return []
    existing = set(
        session.execute(
            text("SELECT DISTINCT subject FROM daily_report WHERE day = :d"), {"d": day}
        ).scalars()
    )
    permits = load_permits(session)
    # the figures the statistics show too, computed once by their definition
    cfg = replace(AggregateConfig.from_settings(settings), timezone=tz)
    with pg_connection(session).cursor() as cur:
        shared = operator_days(cur, day, cfg)
    out: list[Generated] = []
    figures = []
    for operator_id, slug, name in operators:
        data = operator_figures(
            session,
            operator_id=operator_id,
            slug=slug,
            name=name,
            day=day,
            tz=tz,
            permits=permits,
            shared=shared.get(operator_id),
        )
        figures.append(data)
        if only_missing and slug in existing:
            continue
        out.append(
            _store(
                session,
                day=day,
                subject=slug,
                operator_id=operator_id,
                data=data,
                settings=settings,
                now=now,
            )
        )
    if not (only_missing and CITY_SUBJECT in existing):
        period = {"start": figures[0]["period"]["start"], "end": figures[0]["period"]["end"]}
        summary = city_summary(day.isoformat(), tz, settings.city.name, period, figures)
        out.append(
            _store(
                session,
                day=day,
                subject=CITY_SUBJECT,
                operator_id=None,
                data=summary,
                settings=settings,
                now=now,
            )
        )
    return out


def latest_reports(session: Session, day: date) -> list[DailyReport]:
    """The latest version of each subject's report for ``day``."""
    ids = session.execute(
        text(
            "SELECT DISTINCT ON (subject) id FROM daily_report WHERE day = :d"
            " ORDER BY subject, version DESC"
        ),
        {"d": day},
    ).scalars()
    return list(session.scalars(select(DailyReport).where(DailyReport.id.in_(list(ids)))).all())


def queue_deliveries(session: Session, day: date, settings: Settings, now: datetime) -> int:
    """One delivery per recipient of each of the day's reports (at most once ever)."""
    queued = 0
    for report in latest_reports(session, day):
        key_base = f"report:{day.isoformat()}:{report.subject}"
        recipients: list[tuple[int | None, str, str]]
        if report.subject == CITY_SUBJECT:
            recipients = [(None, "email", a) for a in settings.mail.staff_recipients]
        else:
            contacts = session.scalars(
                select(OperatorContact).where(
                    OperatorContact.operator_id == report.operator_id,
                    OperatorContact.active,
                    OperatorContact.reports,
                )
            ).all()
            recipients = [(c.id, c.channel, c.address) for c in contacts]
        for contact_id, channel, address in recipients:
            added = enqueue(
                session,
                subject="report",
                subject_id=report.id,
                channel=channel,
                recipient=address,
                key=f"{key_base}:{channel}:{address}",
                now=now,
                contact_id=contact_id,
            )
            queued += added is not None
    return queued
