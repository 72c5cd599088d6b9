"""The demo's mail catcher: notices sent through its real SMTP server are listed on its
page, their HTML body and PDF served as received; hostile messages are escaped. The
demo's scripted events are listed with their times, operators' contacts are set up."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from fleet_monitor.demo_loop import add_contacts, scripted_events, serve_mail_page
from fleet_monitor.mail_catcher import MailCatcher
from fleet_monitor.notices.jobs import send_pending
from gbfs_simulator import start_simulated_city
from tests.notices.helpers import T0, build_world, settings_for
from tests.notices.pdfcheck import pdf_pages, pdf_text


@pytest.fixture
def catcher() -> Iterator[tuple[MailCatcher, str]]:
    c = MailCatcher().start()
    page = serve_mail_page(c)
    try:
        yield c, f"http://127.0.0.1:{page.port}"
    finally:
        page.stop()
        c.stop()


def test_notices_as_received(
    db_url: str, engine: Engine, catcher: tuple[MailCatcher, str], tmp_path: Path
) -> None:
    c, url = catcher
    settings = settings_for(db_url, c.port)
    world = build_world(engine, settings, report=False)
    assert send_pending(engine, settings, lambda: T0 + timedelta(minutes=2)).sent == 2
    listing = httpx.get(url + "/", timeout=10)
    assert listing.status_code == 200
    page = listing.text
    for slug in ("trotti", "velo"):
        assert world.reference[slug] in page and f"ops@{slug}.example" in page
    newest = c.snapshot()[0]
    html = httpx.get(f"{url}/messages/{newest.id}.html", timeout=10)
    assert html.status_code == 200 and "Avis de manquement" in html.text
    assert "sandbox" in html.headers["content-security-policy"]
    assert "script-src" not in html.headers["content-security-policy"]
    pdf = httpx.get(f"{url}/messages/{newest.id}/attachments/0", timeout=10)
    assert pdf.headers["content-type"] == "application/pdf"
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT pdf FROM notice WHERE reference = :r"),
            {"r": newest.subject.split("]")[0].lstrip("[")},
        ).scalar_one()
    assert pdf.content == bytes(stored)  # byte for byte as the service stored it
    assert "Ville d'Annecy" in pdf_text(pdf.content, tmp_path)
    assert len(pdf_pages(pdf.content, tmp_path, "caught")) == 2  # the act with its map
    assert httpx.get(f"{url}/messages/999.html", timeout=10).status_code == 404


def test_hostile_message_is_escaped(catcher: tuple[MailCatcher, str]) -> None:
    c, url = catcher
    msg = EmailMessage()
    msg["From"], msg["To"] = "x@example.org", "<b>y</b>@example.org"
    msg["Subject"] = "<script>alert(1)</script>"
    msg.set_content("plain")
    msg.add_alternative("<p>hi</p><script>alert(2)</script>", subtype="html")
    with smtplib.SMTP("127.0.0.1", c.port, timeout=10) as smtp:
        smtp.send_message(msg)
    page = httpx.get(url + "/", timeout=10).text
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert (
        "default-src 'none'" in httpx.get(url + "/", timeout=10).headers["content-security-policy"]
    )


def test_demo_contacts_and_scripted_events(db_url: str, engine: Engine) -> None:
    build_world(engine, settings_for(db_url), report=False)
    assert add_contacts(engine, ["trotti"]) == ["ops@trotti.demo"]
    with engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM operator_contact WHERE address = 'ops@trotti.demo'")
        ).scalar_one()
    assert n == 1
    start = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)
    with start_simulated_city(vehicles=60, speed=60, start=start) as city:
        events = scripted_events(city, 60, datetime(2026, 11, 2, 12, 0, tzinfo=UTC))
    lake = next(e for e in events if e["name"] == "scooter-in-lake")
    # 19 simulated hours after the start: 19 wall minutes at x60; shown in Annecy's time
    assert (lake["sim_time"], lake["wall_time"], lake["operator"]) == (
        "03/11 03:00",
        "12:19:00",
        "trotti",
    )
    assert [e["wall_time"] for e in events] == sorted(e["wall_time"] for e in events)
