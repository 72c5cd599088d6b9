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


def test_demo_runs_the_city_and_stops_on_ctrl_c(db_url: str, tmp_path: Path) -> None:
    demo_db = make_url(db_url).set(database=make_url(db_url).database + "_demo")
    demo_url = demo_db.render_as_string(hide_password=False)
    env = {**os.environ, "DATABASE_URL": db_url}
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
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
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
