"""From the feed to the operator's mailbox: ingest, rules, notice, SMTP, deadline, penalty."""

from __future__ import annotations

import io
from datetime import timedelta

from pypdf import PdfReader
from sqlalchemy import Engine, text

from fleet_monitor.notices.jobs import check, plan, send_pending
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
    violations,
)


def test_feed_to_notice_email_to_penalty(db_url: str, engine: Engine, smtp: SMTPServer) -> None:
    settings = settings_for(db_url, smtp.port)
    setup_city(engine)
    feed = Feed(engine, "trotti", "Trotti")
    add_contact(engine, "trotti", "email", "Ops@Trotti.example")
    fleet = [
        vehicle_at("tw1", WATER),
        vehicle_at("tn1", NO_PARKING),
        vehicle_at("ts1", STREET),
    ]
    feed.poll(fleet, T0)
    evaluate(engine, T0 + timedelta(seconds=30))
    found = {v["gbfs_id"]: v for v in violations(engine, "trotti")}
    assert found["tw1"]["rule_type"] == "in_water" and found["tw1"]["status"] == "violation"
    assert found["tn1"]["rule_type"] == "in_no_parking_area"
    assert "ts1" not in found

    # urgent (in water): noticed at once; the no-parking one waits for its batch window
    now = T0 + timedelta(minutes=1)
    result = plan(engine, settings, now)
    assert len(result.issued) == 1
    reference = result.issued[0]
    assert reference == "ANN-2026-000001"
    summary = send_pending(engine, settings, lambda: now)
    assert (summary.sent, summary.failed) == (1, 0)

    [msg] = smtp.messages()
    assert msg["To"] == "ops@trotti.example"
    assert reference in msg["Subject"] and "URGENT" in msg["Subject"]
    # deadline: 2 h (day hours in Annecy), shown in local time
    assert "02/11/2026 11:01" in msg["Subject"]
    body = html_body(msg)
    assert reference in body and "tw1" in body and "Dans l’eau / In water" in body
    pdf_bytes = attachments(msg)[f"{reference}.pdf"]
    pdf_text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf_bytes)).pages)
    for expected in (reference, "tw1", "02/11/2026 11:01", "permit:trotti:v1", feed.hashes[0][:20]):
        assert expected in pdf_text.replace("\n", " ") or expected in pdf_text, expected
    assert f"{WATER[0]:.6f}" in pdf_text

    # the vehicle stays in the water past the deadline: overdue, penalty from the permit
    feed.poll(fleet, now + timedelta(hours=2, minutes=5))
    result = check(engine, settings, now + timedelta(hours=2, minutes=10))
    assert (result.overdue, result.remedied) == (1, 0)
    assert result.penalties_eur == 120.0
    with engine.connect() as conn:
        notice = conn.execute(
            text("SELECT status, outcome, sent_at FROM notice WHERE reference = :r"),
            {"r": reference},
        ).one()
        penalty = conn.execute(text("SELECT amount_eur, rule_type, status FROM penalty")).one()
    assert notice.status == "closed" and notice.outcome == "overdue"
    assert notice.sent_at == now
    assert (float(penalty.amount_eur), penalty.rule_type, penalty.status) == (
        120.0,
        "in_water",
        "due",
    )


def test_over_http_from_the_operators_feed_to_a_remedied_notice(
    db_url: str, engine: Engine, smtp: SMTPServer
) -> None:
    """The real ingest (HTTP, discovery, polls), the rules, an e-mailed notice, and the
    operator collecting the vehicle before the deadline."""
    import orjson

    from gbfs_ingest.config import IngestSettings, OperatorSettings
    from gbfs_ingest.model import FeedType
    from gbfs_ingest.pipeline import Ingestor
    from tests.httpserver import LocalHTTPServer, Reply

    now = [T0]

    def bikes(*where: tuple[str, tuple[float, float]]) -> Reply:
        data = [
            {"bike_id": vid, "lat": lat, "lon": lon, "is_reserved": False, "is_disabled": False}
            for vid, (lat, lon) in where
        ]
        doc = {
            "last_updated": int(now[0].timestamp()),
            "ttl": 0,
            "version": "2.3",
            "data": {"bikes": data},
        }
        return Reply.json(orjson.dumps(doc).decode())

    settings = settings_for(db_url, smtp.port)
    setup_city(engine)
    with LocalHTTPServer() as server:
        feeds = [{"name": "free_bike_status", "url": server.url("/fbs.json")}]
        discovery = {
            "last_updated": int(T0.timestamp()),
            "ttl": 0,
            "version": "2.3",
            "data": {"fr": {"feeds": feeds}},
        }
        server.route("/gbfs.json", Reply.json(orjson.dumps(discovery).decode()))
        server.route("/fbs.json", lambda _r: bikes(("sw1", WATER), ("ss1", STREET)))
        ingestor = Ingestor(
            engine,
            IngestSettings(allowed_private_hosts=("127.0.0.1",), validate_schema=False),
            clock=lambda: now[0],
        )
        try:
            op = OperatorSettings(
                slug="trotti", name="Trotti", discovery_url=server.url("/gbfs.json")
            )
            feed_id = ingestor.discover(op).feed_ids[FeedType.VEHICLE_STATUS]
            assert ingestor.poll(feed_id).outcome == "ok"
            add_contact(engine, "trotti", "email", "ops@trotti.example")
            evaluate(engine, now[0] + timedelta(seconds=30))
            [reference] = plan(engine, settings, now[0] + timedelta(minutes=1)).issued
            assert send_pending(engine, settings, lambda: now[0] + timedelta(minutes=1)).sent == 1
            [msg] = smtp.messages()
            assert reference in msg["Subject"] and "sw1" in html_body(msg)
            pdf = attachments(msg)[f"{reference}.pdf"]
            assert "sw1" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)

            # the operator collects it: two polls without it, then the deadline passes
            server.route("/fbs.json", lambda _r: bikes(("ss1", STREET)))
            for minutes in (40, 41, 130):
                now[0] = T0 + timedelta(minutes=minutes)
                assert ingestor.poll(feed_id).outcome in ("ok", "unchanged")
        finally:
            ingestor.close()
    result = check(engine, settings, T0 + timedelta(minutes=135))
    assert (result.remedied, result.overdue) == (1, 0)
    with engine.connect() as conn:
        outcome = conn.execute(text("SELECT outcome_reason FROM notice_item")).scalar()
    assert outcome == "removed"
