"""Disputes at the domain level: upheld before the deadline check, the penalty line is
created void and nothing escalates; files are checked where they enter."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from fleet_monitor.notices.actions import ActionError, Actor
from fleet_monitor.notices.disputes import (
    MAX_FILE_BYTES,
    Upload,
    check_uploads,
    decide_dispute,
    open_dispute,
    safe_filename,
)
from fleet_monitor.notices.jobs import check, send_pending
from tests.notices.helpers import T0, WATER, SMTPServer, build_world, settings_for, vehicle_at


def test_upheld_before_the_check_means_no_penalty(
    db_url: str, engine: Engine, smtp: SMTPServer
) -> None:
    settings = settings_for(db_url, smtp.port)
    world = build_world(engine, settings, report=False)
    send_pending(engine, settings, lambda: T0 + timedelta(minutes=2))
    nid = world.notice["trotti"]
    with engine.connect() as conn:
        item = conn.execute(
            text("SELECT id FROM notice_item WHERE notice_id = :n"), {"n": nid}
        ).scalar_one()
    ops, chef = Actor("link:x", role="operator"), Actor("chef@annecy.example", role="supervisor")
    with Session(engine) as s, s.begin():
        did = open_dispute(s, nid, item, "Rented", [], ops, T0 + timedelta(minutes=10)).id
    with Session(engine) as s, s.begin(), pytest.raises(ActionError, match="reasons"):
        decide_dispute(s, did, "upheld", "  ", chef, T0 + timedelta(minutes=20))
    with Session(engine) as s, s.begin():
        decide_dispute(s, did, "upheld", "Trip log checked", chef, T0 + timedelta(minutes=20))
    with Session(engine) as s, s.begin(), pytest.raises(ActionError, match="already"):
        decide_dispute(s, did, "rejected", "no", chef, T0 + timedelta(minutes=30))
    world.feeds["trotti"].poll([vehicle_at("tw1", WATER)], T0 + timedelta(hours=2, minutes=5))
    result = check(engine, settings, T0 + timedelta(hours=2, minutes=10))
    # trotti's vehicle is still in the lake: overdue, but its penalty line is void
    assert (result.overdue, result.penalties_eur, result.statements) == (1, 0.0, [])
    with engine.connect() as conn:
        status = conn.execute(
            text("SELECT status FROM penalty WHERE notice_id = :n"), {"n": nid}
        ).scalar_one()
    assert status == "void"


def test_uploads_are_checked() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("relevé trajets (1).csv") == "releve_trajets_1_.csv"
    assert safe_filename("...") == "file"
    ok = check_uploads([Upload("a.pdf", b"%PDF-1.4 x"), Upload("b.jpg", b"\xff\xd8\xff\xe0x")])
    assert [k for _n, k, _d, _h in ok] == ["application/pdf", "image/jpeg"]
    for bad, code in (
        ([Upload("x.csv", b"a\x00b")], "bad_file"),
        ([Upload("x.csv", b"\xff\xfe\x00")], "bad_file"),
        ([Upload("x.html", b"<script>")], "bad_file"),
        ([Upload("x.png", b"%PDF-" + b"0" * MAX_FILE_BYTES)], "too_large"),
        ([Upload(f"{i}.txt", b"x") for i in range(6)], "too_many_files"),
    ):
        with pytest.raises(ActionError) as err:
            check_uploads(bad)
        assert err.value.code == code
