"""``fleet-monitor demo``: the README's main command runs a living city and stops cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]


def browse_the_demo_map(map_url: str, tmp_path: Path) -> None:
    """The officer's tour of the simulated city in a real headless Chromium."""
    from playwright.sync_api import sync_playwright

    from tests.web.test_browser import ARGS, CHROMIUM, COUNT_JS

    assert CHROMIUM.exists(), "run scripts/setup.sh --browser (Debian's chromium)"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(map_url)
            page.fill("#email", "officer@demo.local")
            page.fill("#password", "demo-officer-password")
            page.click("button.fm-primary")
            page.wait_for_url(map_url)
            page.locator("#fm-status").filter(has_text="véhicules").wait_for(timeout=15_000)
            page.wait_for_function(f"() => ({COUNT_JS})().vehicles > 100", timeout=15_000)
            counts = page.evaluate(COUNT_JS)
            assert counts["zones"] > 10, counts  # the city's zones, imported by the demo
            # a popup: click on the first vehicle drawn inside the view
            point = page.evaluate(VISIBLE_VEHICLE_JS)
            page.mouse.click(point["x"], point["y"])
            popup = page.locator(".leaflet-popup-content")
            popup.wait_for(state="visible", timeout=5000)
            assert "Opérateur" in popup.inner_text()
            # the nearest address of the simulated city (or "none within 60 m"), and its streets
            address = popup.locator("tr.fm-address")
            address.wait_for(timeout=5000)
            assert re.search(
                r"Adresse\t(.+, 74\d{3} .+ \(à \d+ m\)|aucune adresse)", address.inner_text()
            )
            page.wait_for_function("() => window.__fleetStreetsDrawn", timeout=10_000)
            assert page.evaluate("window.__fleetStreetsDrawn")["lines"] > 300
            page.keyboard.press("Escape")
            # toggle the water layer off in the layer control
            water = page.locator(".leaflet-control-layers-overlays label", has_text="Plans d’eau")
            water.locator("input").dispatch_event("click")  # what a tap on the checkbox does
            assert not water.locator("input").is_checked()
            assert page.evaluate(COUNT_JS)["zones"] < counts["zones"]
            # switch the language
            page.get_by_role("link", name="English").click()
            page.locator("#fm-status").filter(has_text="vehicles").wait_for(timeout=15_000)
            shot = tmp_path / "demo_map_en.png"
            page.screenshot(path=str(shot))
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        finally:
            browser.close()


VISIBLE_VEHICLE_JS = """() => {
  const map = window[JSON.parse(document.getElementById("fm-config").textContent).mapVar];
  const size = map.getSize();
  let found = null;
  map.eachLayer((l) => {
    if (found || !(l instanceof L.CircleMarker) || !l.feature) return;
    const p = map.latLngToContainerPoint(l.getLatLng());
    if (p.x > 80 && p.y > 80 && p.x < size.x - 400 && p.y < size.y - 80) found = p;
  });
  const box = map.getContainer().getBoundingClientRect();
  return {x: box.left + found.x, y: box.top + found.y};
}"""


def test_demo_runs_the_city_and_stops_on_ctrl_c(db_url: str, tmp_path: Path) -> None:
    demo_db = make_url(db_url).set(database=make_url(db_url).database + "_demo")
    demo_url = demo_db.render_as_string(hide_password=False)
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONFAULTHANDLER": "1"}
    log = tmp_path / "demo.log"
    out = log.open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fleet_monitor.cli",
            "demo",
            "--port",
            "0",
            "--vehicles",
            "300",
            "--poll-seconds",
            "2",
            "--database-url",
            demo_url,
        ],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        map_url = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and map_url is None and proc.poll() is None:
            time.sleep(0.2)
            if m := re.search(r"map:\s+(http://\S+)", log.read_text()):
                map_url = m.group(1)
        assert map_url, log.read_text()
        assert httpx.get(map_url + "api/health", timeout=10).status_code == 200
        # the whole loop: a mail catcher with its page, contacts, the scripted events
        banner = log.read_text()
        mail_url = re.search(r"mail sent:\s+(http://\S+)", banner)
        assert mail_url, banner
        assert "Courriels envoyés" in httpx.get(mail_url.group(1), timeout=10).text
        assert "ops@trotti.demo" in banner and "Scripted events" in banner
        assert "scooter-in-lake (in_lake, trotti)" in banner
        libpq = demo_db.set(drivername="postgresql").render_as_string(hide_password=False)
        counts: dict[str, int] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(counts) < 3:
            time.sleep(1)
            with psycopg.connect(libpq) as c:
                counts = dict(
                    c.execute(
                        "SELECT o.slug, count(*) FROM vehicle_current v JOIN operator o"
                        " ON o.id = v.operator_id GROUP BY 1"
                    ).fetchall()
                )
        assert set(counts) == {"velomax", "trotti", "lacbike"}, counts
        assert all(n > 20 for n in counts.values()), counts
        browse_the_demo_map(map_url, tmp_path)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:  # show where it hangs: faulthandler dumps on SIGABRT
            proc.send_signal(signal.SIGABRT)
            proc.wait(timeout=30)
            raise AssertionError("the demo ignored Ctrl-C:\n" + log.read_text()[-20_000:]) from None
    finally:
        out.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        with psycopg.connect(
            make_url(db_url)
            .set(drivername="postgresql", database="postgres")
            .render_as_string(hide_password=False),
            autocommit=True,
        ) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{demo_db.database}" WITH (FORCE)')
    text = log.read_text()
    assert proc.returncode == 0, text
    assert "demo stopped" in text
    assert "Traceback" not in text
    assert "officer@demo.local" in text
