"""Disputes decided: the operator disputes one vehicle through the notice's signed link,
with files; a supervisor upholds it; the penalty is void, the exchange is in the case
and notice timelines, and the dispute and acceptance rates are in the statistics and
the daily report. The delivery status tells the truth (sent, then read)."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from fleet_monitor.notices.jobs import check, send_pending
from fleet_monitor.reports import generate_day
from fleet_monitor.stats.methods import MethodParams
from fleet_monitor.stats.periods import parse_period
from fleet_monitor.stats.report import ReportQuery, build_report
from fleet_monitor.web import create_app
from tests.notices.helpers import T0, WATER, SMTPServer, World, settings_for, vehicle_at
from tests.notices.pdfcheck import pdf_pages, pdf_text, tiny_png
from tests.web.conftest import CSRF_RE, add_user, login, make_settings


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    """A real SMTP server (aiosmtpd) for the notices' deliveries."""
    server = SMTPServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + timedelta(minutes=30))


@pytest.fixture
def site(db_url: str, engine: Engine, world: World, clock: Clock) -> Flask:
    app = create_app(make_settings(db_url), engine=engine, config={"FLEET_CLOCK": clock})
    app.testing = True
    return app


def link_of(engine: Engine, notice_id: int) -> str:
    with engine.connect() as conn:
        payload = conn.execute(
            text("SELECT payload FROM notice WHERE id = :n"), {"n": notice_id}
        ).scalar_one()
    link: str = payload["respond"]["link"]
    return link.removeprefix("https://fleet.annecy.example")


def csrf(page: str) -> str:
    match = CSRF_RE.search(page)
    assert match
    return match.group(1)


def signed(site: Flask, engine: Engine, email: str, role: str) -> FlaskClient:
    add_user(engine, email, role, None)
    client = site.test_client()
    assert login(client, email).status_code == 302
    return client


def one(engine: Engine, sql: str, **kw: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), kw).one()


def test_dispute_upheld_voids_the_penalty(
    db_url: str,
    engine: Engine,
    world: World,
    site: Flask,
    clock: Clock,
    smtp: SMTPServer,
    tmp_path: Any,
) -> None:
    settings = settings_for(db_url, smtp.port)
    nid = world.notice["trotti"]
    send_pending(engine, settings, lambda: T0 + timedelta(minutes=2))
    chef = signed(site, engine, "chef@annecy.example", "supervisor")
    page = chef.get(f"/notices/{nid}").get_data(as_text=True)
    assert 'data-state="sent"' in page  # accepted by the mail server, not yet read
    listing = chef.get("/notices/").get_data(as_text=True)
    assert 'data-delivery-state="sent"' in listing and "Avis de manquement" in listing

    # the operator opens its link: no account needed, the notice is now "read"
    anon = site.test_client()
    link = link_of(engine, nid)
    response = anon.get(link)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert world.reference["trotti"] in page and "tw1" in page
    assert world.reference["velo"] not in page
    # the act itself, as sent (same partials as the PDF), with the link it was sent with
    assert 'class="fm-notice-document"' in page and 'data-field="respond-link"' in page
    assert one(engine, "SELECT read_by FROM notice WHERE id = :n", n=nid)[0].startswith("link:")
    assert 'data-state="read"' in chef.get(f"/notices/{nid}").get_data(as_text=True)
    assert anon.get(link + "/pdf").data.startswith(b"%PDF")
    # a tampered link is unknown, an expired one is gone
    assert anon.get(link[:-3] + "abc").status_code == 404
    clock.at = T0 + timedelta(days=40)
    assert anon.get(link).status_code == 410
    clock.at = T0 + timedelta(minutes=30)

    item = int(re.search(r'data-item="(\d+)"', page).group(1))  # type: ignore[union-attr]
    token = csrf(page)
    trip_log = b"trip_id,start,end\nT-881,2026-11-02T08:40:00Z,2026-11-02T08:52:00Z\n"
    photo = tiny_png(tmp_path / "photo.png").read_bytes()

    def dispute(files: list[tuple[bytes, str]], reason: str = "Rented at 09:40") -> Any:
        return anon.post(
            link + "/dispute",
            data={
                "csrf_token": token,
                "item": str(item),
                "reason": reason,
                "files": [(io.BytesIO(data), name) for data, name in files],
            },
            content_type="multipart/form-data",
        )

    # a file of an unknown type is refused, and nothing is kept
    refused = dispute([(trip_log, "trips.csv"), (b"MZ\x90\x00binary", "tool.exe")])
    assert refused.status_code == 400 and "tool.exe" in refused.get_data(as_text=True)
    assert one(engine, "SELECT count(*) FROM notice_dispute")[0] == 0
    # no CSRF token: refused
    assert anon.post(link + "/dispute", data={"item": str(item), "reason": "x"}).status_code == 400
    ok = dispute([(trip_log, "trips 2026-11-02.csv"), (photo, "IMG_0042.png")])
    assert ok.status_code == 302
    files = {
        r[0]: r[1:]
        for r in engine.connect().execute(
            text("SELECT filename, media_type, sha256 FROM dispute_attachment ORDER BY id")
        )
    }
    assert files["trips_2026-11-02.csv"] == ("text/csv", hashlib.sha256(trip_log).hexdigest())
    assert files["IMG_0042.png"][0] == "image/png"
    assert dispute([(trip_log, "again.csv")]).status_code == 400  # once per vehicle
    assert one(engine, "SELECT response FROM notice WHERE id = :n", n=nid)[0] == "disputed"

    # the deadline passes with the vehicle in place: a penalty, but no penalty statement
    # while the dispute is open
    world.feeds["trotti"].poll([vehicle_at("tw1", WATER)], T0 + timedelta(hours=2, minutes=5))
    result = check(engine, settings, T0 + timedelta(hours=2, minutes=10))
    assert result.overdue >= 1 and result.statements == []
    due = "SELECT status FROM penalty WHERE notice_id = :n"
    assert one(engine, due, n=nid)[0] == "due"

    # the supervisor sees the dispute and its files, and upholds it with reasons
    page = chef.get(f"/notices/{nid}").get_data(as_text=True)
    assert "Rented at 09:40" in page and "IMG_0042.png" in page
    did = int(re.search(r'data-dispute="(\d+)"', page).group(1))  # type: ignore[union-attr]
    aid = re.search(rf"/disputes/{did}/attachments/(\d+)", page).group(1)  # type: ignore[union-attr]
    got = chef.get(f"/disputes/{did}/attachments/{aid}")
    assert got.headers["X-Content-Type-Options"] == "nosniff" and got.data in (trip_log, photo)
    assert anon.get(f"/disputes/{did}/attachments/{aid}").status_code in (302, 401)
    officer = signed(site, engine, "agent@annecy.example", "officer")
    assert (
        officer.post(
            f"/disputes/{did}/decide",
            data={
                "csrf_token": csrf(officer.get("/notices/").get_data(as_text=True)),
                "decision": "upheld",
                "reason": "x",
            },
        ).status_code
        == 403
    )
    no_reason = chef.post(
        f"/disputes/{did}/decide", data={"csrf_token": csrf(page), "decision": "upheld"}
    )
    assert no_reason.status_code == 302
    assert one(engine, "SELECT status FROM notice_dispute WHERE id = :d", d=did)[0] == "open"
    decided = chef.post(
        f"/disputes/{did}/decide",
        data={
            "csrf_token": csrf(page),
            "decision": "upheld",
            "reason": "The trip log shows a rental at 09:40; the vehicle left the lake.",
        },
    )
    assert decided.status_code == 302
    assert one(engine, due, n=nid)[0] == "void"
    vid = world.violation["trotti"]
    assert one(engine, "SELECT status FROM case_file WHERE violation_id = :v", v=vid)[0] == (
        "dismissed"
    )
    # no penalty statement: nothing is due any more
    assert check(engine, settings, T0 + timedelta(hours=3)).statements == []

    # the exchange is in the case timeline and the notice page
    case = chef.get(f"/cases/{vid}").get_data(as_text=True)
    assert 'data-kind="dispute"' in case and 'data-kind="dispute_upheld"' in case
    assert "Rented at 09:40" in case and "the vehicle left the lake" in case
    assert 'data-kind="notice_read"' in case
    page = chef.get(f"/notices/{nid}").get_data(as_text=True)
    assert 'data-status="upheld"' in page and "the vehicle left the lake" in page
    # the operator sees the decision on its page
    assert "the vehicle left the lake" in anon.get(link).get_data(as_text=True)

    # statistics and the daily report: dispute rate and acceptance rate
    stats = stats_report(engine, T0 + timedelta(hours=4))["sections"]["notices"]
    trotti = {r["operator"]: r for r in stats["rows"]}["trotti"]
    assert (trotti["vehicles_noticed"], trotti["vehicles_disputed"]) == (1, 1)
    assert (trotti["dispute_rate"], trotti["acceptance_rate"]) == (1.0, 1.0)
    velo = {r["operator"]: r for r in stats["rows"]}["velo"]
    assert (velo["dispute_rate"], velo["acceptance_rate"]) == (0.0, None)
    with Session(engine) as s, s.begin():
        reports = {
            g.subject: g.report_id
            for g in generate_day(s, T0.date(), settings, T0 + timedelta(days=1))
        }
    with engine.connect() as conn:
        figures, pdf = conn.execute(
            text("SELECT data, pdf FROM daily_report WHERE id = :r"), {"r": reports["trotti"]}
        ).one()
    assert figures["notices"]["disputes"]["upheld"] == 1
    assert figures["notices"]["disputes"]["acceptance_rate"] == 1.0
    words = " ".join(pdf_text(bytes(pdf), tmp_path).split())
    assert "Contestations / Disputes" in words and "acceptance rate 100 %" in words
    assert len(pdf_pages(bytes(pdf), tmp_path, "report")) >= 1


def stats_report(engine: Engine, now: datetime) -> dict[str, Any]:
    query = ReportQuery(parse_period("2026-11-02", "Europe/Paris"), lang="fr")
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cur:  # type: ignore[union-attr]
            return build_report(cur, query, visible=None, params=MethodParams(), now=now)
    finally:
        raw.close()


def test_rejected_dispute_keeps_the_penalty(
    db_url: str, engine: Engine, world: World, site: Flask, smtp: SMTPServer
) -> None:
    settings = settings_for(db_url, smtp.port)
    nid = world.notice["velo"]
    send_pending(engine, settings, lambda: T0 + timedelta(minutes=2))
    anon = site.test_client()
    link = link_of(engine, nid)
    page = anon.get(link).get_data(as_text=True)
    item = re.search(r'data-item="(\d+)"', page).group(1)  # type: ignore[union-attr]
    assert (
        anon.post(
            link + "/dispute", data={"csrf_token": csrf(page), "item": item, "reason": "GPS"}
        ).status_code
        == 302
    )
    world.feeds["velo"].poll(
        [vehicle_at("vw1", WATER, east_m=20)], T0 + timedelta(hours=2, minutes=5)
    )
    check(engine, settings, T0 + timedelta(hours=2, minutes=10))
    chef = signed(site, engine, "chef@annecy.example", "supervisor")
    page = chef.get(f"/notices/{nid}").get_data(as_text=True)
    did = re.search(r'data-dispute="(\d+)"', page).group(1)  # type: ignore[union-attr]
    chef.post(
        f"/disputes/{did}/decide",
        data={"csrf_token": csrf(page), "decision": "rejected", "reason": "In the lake."},
    )
    assert one(engine, "SELECT status FROM penalty WHERE notice_id = :n", n=nid)[0] == "due"
    # decided: the penalty statement follows
    result = check(engine, settings, T0 + timedelta(hours=3))
    assert len(result.statements) == 1
    ok: Callable[[], datetime] = lambda: T0 + timedelta(hours=3)  # noqa: E731
    assert send_pending(engine, settings, ok).sent == 1
    assert "État des pénalités" in smtp.messages()[-1]["Subject"]
    # a statement cannot be disputed, nor can the notice any more
    page = anon.get(link).get_data(as_text=True)
    assert "Dispute this vehicle" not in page and "Contester ce véhicule" not in page


def test_api_disputes_one_vehicle_with_a_file(engine: Engine, world: World, site: Flask) -> None:
    import base64

    from fleet_monitor.notices.contacts import create_token

    with Session(engine) as s, s.begin():
        _row, token = create_token(s, "trotti", name="backoffice", actor="test")
    auth = {"Authorization": f"Bearer {token}"}
    client = site.test_client()
    ref, vid = world.reference["trotti"], world.violation["trotti"]
    shown = client.get(f"/api/notices/{ref}", headers=auth).get_json()
    assert shown["disputes"] == [] and shown["document"]["kind"] == "breach"
    assert one(engine, "SELECT read_by FROM notice WHERE reference = :r", r=ref)[0].startswith(
        "token:"
    )
    url = f"/api/notices/{ref}/vehicles/{vid}/dispute"
    csv = b"trip_id,start\nT-9,2026-11-02T08:40:00Z\n"
    bad = client.post(
        url,
        headers=auth,
        json={"reason": "x", "attachments": [{"filename": "a.csv", "content_base64": "%%%"}]},
    )
    assert bad.status_code == 400
    exe = client.post(
        url,
        headers=auth,
        json={
            "reason": "x",
            "attachments": [
                {"filename": "a.exe", "content_base64": base64.b64encode(b"MZ\x00").decode()}
            ],
        },
    )
    assert exe.status_code == 400 and exe.get_json()["code"] == "bad_file"
    other = world.violation["velo"]
    assert (
        client.post(
            f"/api/notices/{ref}/vehicles/{other}/dispute", headers=auth, json={"reason": "x"}
        ).status_code
        == 404
    )
    ok = client.post(
        url,
        headers=auth,
        json={
            "reason": "Rented at 09:40",
            "attachments": [
                {"filename": "trips.csv", "content_base64": base64.b64encode(csv).decode()}
            ],
        },
    )
    assert ok.status_code == 201 and ok.get_json()["dispute"]["status"] == "open"
    assert client.post(url, headers=auth, json={"reason": "again"}).status_code == 409
    shown = client.get(f"/api/notices/{ref}", headers=auth).get_json()
    assert shown["disputes"][0]["attachments"][0]["sha256"] == hashlib.sha256(csv).hexdigest()


def test_operator_account_reaches_its_respond_page(
    engine: Engine, world: World, site: Flask
) -> None:
    add_user(engine, "ops@trotti.example", "operator", "trotti")
    ops = site.test_client()
    assert login(ops, "ops@trotti.example").status_code == 302
    page = ops.get(f"/notices/{world.notice['trotti']}").get_data(as_text=True)
    link = re.search(r'href="(/respond/[^"]+)" data-field="respond-page"', page)
    assert link, page
    assert "tw1" in ops.get(link.group(1)).get_data(as_text=True)
    # opening it from the account counts as reading it
    assert one(engine, "SELECT read_by FROM notice WHERE id = :n", n=world.notice["trotti"])[0] == (
        "ops@trotti.example"
    )
