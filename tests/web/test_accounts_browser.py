"""Two-factor enrolment and the sessions page in a real headless Chromium (waitress).

The QR code must be drawn (an SVG made by the app, allowed by the CSP as a
``data:`` image), every request must stay on 127.0.0.1 and no CSP violation
may occur. Screenshots go to ``FLEET_SCREENSHOTS`` when set (to look at them),
else to the test's temporary folder.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import Engine

from fleet_monitor.web import create_app
from tests.notices.pdfcheck import qr_codes
from tests.web.conftest import PASSWORD, add_user, make_settings, serve
from tests.web.test_browser import ARGS, CHROMIUM

ADMIN = "admin@annecy.example"


@pytest.fixture
def server(db_url: str, engine: Engine) -> Iterator[str]:
    add_user(engine, ADMIN, "admin")
    app = create_app(
        make_settings(db_url, tile_url="", totp_roles=("admin", "supervisor")),
        engine=engine,
        config={"SESSION_COOKIE_SECURE": False},
    )
    with serve(app) as url:
        yield url


def test_two_factor_enrolment_and_sessions_in_chromium(server: str, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh --browser")
    shots = Path(os.environ.get("FLEET_SCREENSHOTS") or tmp_path)
    requests: list[str] = []
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1000, "height": 900})
            context.add_init_script(
                "window.__csp = []; document.addEventListener('securitypolicyviolation',"
                " (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
            )
            page = context.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            scenario(page, server, shots)
            problems.extend(page.evaluate("window.__csp"))
        finally:
            browser.close()
    assert problems == []
    assert all(u.startswith(("http://127.0.0.1:", "data:")) for u in requests), requests


def scenario(page: Page, server: str, shots: Path) -> None:
    page.goto(server + "/login")
    page.fill("#email", ADMIN)
    page.fill("#password", PASSWORD)
    page.click("button.fm-primary")
    page.wait_for_url(server + "/login/2fa/setup")

    qr = page.locator("img.fm-qr")
    qr.wait_for()
    size = page.evaluate(
        "() => { const i = document.querySelector('img.fm-qr');"
        " return [i.complete, i.naturalWidth, i.getBoundingClientRect().width]; }"
    )
    assert size[0] and size[1] > 150 and size[2] > 150, size
    page.screenshot(path=str(shots / "2fa_setup.png"), full_page=True)

    secret = page.locator("code.fm-secret").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    # the QR code as the browser draws it reads back, as a phone would, as this secret
    qr.screenshot(path=str(shots / "2fa_qr.png"))
    [uri] = qr_codes(shots / "2fa_qr.png")
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri, uri
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("button.fm-primary")
    codes = page.locator("ul.fm-codes code")
    codes.first.wait_for()
    assert codes.count() == 10
    page.screenshot(path=str(shots / "2fa_codes.png"), full_page=True)
    page.click("a.fm-primary")
    page.wait_for_url(server + "/")

    page.goto(server + "/account/sessions")
    row = page.locator("tr.fm-current")
    assert "Chrome" in row.inner_text() and "127.0.0.1" in row.inner_text()
    page.screenshot(path=str(shots / "sessions.png"), full_page=True)
    page.click("text=Se déconnecter partout")
    page.wait_for_url(re.compile(r".*/login$"))
    assert "Vous êtes déconnecté partout." in page.content()
