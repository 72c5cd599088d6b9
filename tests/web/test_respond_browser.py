"""The operator's respond page in a real headless Chromium: open the signed link, dispute
one vehicle with a file, see the dispute recorded; screenshots of the page."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from fleet_monitor.web import create_app
from tests.notices.helpers import T0, World
from tests.web.conftest import make_settings, serve
from tests.web.test_browser import ARGS, CHROMIUM


def test_operator_disputes_a_vehicle_in_the_browser(
    db_url: str, engine: Engine, world: World, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    app = create_app(
        make_settings(db_url),
        engine=engine,
        config={"FLEET_CLOCK": lambda: T0 + timedelta(minutes=30), "SESSION_COOKIE_SECURE": False},
    )
    with engine.connect() as conn:
        payload = conn.execute(
            text("SELECT payload FROM notice WHERE id = :n"), {"n": world.notice["trotti"]}
        ).scalar_one()
    path = payload["respond"]["link"].removeprefix("https://fleet.annecy.example")
    log = tmp_path / "trips.csv"
    log.write_text("trip_id,start,end\nT-881,2026-11-02T08:40:00Z,2026-11-02T08:52:00Z\n")
    assert CHROMIUM.exists(), "run scripts/setup.sh --browser (Debian's chromium)"
    with serve(app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            console: list[str] = []
            page.on("console", lambda msg: console.append(msg.text))
            page.goto(base + path)
            assert "Avis de manquement" in page.title()
            page.screenshot(path=str(tmp_path / "respond.png"), full_page=True)
            # the act as sent, from the partials of its PDF: shown without breaking the CSP
            page.locator("summary", has_text="Afficher le texte de l’acte").click()
            act = page.locator(".fm-notice-document")
            assert act.is_visible()
            assert "Répondre / Respond" in act.inner_text()
            act.screenshot(path=str(tmp_path / "respond_document.png"))
            assert not [m for m in console if "Content Security Policy" in m], console
            page.locator("summary", has_text="Contester ce véhicule").click()
            page.fill("textarea[name=reason]", "Loué à 09:40, voir le journal des trajets.")
            page.set_input_files("input[name=files]", str(log))
            page.get_by_role("button", name="Envoyer la contestation").click()
            page.locator(".fm-flash, [role=status], .fm-messages").first.wait_for(timeout=10_000)
            cell = page.locator("td[data-dispute]").first
            assert cell.get_attribute("data-dispute") == "open"
            assert "trips.csv" in cell.inner_text()
            page.screenshot(path=str(tmp_path / "respond_disputed.png"), full_page=True)
        finally:
            browser.close()
    with engine.connect() as conn:
        reason = conn.execute(text("SELECT reason FROM notice_dispute")).scalar_one()
    assert reason.startswith("Loué à 09:40")
