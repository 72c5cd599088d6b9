"""Delivery: retries with backoff, permanent failures shown, at most once with concurrent
senders, signed webhooks through the network guard, senders that die mid-send."""

from __future__ import annotations

import threading
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from fleet_monitor.notices.actions import Actor, retry
from fleet_monitor.notices.jobs import plan, send_pending
from fleet_monitor.outbox.store import backoff, sweep_stale
from fleet_monitor.outbox.webhook import secret_env_name, verify
from tests.httpserver import LocalHTTPServer, Reply
from tests.notices.helpers import (
    T0,
    WATER,
    Feed,
    SMTPServer,
    add_contact,
    evaluate,
    settings_for,
    setup_city,
    vehicle_at,
)

NOW = T0 + timedelta(minutes=1)


def deliveries(engine: Engine) -> list[dict]:  # type: ignore[type-arg]
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, channel, recipient, status, attempts, next_attempt_at, last_error,"
                " response_code, sent_at FROM delivery ORDER BY id"
            )
        ).mappings()
        return [dict(r) for r in rows]


def test_backoff_doubles_up_to_the_maximum() -> None:
    assert [backoff(a, 60, 3600).total_seconds() for a in (1, 2, 3, 7, 12)] == [
        60,
        120,
        240,
        3600,
        3600,
    ]


def test_transient_failure_is_retried_then_delivered_once(
    db_url: str, engine: Engine, smtp: SMTPServer
) -> None:
    settings = settings_for(db_url, smtp.port)
    setup_city(engine)
    Feed(engine, "trotti", "Trotti").poll([vehicle_at("w0", WATER)], T0)
    add_contact(engine, "trotti", "email", "ops@trotti.example")
    evaluate(engine, T0 + timedelta(seconds=30))
    [reference] = plan(engine, settings, NOW).issued

    smtp.fail("RCPT", "451 4.3.0 Mailbox temporarily unavailable")
    summary = send_pending(engine, settings, lambda: NOW)
    assert (summary.sent, summary.retrying) == (0, 1)
    [d] = deliveries(engine)
    assert d["status"] == "pending" and d["attempts"] == 1 and d["response_code"] == 451
    assert d["next_attempt_at"] == NOW + timedelta(seconds=60)
    assert "451" in d["last_error"]
    # not due yet: nothing is sent
    assert send_pending(engine, settings, lambda: NOW + timedelta(seconds=30)).claimed == 0
    smtp.fail("DATA", "452 4.3.1 Insufficient system storage")
    later = NOW + timedelta(seconds=61)
    assert send_pending(engine, settings, lambda: later).retrying == 1
    assert deliveries(engine)[0]["next_attempt_at"] == later + timedelta(seconds=120)
    final = later + timedelta(seconds=121)
    assert send_pending(engine, settings, lambda: final).sent == 1
    [d] = deliveries(engine)
    assert d["status"] == "sent" and d["attempts"] == 3 and d["sent_at"] == final
    [msg] = smtp.messages()
    assert reference in msg["Subject"]
    assert send_pending(engine, settings, lambda: final + timedelta(hours=1)).claimed == 0
    assert len(smtp.messages()) == 1
    with engine.connect() as conn:
        sent_at = conn.execute(text("SELECT sent_at FROM notice")).scalar()
    assert sent_at == final


def test_permanent_failure_is_shown_and_not_retried(
    db_url: str, engine: Engine, smtp: SMTPServer
) -> None:
    settings = settings_for(db_url, smtp.port)
    setup_city(engine)
    Feed(engine, "trotti", "Trotti").poll([vehicle_at("w0", WATER)], T0)
    add_contact(engine, "trotti", "email", "nobody@trotti.example")
    add_contact(engine, "trotti", "email", "ops@trotti.example")
    evaluate(engine, T0 + timedelta(seconds=30))
    plan(engine, settings, NOW)
    smtp.fail("RCPT", "550 5.1.1 No such user")
    summary = send_pending(engine, settings, lambda: NOW)
    assert (summary.sent, summary.failed) == (1, 1)
    failed = [d for d in deliveries(engine) if d["status"] == "failed"]
    assert [d["recipient"] for d in failed] == ["nobody@trotti.example"]
    assert "550 5.1.1 No such user" in failed[0]["last_error"]
    assert send_pending(engine, settings, lambda: NOW + timedelta(days=1)).claimed == 0
    with engine.connect() as conn:
        events = conn.execute(
            text(
                "SELECT event, details->>'recipient' FROM audit_log"
                " WHERE event LIKE 'notice.%' ORDER BY id"
            )
        ).all()
    assert ("notice.delivery_failed", "nobody@trotti.example") in events
    assert ("notice.sent", "ops@trotti.example") in events

    # a supervisor fixes the address and asks for it again: it goes out once more
    with Session(engine) as s, s.begin():
        assert retry(s, failed[0]["id"], Actor("chef@annecy.example"), NOW + timedelta(days=1))
    assert send_pending(engine, settings, lambda: NOW + timedelta(days=1)).sent == 1
    assert len(smtp.messages()) == 2


def test_two_concurrent_senders_never_deliver_twice(
    db_url: str, engine: Engine, smtp: SMTPServer
) -> None:
    settings = settings_for(db_url, smtp.port)
    setup_city(engine)
    Feed(engine, "trotti", "Trotti").poll([vehicle_at("w0", WATER)], T0)
    addresses = [f"agent{i}@trotti.example" for i in range(12)]
    for a in addresses:
        add_contact(engine, "trotti", "email", a)
    evaluate(engine, T0 + timedelta(seconds=30))
    plan(engine, settings, NOW)
    smtp.data_delay_s = 0.02  # senders overlap while messages are in flight
    barrier = threading.Barrier(3)
    summaries = []

    def sender(limit: int) -> None:
        barrier.wait()
        for _ in range(6):
            summaries.append(send_pending(engine, settings, lambda: NOW, limit=limit))

    threads = [threading.Thread(target=sender, args=(n,)) for n in (2, 3, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    received = sorted(r for m in smtp.received for r in m.rcpt_tos)
    assert received == sorted(addresses)  # each exactly once
    assert sum(s.sent for s in summaries) == len(addresses)
    assert {d["status"] for d in deliveries(engine)} == {"sent"}
    assert {d["attempts"] for d in deliveries(engine)} == {1}


def test_a_sender_that_died_mid_send_leaves_an_unknown_outcome(
    db_url: str, engine: Engine, smtp: SMTPServer
) -> None:
    settings = settings_for(db_url, smtp.port)
    setup_city(engine)
    Feed(engine, "trotti", "Trotti").poll([vehicle_at("w0", WATER)], T0)
    add_contact(engine, "trotti", "email", "ops@trotti.example")
    evaluate(engine, T0 + timedelta(seconds=30))
    plan(engine, settings, NOW)
    with Session(engine) as s, s.begin():  # claimed by a sender that then died
        s.execute(
            text(
                "UPDATE delivery SET status = 'sending', attempts = 1,"
                " claimed_by = 'dead', claimed_until = :t"
            ),
            {"t": NOW},
        )
    with Session(engine) as s, s.begin():
        assert sweep_stale(s, NOW - timedelta(seconds=1)) == 0  # lease not over yet
    summary = send_pending(engine, settings, lambda: NOW + timedelta(minutes=20))
    assert (summary.swept, summary.claimed) == (1, 0)
    [d] = deliveries(engine)
    assert d["status"] == "unknown" and "may have been sent" in d["last_error"]
    assert smtp.messages() == []  # never re-sent automatically


def test_webhook_signed_and_checked(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(db_url)
    with LocalHTTPServer() as server:
        server.route("/hooks/city", Reply(status=503), Reply(status=204))
        setup_city(engine)
        Feed(engine, "trotti", "Trotti").poll([vehicle_at("w0", WATER)], T0)
        add_contact(engine, "trotti", "webhook", server.url("/hooks/city"))
        evaluate(engine, T0 + timedelta(seconds=30))
        [reference] = plan(engine, settings, NOW).issued
        monkeypatch.delenv(secret_env_name("trotti"), raising=False)
        assert send_pending(engine, settings, lambda: NOW).failed == 1  # no secret: never unsigned
        assert "FLEET_WEBHOOK_SECRET_TROTTI" in deliveries(engine)[0]["last_error"]
        assert server.requests == []

        monkeypatch.setenv("FLEET_WEBHOOK_SECRET_TROTTI", "s3cret-trotti")
        with Session(engine) as s, s.begin():
            retry(s, deliveries(engine)[0]["id"], Actor("chef@annecy.example"), NOW)
        assert send_pending(engine, settings, lambda: NOW).retrying == 1  # 503: transient
        assert send_pending(engine, settings, lambda: NOW + timedelta(minutes=2)).sent == 1
        first, second = server.requests_for("/hooks/city")
    assert first.body == second.body
    headers = second.headers
    assert headers["x-fleet-event"] == "notice.issued"
    assert headers["x-fleet-delivery"] == f"notice:{reference}:webhook:{server.url('/hooks/city')}"
    assert verify(
        b"s3cret-trotti", headers["x-fleet-timestamp"], second.body, headers["x-fleet-signature"]
    )
    assert not verify(
        b"another", headers["x-fleet-timestamp"], second.body, headers["x-fleet-signature"]
    )
    body = orjson.loads(second.body)
    assert body["notice"]["reference"] == reference
    assert body["notice"]["items"][0]["vehicle"]["gbfs_id"] == "w0"


def test_webhook_to_a_private_address_is_refused(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(db_url, webhook_allowed_private_hosts=())
    monkeypatch.setenv("FLEET_WEBHOOK_SECRET_TROTTI", "x")
    with LocalHTTPServer() as server:
        server.route("/hook", Reply(status=204))
        setup_city(engine)
        Feed(engine, "trotti", "Trotti").poll([vehicle_at("w0", WATER)], T0)
        with Session(engine) as s, s.begin():  # e.g. added before the policy changed
            s.execute(
                text(
                    "INSERT INTO operator_contact (operator_id, channel, address)"
                    " SELECT id, 'webhook', :u FROM operator"
                ),
                {"u": server.url("/hook")},
            )
        evaluate(engine, T0 + timedelta(seconds=30))
        plan(engine, settings, NOW)
        assert send_pending(engine, settings, lambda: NOW).failed == 1
        assert server.requests == []
    assert "loopback" in deliveries(engine)[0]["last_error"]


def test_e_mail_waits_while_no_smtp_server_is_configured(db_url: str, engine: Engine) -> None:
    settings = settings_for(db_url)  # [mail] smtp_host empty
    setup_city(engine)
    Feed(engine, "trotti", "Trotti").poll([vehicle_at("w0", WATER)], T0)
    add_contact(engine, "trotti", "email", "ops@trotti.example")
    evaluate(engine, T0 + timedelta(seconds=30))
    plan(engine, settings, NOW)
    for hours in (0, 5, 48):
        assert send_pending(engine, settings, lambda h=hours: NOW + timedelta(hours=h)).claimed == 0
    [d] = deliveries(engine)
    assert (d["status"], d["attempts"]) == ("pending", 0)
