"""A resident's report matched to a vehicle shows in the case files of that vehicle
(issue 15): in the timeline of the violation going on when it was made, and among
the vehicle's reports; with its time, reference, distance and (staff only) a
thumbnail of the photo; never the resident's contact or words."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from fleet_monitor.resident_reports.case_timeline import (
    PUBLIC_TIMELINE_KEYS,
    cases_of_report,
    reports_of_vehicle,
)
from fleet_monitor.violations import import_permit
from tests.notices.helpers import M_LAT, T0, Feed, evaluate, vehicle_at
from tests.resident.test_resident_reports import jpeg_with_exif, post_form
from tests.web.conftest import signed_in

PERMIT = """
operator = "trotti"
version = 1
effective_from = 2026-01-01T00:00:00+01:00
[time_limits]
max_idle = "1h"
"""
SPOT = (45.9000, 6.1300)
SECRET_EMAIL = "voisin.secret@example.org"
SECRET_PHONE = "+33 6 12 34 56 78"
SECRET_WORDS = "devant chez moi au 12"


def _idle_case(engine: Engine) -> tuple[int, int]:
    """An idle vehicle with a violation going on: (violation id, vehicle id)."""
    with Session(engine) as s, s.begin():
        import_permit(s, PERMIT, default_tolerance_m=10, source="test")
    feed = Feed(engine, "trotti", "Trotti")
    feed.poll([vehicle_at("a1", SPOT), vehicle_at("b1", SPOT, east_m=300)], T0)
    later = T0 + timedelta(minutes=90)
    feed.poll([vehicle_at("a1", SPOT), vehicle_at("b1", SPOT, east_m=300)], later)
    evaluate(engine, later)
    with engine.connect() as c:
        vid, vehicle = c.execute(
            text(
                "SELECT id, vehicle_id FROM violation WHERE rule_type = 'idle_too_long'"
                " AND gbfs_id = 'a1'"
            )
        ).one()
    return vid, vehicle


def test_a_report_is_in_the_case_timeline_without_the_contact(
    app: Flask, anon: FlaskClient, engine: Engine
) -> None:
    violation_id, vehicle_id = _idle_case(engine)
    lat, lon = SPOT
    response = post_form(
        anon,
        lat=f"{lat + 6 * M_LAT:.7f}",  # 6 m north of a1
        lon=f"{lon:.7f}",
        position_source="gps",
        description=SECRET_WORDS,
        contact_name="Jeanne Voisine",
        contact_email=SECRET_EMAIL,
        contact_phone=SECRET_PHONE,
        photo=(io.BytesIO(jpeg_with_exif()), "p.jpg"),
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    with engine.connect() as c:
        report_id, reference, nearest = c.execute(
            text("SELECT id, reference, nearest_vehicle_id FROM resident_report")
        ).one()
    assert nearest == vehicle_id  # matched to the idle vehicle, not to b1 300 m away

    # the read: public keys only, the distance to this vehicle in metres
    with Session(engine) as s:
        (entry,) = reports_of_vehicle(s, vehicle_id, None, None)
        assert set(entry) == PUBLIC_TIMELINE_KEYS
        assert entry["reference"] == reference and entry["nearest"] is True
        assert 5.0 < entry["distance_m"] < 7.0
        assert entry["has_photo"] is True
        assert reports_of_vehicle(s, vehicle_id, None, T0) == []  # before: nothing
        assert [c["id"] for c in cases_of_report(s, report_id)] == [violation_id]

    # the officer's case file: in the timeline, with a link to the report and a thumbnail
    officer = signed_in(app, engine, "officer@annecy.example", "officer")
    page = officer.get(f"/cases/{violation_id}").get_data(as_text=True)
    timeline = page.split('id="timeline"')[1].split("</section>")[0]
    (item,) = re.findall(r'<li data-kind="resident_report">(.*?)</li>', timeline, re.S)
    assert "Signalement d’un habitant" in item or "Signalement d'un habitant" in item
    assert reference in item and f'href="/signalements/{report_id}"' in item
    assert re.search(r"\b6 m\b", item), item
    thumb = f"/signalements/{report_id}/photo/thumbnail.jpg"
    assert thumb in item
    got = officer.get(thumb)
    assert got.status_code == 200 and got.mimetype == "image/jpeg"
    assert max(Image.open(io.BytesIO(got.data)).size) <= 160
    vehicle_section = page.split('id="resident-reports"')[1].split("</section>")[0]
    assert f'data-resident-report="{reference}"' in vehicle_section
    for secret in (SECRET_EMAIL, SECRET_PHONE, "Jeanne Voisine", SECRET_WORDS):
        assert secret not in page

    # the report's page links back to the case the vehicle had then
    report_page = officer.get(f"/signalements/{report_id}").get_data(as_text=True)
    assert f'href="/cases/{violation_id}"' in report_page

    # the operator concerned sees the entry, never the photo nor the contact
    operator = signed_in(app, engine, "ops@trotti.example", "operator", "trotti")
    seen = operator.get(f"/cases/{violation_id}").get_data(as_text=True)
    assert reference in seen.split('id="timeline"')[1]
    assert "/photo" not in seen and f"/signalements/{report_id}" not in seen
    for secret in (SECRET_EMAIL, SECRET_PHONE, "Jeanne Voisine", SECRET_WORDS):
        assert secret not in seen
    assert operator.get(thumb).status_code in (302, 401, 403)


def test_a_report_on_another_vehicle_is_not_in_the_case(
    app: Flask, anon: FlaskClient, engine: Engine
) -> None:
    violation_id, _vehicle = _idle_case(engine)
    lat, lon = SPOT
    # next to b1 (300 m east of a1): b1's report, not a1's
    assert post_form(anon, lat=f"{lat:.7f}", lon=f"{lon + 300 / 77_450.0:.7f}").status_code == 200
    officer = signed_in(app, engine, "officer@annecy.example", "officer")
    page = officer.get(f"/cases/{violation_id}").get_data(as_text=True)
    assert 'data-kind="resident_report"' not in page and 'id="resident-reports"' not in page


def test_page_and_open311_reports_match_the_nearest_vehicle_and_reach_its_case(
    app: Flask, anon: FlaskClient, engine: Engine
) -> None:
    """Two vehicles within reach (a1 idle with a case, c1 of another operator 30 m
    away): each way in matches the nearest one first, by geodesic distance."""
    from tests.notices.helpers import M_LON

    violation_id, vehicle_id = _idle_case(engine)
    other = Feed(engine, "velo", "Vélo")
    other.poll([vehicle_at("c1", SPOT, east_m=30)], T0 + timedelta(minutes=95))
    lat, lon = SPOT
    near_a1 = f"{lon + 8 * M_LON:.7f}"  # 8 m east of a1, 22 m west of c1
    near_c1 = f"{lon + 24 * M_LON:.7f}"  # 24 m east of a1, 6 m west of c1
    assert post_form(anon, lat=f"{lat:.7f}", lon=near_a1).status_code == 200
    created = anon.post(
        "/open311/v2/requests.json",
        data={"service_code": "badly_parked", "lat": f"{lat:.7f}", "long": near_c1},
    )
    assert created.status_code == 200
    with engine.connect() as c:
        got = c.execute(text("SELECT source, matched FROM resident_report ORDER BY id")).all()
    (web_source, web_matched), (o_source, o_matched) = got
    assert web_source == "web" and [m["gbfs_id"] for m in web_matched] == ["a1", "c1"]
    assert 7.0 < web_matched[0]["distance_m"] < 9.0 < 21.0 < web_matched[1]["distance_m"] < 23.0
    assert o_source == "open311" and [m["gbfs_id"] for m in o_matched] == ["c1", "a1"]
    assert web_matched[0]["vehicle_id"] == vehicle_id == o_matched[1]["vehicle_id"]
    officer = signed_in(app, engine, "officer@annecy.example", "officer")
    page = officer.get(f"/cases/{violation_id}").get_data(as_text=True)
    items = re.findall(r'<li data-kind="resident_report">(.*?)</li>', page, re.S)
    assert len(items) == 2  # both reports matched a1 while its case went on
    assert "pas le véhicule le plus proche" in items[1]  # the Open311 one was nearer c1
    inbox = officer.get("/signalements").get_data(as_text=True)
    assert "a1 (8 m)" in inbox and "c1 (6 m)" in inbox
