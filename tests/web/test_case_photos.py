"""On-site check with a photo: re-encoded server-side (no EXIF, no GPS), size-limited,
stored with the SHA-256 of what is stored, shown to staff only."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from playwright.sync_api import sync_playwright
from sqlalchemy import Engine, text
from werkzeug.test import EnvironBuilder

from fleet_monitor.web.case_photos import MAX_SIDE, MAX_UPLOAD_BYTES
from tests.notices.helpers import World
from tests.web.conftest import PASSWORD, add_user, served, signed_in
from tests.web.test_browser import ARGS, CHROMIUM
from tests.web.test_map_tablet import SHOTS

CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


@pytest.fixture
def officer(web: Flask, engine: Engine) -> FlaskClient:
    client: FlaskClient = signed_in(web, engine, "agent@annecy.example", "officer")
    return client


def camera_jpeg(width: int = 4000, height: int = 3000) -> bytes:
    """A tablet photo: EXIF with GPS position, camera serial and a rotation."""
    img = Image.new("RGB", (width, height), (200, 120, 40))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° to display
    exif[0xA431] = "SERIAL-1234"  # body serial number
    exif[0x8825] = {1: "N", 2: (45.0, 53.0, 57.0), 3: "E", 4: (6.0, 7.0, 46.0)}  # GPS
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif, quality=70)
    return out.getvalue()


def post_check(client: FlaskClient, case_id: int, data: bytes, name: str = "photo.jpg"):  # type: ignore[no-untyped-def]
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    token = CSRF_RE.search(page)
    assert token
    return client.post(
        f"/cases/{case_id}/on-site",
        data={
            "present": "yes",
            "note": "vu sur place",
            "csrf_token": token.group(1),
            "photo": (io.BytesIO(data), name),
        },
        content_type="multipart/form-data",
    )


def stored(engine: Engine, case_id: int) -> list[tuple[str, bytes, int, int]]:
    with engine.connect() as conn:
        return [
            (r[0], bytes(r[1]), r[2], r[3])
            for r in conn.execute(
                text("SELECT sha256, data, width, height FROM case_photo WHERE violation_id = :v"),
                {"v": case_id},
            )
        ]


def test_photo_is_reencoded_without_metadata(
    officer: FlaskClient, world: World, engine: Engine, web: Flask
) -> None:
    case_id = world.violation["trotti"]
    raw = camera_jpeg()
    assert b"SERIAL-1234" in raw
    response = post_check(officer, case_id, raw)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    [(sha, data, width, height)] = stored(engine, case_id)
    assert hashlib.sha256(data).hexdigest() == sha
    assert b"SERIAL-1234" not in data and b"Exif" not in data[:200]
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG"
        assert not img.getexif() and "exif" not in img.info
        # turned upright from the EXIF orientation, then scaled down
        assert (img.width, img.height) == (width, height) == (MAX_SIDE * 3 // 4, MAX_SIDE)
    # shown on the case file, served as stored, with its hash
    page = officer.get(f"/cases/{case_id}").get_data(as_text=True)
    assert f'data-photo="{sha}"' in page
    served = officer.get(f"/cases/{case_id}/photos/{sha}.jpg")
    assert served.status_code == 200 and served.data == data
    assert served.headers["X-Content-SHA256"] == sha
    # the operator never sees the officers' photos
    operator = signed_in(web, engine, "ops@trotti.example", "operator", "trotti")
    assert operator.get(f"/cases/{case_id}/photos/{sha}.jpg").status_code in (403, 404)


def test_not_a_photo_is_refused_and_nothing_is_kept(
    officer: FlaskClient, world: World, engine: Engine
) -> None:
    case_id = world.violation["trotti"]
    response = post_check(officer, case_id, b"%PDF-1.4 not a photo", "doc.jpg")
    assert response.status_code == 400
    assert "n’est pas une photo" in response.get_data(as_text=True)
    assert stored(engine, case_id) == []
    with engine.connect() as conn:
        notes = conn.execute(
            text("SELECT count(*) FROM case_note WHERE violation_id = :v AND kind = 'on_site'"),
            {"v": case_id},
        ).scalar_one()
    assert notes == 0


def test_too_large_upload_is_refused(officer: FlaskClient, world: World, engine: Engine) -> None:
    case_id = world.violation["trotti"]
    page = officer.get(f"/cases/{case_id}").get_data(as_text=True)
    token = CSRF_RE.search(page)
    assert token
    builder = EnvironBuilder(
        path=f"/cases/{case_id}/on-site",
        method="POST",
        data={
            "present": "yes",
            "csrf_token": token.group(1),
            "photo": (io.BytesIO(b"\xff\xd8" + b"0" * (MAX_UPLOAD_BYTES + 300_000)), "big.jpg"),
        },
    )
    try:
        response = officer.open(builder)
        # the test client's spooled body, which the app refused unread, is closed here
        response.request.environ["wsgi.input"].close()
    finally:
        builder.close()
    assert response.status_code == 413
    assert stored(engine, case_id) == []


@pytest.fixture
def server(db_url: str, engine: Engine, world: World) -> Iterator[str]:
    add_user(engine, "photo@annecy.example", "officer")
    with served(db_url, engine) as url:
        yield url


def test_photo_upload_in_the_browser(server: str, world: World, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh --browser")
    photo = tmp_path / "IMG_0001.jpg"
    photo.write_bytes(camera_jpeg(1600, 1200))
    case_id = world.violation["trotti"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 768, "height": 1024})
            page.goto(server + "/login")
            page.fill("#email", "photo@annecy.example")
            page.fill("#password", PASSWORD)
            page.click("button.fm-primary")
            page.wait_for_url(server + "/")
            page.goto(f"{server}/cases/{case_id}")
            assert page.locator("#fm-photo").get_attribute("capture") == "environment"
            page.locator("input[name=present][value=yes]").check()
            page.set_input_files("#fm-photo", str(photo))
            page.click("text=Enregistrer le contrôle")
            page.wait_for_url(re.compile(r"#notes$"))
            img = page.locator(".fm-photos img").first
            img.wait_for()
            assert (
                page.evaluate("(i) => i.complete && i.naturalWidth", img.element_handle()) == 1200
            )
            img.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "case_photo_768x1024.png"))
        finally:
            browser.close()
