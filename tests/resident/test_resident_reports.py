"""Residents' reports (issue 15): the public page and Open311 create a case matched to
the right vehicle; honeypot, rate limit, checked fields; photos re-encoded without
their metadata; counts by district; the inbox is for staff only."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import Engine, text

from fleet_monitor.resident_reports.photo import PhotoError, reencode_photo
from fleet_monitor.resident_reports.reports import reports_by_zone
from tests.web.conftest import LAT, LON, M_LAT, Fleet, add_zone, csrf_token, vehicles

NEAR = LAT + 200 * M_LAT + 3 * M_LAT  # 3 m north of T2 (vehicles are 100 m apart)


@pytest.fixture
def fleets(engine: Engine) -> None:
    now = datetime.now(UTC)
    Fleet(engine, "trott", "Trott").poll(vehicles(4, "T"), now)
    Fleet(engine, "velo-lac", "Vélo Lac").poll(vehicles(2, "V", lon=LON + 0.01), now)


def rows(engine: Engine, sql: str, **params: object) -> list:  # type: ignore[type-arg]
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


def post_form(anon: FlaskClient, **fields: object):  # type: ignore[no-untyped-def]
    data = {"csrf_token": csrf_token(anon, "/signaler"), "service_code": "badly_parked"}
    data.update({k: v for k, v in fields.items()})  # type: ignore[misc]
    return anon.post("/signaler", data=data, content_type="multipart/form-data")


def jpeg_with_exif() -> bytes:
    img = Image.new("RGB", (3000, 2000), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0131] = "owner-software"  # Software
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif.tobytes(), comment=b"home address")
    return out.getvalue()


def test_public_page_needs_no_account(anon: FlaskClient) -> None:
    page = anon.get("/signaler")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="website"' in html and "fm-hp" in html  # the honeypot is there
    assert (
        "vendor/leaflet/leaflet.js" in html
        and "http" not in html.split("fm-resident-config")[1][:60]
    )


def test_a_report_through_the_page_is_a_case_matched_to_the_nearest_vehicle(
    anon: FlaskClient, client: FlaskClient, engine: Engine, fleets: None
) -> None:
    response = post_form(
        anon,
        lat=f"{NEAR:.7f}",
        lon=f"{LON:.7f}",
        position_source="gps",
        description="Trottinette couchée sur le trottoir",
        contact_email="resident@example.org",
        operator="trott",
        photo=(io.BytesIO(jpeg_with_exif()), "IMG_0001.jpg"),
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    ((reference, nearest, distance, matched, photo, contact),) = rows(
        engine,
        "SELECT reference, nearest_vehicle_id, nearest_distance_m, matched, photo,"
        " contact_email FROM resident_report",
    )
    assert reference in response.get_data(as_text=True)
    assert matched[0]["gbfs_id"] == "T2" and matched[0]["operator"] == "trott"
    assert 2.0 < distance < 4.0
    assert [m["gbfs_id"] for m in matched] == ["T2"]  # the others are 97 m and more away
    (t2,) = rows(engine, "SELECT vehicle_id FROM vehicle_current WHERE gbfs_id = 'T2'")
    assert nearest == t2[0]
    # the photo is stored re-encoded: a smaller JPEG without EXIF or comment
    stored = Image.open(io.BytesIO(bytes(photo)))
    assert stored.format == "JPEG" and max(stored.size) == 1600
    assert not stored.getexif() and "comment" not in stored.info and "exif" not in stored.info
    assert contact == "resident@example.org"
    # the officers' inbox lists it, with its vehicle; the case shows photo and contact
    inbox = client.get("/signalements").get_data(as_text=True)
    assert reference in inbox and "T2 (3 m)" in inbox
    (rid,) = rows(engine, "SELECT id FROM resident_report")
    case = client.get(f"/signalements/{rid[0]}").get_data(as_text=True)
    assert "resident@example.org" in case and "Trottinette couchée" in case
    assert "<dd>trott</dd>" in case  # the operator the resident named, by its slug
    assert client.get(f"/signalements/{rid[0]}/photo").mimetype == "image/jpeg"


def test_operator_named_by_the_resident_narrows_the_match(
    anon: FlaskClient, engine: Engine, fleets: None
) -> None:
    # between T0 (trott) and V0 (velo-lac, 0.01° east): velo-lac named, nothing of trott matched
    response = post_form(anon, lat=f"{LAT:.7f}", lon=f"{LON + 0.0002:.7f}", operator="velo-lac")
    assert response.status_code == 200
    ((matched,),) = rows(engine, "SELECT matched FROM resident_report")
    assert matched == []  # V0 is ~770 m away: out of reach, and T0 is not velo-lac's


def test_staff_only_inbox(anon: FlaskClient, app: Flask) -> None:
    assert anon.get("/signalements").status_code in (302, 401)


def test_bad_fields_are_named_and_nothing_is_stored(anon: FlaskClient, engine: Engine) -> None:
    response = post_form(
        anon,
        lat="",
        lon="",
        contact_email="not an address",
        operator="nobody",
        photo=(io.BytesIO(b"%PDF-1.4 not an image"), "x.jpg"),
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    for field in ("position", "contact_email", "operator", "photo"):
        assert f'id="fm-{field}-errors"' in html, field
    assert rows(engine, "SELECT count(*) FROM resident_report") == [(0,)]


def test_honeypot_is_thanked_and_stores_nothing(anon: FlaskClient, engine: Engine) -> None:
    response = post_form(anon, lat=f"{LAT}", lon=f"{LON}", website="http://spam.example")
    assert response.status_code == 200
    assert "Thank you" in response.get_data(as_text=True) or "Merci" in response.get_data(
        as_text=True
    )
    assert rows(engine, "SELECT count(*) FROM resident_report") == [(0,)]


def test_rate_limited_per_address(anon: FlaskClient, app: Flask, engine: Engine) -> None:
    app.config["FLEET_RESIDENT_REPORTS_PER_HOUR"] = 2
    codes = [post_form(anon, lat=f"{LAT}", lon=f"{LON}").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert rows(engine, "SELECT count(*) FROM resident_report") == [(2,)]
    # Open311 shares the address's budget
    assert anon.post("/open311/v2/requests.json", data={"lat": LAT}).status_code == 429


def test_open311_services_and_a_request_matched_to_the_right_vehicle(
    anon: FlaskClient, engine: Engine, fleets: None
) -> None:
    services = anon.get("/open311/v2/services.json").get_json()
    assert {s["service_code"] for s in services} == {"badly_parked", "abandoned", "damaged"}
    assert all(set(s) >= {"service_code", "service_name", "type", "metadata"} for s in services)
    created = anon.post(
        "/open311/v2/requests.json",
        data={
            "service_code": "abandoned",
            "lat": f"{LAT + 100 * M_LAT:.7f}",
            "long": f"{LON + 0.01:.7f}",  # on V1
            "description": "Depuis une semaine",
            "email": "habitant@example.org",
            "first_name": "Ana",
        },
    )
    assert created.status_code == 200, created.get_data(as_text=True)
    ((answer,),) = [created.get_json()]
    assert set(answer) == {"service_request_id", "service_notice", "account_id"}
    ((source, matched, name),) = rows(
        engine, "SELECT source, matched, contact_name FROM resident_report"
    )
    assert source == "open311" and matched[0]["gbfs_id"] == "V1" and name == "Ana"
    status = anon.get(f"/open311/v2/requests/{answer['service_request_id']}.json").get_json()
    assert status[0]["status"] == "open" and status[0]["service_code"] == "abandoned"
    assert "description" not in status[0] and "email" not in str(status)  # private
    assert anon.get("/open311/v2/requests/R-NOPE.json").status_code == 404
    listed = anon.get("/open311/v2/requests.json?service_code=abandoned&status=open").get_json()
    assert [r["service_request_id"] for r in listed] == [answer["service_request_id"]]
    assert "description" not in listed[0]
    assert anon.get("/open311/v2/requests.json?status=closed").get_json() == []
    assert anon.get("/open311/v2/requests.json?start_date=yesterday").status_code == 400


def test_open311_errors_are_georeport_errors(anon: FlaskClient, app: Flask) -> None:
    bad = anon.post("/open311/v2/requests.json", data={"service_code": "x", "lat": "1"})
    assert bad.status_code == 400 and bad.get_json()[0]["code"] == 400
    address_only = anon.post(
        "/open311/v2/requests.json",
        data={"service_code": "badly_parked", "address_string": "1 rue Royale"},
    )
    assert (
        address_only.status_code == 400
        and "lat and long" in address_only.get_json()[0]["description"]
    )
    app.config["FLEET_OPEN311_API_KEY"] = "k-123"
    refused = anon.post("/open311/v2/requests.json", data={"service_code": "badly_parked"})
    assert refused.status_code == 403


def test_reports_count_by_district(anon: FlaskClient, engine: Engine) -> None:
    add_zone(
        engine,
        "district",
        "Vieille ville",
        f"POLYGON(({LON - 0.001} {LAT - 0.001}, {LON + 0.001} {LAT - 0.001},"
        f" {LON + 0.001} {LAT + 0.001}, {LON - 0.001} {LAT + 0.001}, {LON - 0.001} {LAT - 0.001}))",
    )
    for lat, lon in ((LAT, LON), (LAT + 0.0002, LON), (LAT + 0.01, LON)):
        assert post_form(anon, lat=f"{lat}", lon=f"{lon}").status_code == 200
    now = datetime.now(UTC)
    with engine.connect() as conn:
        counts = reports_by_zone(conn, now - timedelta(days=1), now + timedelta(minutes=1))
    assert [(name, n) for _zid, name, n in counts] == [("Vieille ville", 2), ("", 1)]


def test_photo_reencoding_refuses_what_is_not_a_photo() -> None:
    with pytest.raises(PhotoError):
        reencode_photo(b"GIF89a-truncated")
    with pytest.raises(PhotoError):
        reencode_photo(b"")
    data, kind = reencode_photo(jpeg_with_exif())
    assert kind == "image/jpeg" and b"SecretCam" not in data and b"home address" not in data


def test_statistics_page_counts_reports_by_district_for_staff(
    anon: FlaskClient, client: FlaskClient, engine: Engine
) -> None:
    add_zone(
        engine,
        "district",
        "Vieille ville",
        f"POLYGON(({LON - 0.001} {LAT - 0.001}, {LON + 0.001} {LAT - 0.001},"
        f" {LON + 0.001} {LAT + 0.001}, {LON - 0.001} {LAT + 0.001}, {LON - 0.001} {LAT - 0.001}))",
    )
    for _ in range(2):
        assert post_form(anon, lat=f"{LAT}", lon=f"{LON}").status_code == 200
    today = datetime.now(ZoneInfo("Europe/Paris")).date().isoformat()  # the city's day
    html = client.get(f"/stats?period={today}").get_data(as_text=True)
    section = html.split('id="fm-resident-reports"')[1].split("</section>")[0]
    assert re.search(
        r"<td>Vieille ville</td>\s*<td class=\"fm-num\" data-value=\"2\">2</td>", section
    )


def test_private_data_of_closed_reports_is_erased_after_90_days(
    anon: FlaskClient, client: FlaskClient, engine: Engine
) -> None:
    from fleet_monitor.resident_reports.retention import purge_private

    for _ in range(2):
        response = post_form(
            anon,
            lat=f"{LAT}",
            lon=f"{LON}",
            contact_email="resident@example.org",
            photo=(io.BytesIO(jpeg_with_exif()), "p.jpg"),
        )
        assert response.status_code == 200
    first, second = (r[0] for r in rows(engine, "SELECT id FROM resident_report ORDER BY id"))
    # an officer closes the first one
    token_page = client.get(f"/signalements/{first}").get_data(as_text=True)
    assert "Close the report" in token_page or "Clore le signalement" in token_page
    from tests.web.conftest import csrf_token as token_of

    closed = client.post(
        f"/signalements/{first}/close", data={"csrf_token": token_of(client, "/account")}
    )
    assert closed.status_code == 302
    now = datetime.now(UTC)
    (stored_hash,) = rows(
        engine, "SELECT encode(sha256(photo), 'hex') FROM resident_report WHERE id = :id", id=first
    )[0]
    with engine.begin() as conn:
        assert purge_private(conn, now + timedelta(days=89)) == 0  # not yet
        assert purge_private(conn, now + timedelta(days=91)) == 1
    kept = rows(
        engine,
        "SELECT id, contact_email IS NULL, photo IS NULL, matched IS NOT NULL"
        " FROM resident_report ORDER BY id",
    )
    assert kept == [(first, True, True, True), (second, False, False, True)]
    # the tombstone: the photo's hash, when and why the private data went
    tombstone = rows(
        engine,
        "SELECT photo_sha256, private_erased_at IS NOT NULL, private_erased_reason"
        " FROM resident_report ORDER BY id",
    )
    assert tombstone[0][:2] == (stored_hash, True)
    assert "retention.resident_report_days" in tombstone[0][2]
    assert tombstone[1] == (None, False, None)
