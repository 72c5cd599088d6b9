"""The daily compliance report: figures, files, e-mail to operators and staff, archive,
determinism, and sent at most once."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from fleet_monitor.notices.jobs import plan
from fleet_monitor.notices.jobs import send_pending as send_notices
from fleet_monitor.reports import generate_day, queue_deliveries, run_daily, send_pending
from fleet_monitor.reports.jobs import due_day
from fleet_monitor.violations import sample_counts
from tests.notices.helpers import (
    NO_PARKING,
    STREET,
    T0,
    WATER,
    Feed,
    SMTPServer,
    add_contact,
    attachments,
    evaluate,
    html_body,
    settings_for,
    setup_city,
    vehicle_at,
)
from tests.notices.pdfcheck import pdf_pages, pdf_text

DAY = date(2026, 11, 2)


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    server = SMTPServer().start()
    try:
        yield server
    finally:
        server.stop()


def build_day(engine: Engine, settings) -> Feed:  # type: ignore[no-untyped-def]
    """A day of Trotti: six vehicles (cap 5), one in the water, a short outage, a notice."""
    setup_city(engine)
    feed = Feed(engine, "trotti", "Trotti")
    add_contact(engine, "trotti", "email", "ops@trotti.example")
    fleet = [vehicle_at("tw1", WATER), vehicle_at("tn1", NO_PARKING)]
    fleet += [vehicle_at(f"ts{i}", STREET, east_m=100 * i) for i in range(4)]
    for hour in range(0, 12):
        at = T0 + timedelta(hours=hour)
        if hour == 5:
            feed.fail(at)
            continue
        if hour == 6:
            feed.recover(at)
        feed.poll(fleet, at)
        with Session(engine) as s, s.begin():
            sample_counts(s, at)
        evaluate(engine, at + timedelta(seconds=30))
        if hour == 0:
            plan(engine, settings, at + timedelta(minutes=1))
            send_notices(engine, settings, lambda: T0 + timedelta(minutes=1))
    return feed


def test_report_figures_files_and_mail(
    db_url: str, engine: Engine, smtp: SMTPServer, tmp_path: Path
) -> None:
    settings = settings_for(db_url, smtp.port)
    build_day(engine, settings)
    smtp.received.clear()
    now = T0 + timedelta(days=1)  # 09:00 the next day in Annecy, past 07:00
    assert due_day(now, settings) == DAY
    generated = run_daily(engine, settings, now)
    assert sorted((g.subject, g.status) for g in generated) == [
        ("*", "created"),
        ("trotti", "created"),
    ]
    summary = send_pending(engine, settings, lambda: now)
    assert summary.sent == 2, summary.errors

    by_to = {m["To"]: m for m in smtp.messages()}
    op = by_to["ops@trotti.example"]
    assert op["Subject"] == "Rapport quotidien / Daily report – Trotti – 2026-11-02"
    files = attachments(op)
    assert set(files) == {"report-trotti-2026-11-02.pdf", "report-trotti-2026-11-02.csv"}
    rows = list(csv.DictReader(io.StringIO(files["report-trotti-2026-11-02.csv"].decode())))
    figures = {(r["section"], r["metric"], r["key"]): r["value"] for r in rows}
    assert figures[("fleet", "cap", "")] == "5"
    assert figures[("fleet", "deployed_max", "")] == "6"
    assert figures[("fleet", "samples_over_cap", "")] == "11"
    assert figures[("violations", "opened", "in_water")] == "1"
    assert figures[("notices", "issued", "")] == "1"
    assert figures[("feed", "fetches", "")] == "12"
    assert figures[("feed", "fetches_ok", "")] == "11"
    assert figures[("feed", "outage_s", "unavailable")] == "3600.0"
    pdf = files["report-trotti-2026-11-02.pdf"]
    assert 1 <= len(pdf_pages(pdf, tmp_path, "operator")) <= 2
    text = " ".join(pdf_text(pdf, tmp_path).replace("\u202f", " ").split())
    assert "Trotti" in text and "lundi 2 novembre 2026" in text
    assert "Dans l’eau / In water" in text
    assert "Déployés, max / Deployed, max 6" in text
    assert "jusqu’à 6 véhicules pour un plafond de 5 (11 relevés au-dessus)" in text
    body = html_body(op)
    assert 'data-field="deployed_max" data-value="6">6<' in body
    assert "jusqu’à 6 véhicules pour un plafond de 5" in body  # the same list as the PDF

    staff = by_to["mobilite@annecy.example"]
    assert 'data-operator="trotti"' in html_body(staff)
    files = attachments(staff)
    assert set(files) == {"report-city-2026-11-02.pdf", "report-city-2026-11-02.csv"}
    city_pdf = files["report-city-2026-11-02.pdf"]
    assert len(pdf_pages(city_pdf, tmp_path, "city")) == 1  # the one-page summary
    text = " ".join(pdf_text(city_pdf, tmp_path).split())
    assert "Synthèse quotidienne / Daily summary" in text and "Trotti (6 > 5)" in text

    # the daily job runs again (every minute): nothing new, nothing sent twice
    assert run_daily(engine, settings, now + timedelta(minutes=1)) == []
    assert send_pending(engine, settings, lambda: now).claimed == 0
    assert len(smtp.messages()) == 2


def test_regenerating_a_day_gives_the_same_report(db_url: str, engine: Engine) -> None:
    settings = settings_for(db_url)
    build_day(engine, settings)
    now = T0 + timedelta(days=1)
    with Session(engine) as s, s.begin():
        first = {g.subject: g for g in generate_day(s, DAY, settings, now)}
    with Session(engine) as s, s.begin():
        again = {g.subject: g for g in generate_day(s, DAY, settings, now + timedelta(days=3))}
    assert {k: g.status for k, g in again.items()} == {"*": "unchanged", "trotti": "unchanged"}
    assert {k: g.content_hash for k, g in again.items()} == {
        k: g.content_hash for k, g in first.items()
    }
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM daily_report")).scalar() == 2


def test_later_data_leaves_a_day_alone_late_data_makes_a_new_version(
    db_url: str, engine: Engine, smtp: SMTPServer
) -> None:
    settings = settings_for(db_url, smtp.port)
    feed = build_day(engine, settings)
    now = T0 + timedelta(days=1)
    run_daily(engine, settings, now)
    assert send_pending(engine, settings, lambda: now).sent == 2
    # the next day: vehicles move, violations end, new fetches; the report of the 2nd stands
    feed.poll([vehicle_at("ts0", STREET)], now + timedelta(hours=1))
    evaluate(engine, now + timedelta(hours=1, seconds=30))
    with Session(engine) as s, s.begin():
        assert {g.status for g in generate_day(s, DAY, settings, now)} == {"unchanged"}
    # a fetch of the 2nd recorded late (a replayed capture): a new version, archived, not re-sent
    with engine.connect() as conn, conn.begin():
        conn.execute(
            text(
                "INSERT INTO feed_fetch (feed_id, started_at, source, outcome, error_kind)"
                " VALUES (:f, :t, 'replay', 'error', 'http')"
            ),
            {"f": feed.feed_id, "t": T0 + timedelta(hours=13)},
        )
    with Session(engine) as s, s.begin():
        regenerated = {g.subject: g for g in generate_day(s, DAY, settings, now)}
        assert regenerated["trotti"].status == "new_version" and regenerated["trotti"].version == 2
        assert queue_deliveries(s, DAY, settings, now) == 0
    assert send_pending(engine, settings, lambda: now).claimed == 0
    with engine.connect() as conn:
        versions = (
            conn.execute(
                text("SELECT version FROM daily_report WHERE subject = 'trotti' ORDER BY version")
            )
            .scalars()
            .all()
        )
    assert versions == [1, 2]


def test_report_by_webhook(db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from fleet_monitor.outbox.webhook import verify
    from tests.httpserver import LocalHTTPServer, Reply

    settings = settings_for(db_url)
    monkeypatch.setenv("FLEET_WEBHOOK_SECRET_TROTTI", "report-secret")
    with LocalHTTPServer() as server:
        server.route("/reports", Reply(status=200))
        setup_city(engine)
        feed = Feed(engine, "trotti", "Trotti")
        add_contact(engine, "trotti", "webhook", server.url("/reports"), notices=False)
        feed.poll([vehicle_at("ts", STREET)], T0)
        now = T0 + timedelta(days=1)
        run_daily(engine, settings, now)
        assert send_pending(engine, settings, lambda: now).sent == 1
        [request] = server.requests_for("/reports")
    assert request.headers["x-fleet-event"] == "report.daily"
    assert verify(
        b"report-secret",
        request.headers["x-fleet-timestamp"],
        request.body,
        request.headers["x-fleet-signature"],
    )
    import orjson

    body = orjson.loads(request.body)
    assert body["report"]["operator"]["slug"] == "trotti" and body["report"]["day"] == "2026-11-02"
