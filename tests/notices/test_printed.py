"""A notice is printed once, at its first need, from the payload frozen at issue.

Issuing stores the payload but no PDF; the first delivery, download, respond
link or API read prints it and stores it with its SHA-256; every later use
serves those same bytes; two deliveries at once print it once; a cancelled act
that was never printed is never printed.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from fleet_monitor.notices import document
from fleet_monitor.notices.jobs import send_pending
from fleet_monitor.notices.printed import notice_pdf
from tests.notices.helpers import T0, SMTPServer, World, attachments, build_world, settings_for
from tests.web.conftest import make_app, signed_in


def printings(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT details FROM audit_log WHERE event = 'notice.printed' ORDER BY id")
        ).scalars()
        return [(d["notice"], d["for"]) for d in rows]


def stored(engine: Engine, notice_id: int) -> tuple[bytes | None, str | None]:
    with engine.connect() as conn:
        pdf, sha = conn.execute(
            text("SELECT pdf, pdf_sha256 FROM notice WHERE id = :id"), {"id": notice_id}
        ).one()
    return (bytes(pdf) if pdf is not None else None), sha


def test_download_prints_once_and_the_delivery_sends_the_same_bytes(
    db_url: str, engine: Engine, smtp: SMTPServer
) -> None:
    settings = settings_for(db_url, smtp.port)
    world: World = build_world(engine, settings, report=False)
    trotti, velo = world.notice["trotti"], world.notice["velo"]
    assert stored(engine, trotti) == (None, None) and printings(engine) == []
    officer: FlaskClient = signed_in(
        make_app(db_url, engine), engine, "o@annecy.example", "officer"
    )
    page = officer.get(f"/notices/{trotti}").get_data(as_text=True)
    assert f"/notices/{trotti}/pdf" in page  # offered before it is printed
    first = officer.get(f"/notices/{trotti}/pdf")
    assert first.status_code == 200 and first.data.startswith(b"%PDF")
    pdf, sha = stored(engine, trotti)
    assert pdf == first.data and sha == document.pdf_sha256(first.data)
    assert officer.get(f"/notices/{trotti}/pdf").data == pdf  # served, not printed again
    assert f"sha256 {sha}" in officer.get(f"/notices/{trotti}").get_data(as_text=True)
    ref = world.reference["trotti"]
    assert printings(engine) == [(ref, "download")]

    now = T0 + timedelta(minutes=2)
    assert send_pending(engine, settings, lambda: now).sent == 2
    sent = {m["X-Fleet-Notice"]: attachments(m) for m in smtp.messages()}
    assert sent[ref][f"{ref}.pdf"] == pdf  # the act as downloaded is the act as sent
    other = world.reference["velo"]
    assert printings(engine) == [(ref, "download"), (other, "delivery")]
    assert sent[other][f"{other}.pdf"] == stored(engine, velo)[0]


def test_two_at_once_print_once_and_a_cancelled_act_is_never_printed(
    db_url: str, engine: Engine
) -> None:
    settings = settings_for(db_url)
    world = build_world(engine, settings, report=False)
    trotti, velo = world.notice["trotti"], world.notice["velo"]
    results: list[tuple[bytes, str] | None] = []
    start = threading.Barrier(2)

    def first_need() -> None:
        with Session(engine) as s, s.begin():
            start.wait()
            results.append(notice_pdf(s, trotti, None, why="test"))

    threads = [threading.Thread(target=first_need) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 2 and results[0] is not None and results[0] == results[1]
    assert printings(engine) == [(world.reference["trotti"], "test")]

    with engine.begin() as conn:
        conn.execute(text("UPDATE notice SET status = 'cancelled' WHERE id = :id"), {"id": velo})
    with Session(engine) as s, s.begin():
        assert notice_pdf(s, velo, None, why="test") is None
    officer = signed_in(make_app(db_url, engine), engine, "o@annecy.example", "officer")
    assert officer.get(f"/notices/{velo}/pdf").status_code == 404
    assert stored(engine, velo) == (None, None) and len(printings(engine)) == 1
