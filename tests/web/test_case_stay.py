"""The case file of an idle vehicle shows its stay event by event (issue 11): the
definition in plain words, the ID change (with the operator's file that shows it),
the state change in place and the bridged gap; each raw file is served."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from fleet_monitor.violations import import_permit
from tests.notices.helpers import T0, Feed, evaluate, vehicle_at
from tests.web.conftest import signed_in

PERMIT = """
operator = "trotti"
version = 1
effective_from = 2026-01-01T00:00:00+01:00
[time_limits]
max_idle = "1h"
"""
SPOT = (45.9000, 6.1300)


def test_case_file_shows_the_stay_event_by_event(app: Flask, engine: Engine) -> None:
    with Session(engine) as s, s.begin():
        import_permit(s, PERMIT, default_tolerance_m=10, source="test")
    feed = Feed(engine, "trotti", "Trotti")
    m = timedelta(minutes=1)
    feed.poll([vehicle_at("a1", SPOT)], T0)
    feed.poll([vehicle_at("a2", SPOT, east_m=3)], T0 + 10 * m)  # the id rotated in place
    feed.poll([vehicle_at("a2", SPOT, east_m=3, disabled=True)], T0 + 20 * m)  # battery empty
    feed.poll([vehicle_at("a2", SPOT, east_m=3, disabled=True)], T0 + 90 * m)  # after a gap
    evaluate(engine, T0 + 90 * m)
    with engine.connect() as c:
        (vid,) = c.execute(
            text("SELECT id FROM violation WHERE rule_type = 'idle_too_long'")
        ).scalars()
    officer = signed_in(app, engine, "officer@annecy.example", "officer")
    page = officer.get(f"/cases/{vid}").get_data(as_text=True)
    assert 'id="stay"' in page and "Un stationnement est la durée" in page
    assert "à moins de 30 m de la position" in page  # the configured tolerance
    kinds = re.findall(r'data-stay-event="([a-z_]+)"', page)
    assert kinds == ["stay_start", "rotation", "state", "gap"]
    assert "a1 → a2" in page and "hors service" in page.split('data-stay-event="state"')[1]
    links = re.findall(r'href="(/cases/\d+/evidence/[0-9a-f]{64}\.json)"', page)
    rotation = page.split('data-stay-event="rotation"')[1].split("</tr>")[0]
    (link,) = re.findall(r'href="(/cases/\d+/evidence/[0-9a-f]{64}\.json)"', rotation)
    assert link in links
    raw = officer.get(link)
    assert raw.status_code == 200
    assert hashlib.sha256(raw.data).hexdigest() == link.rsplit("/", 1)[1][:-5]
    assert b'"a2"' in raw.data  # the file that published the new id
