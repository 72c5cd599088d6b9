"""A database outage while the web app and the scheduler run: degraded, not broken.

The real processes run (the scheduler as ``fleet-monitor scheduler``, the web
app under waitress with the production logging set-up), both reaching
PostgreSQL through a TCP proxy that the test cuts for ``OUTAGE_S`` seconds (every
connection torn down, new ones refused, as when the server crashes) and then
restores. During the outage every page answers 503 in the user's language and
``/api/health`` answers 503 to everyone; each process logs the outage once per
interval (``FLEET_OUTAGE_LOG_INTERVAL_S``), never a traceback per request or
per job. Once the database is back the web app answers at once and the
scheduler's next poll succeeds, without any restart.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from tests.tcpproxy import CuttableProxy
from tests.test_scheduler import fbs, gbfs
from tests.web.conftest import PASSWORD, add_user

ROOT = Path(__file__).resolve().parents[1]
OUTAGE_S = 20.0
POLL_S = 2
LOG_INTERVAL_S = 5
EMAIL = "agent@annecy.example"
PAGES = ("/", "/cases/", "/notices/", "/reports/", "/stats", "/stats/declared", "/account")
WEB_SCRIPT = """
import logging, sys
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
from waitress import serve
from fleet_monitor.wsgi import app
serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=8)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds it took for ``check`` to hold (fails after ``timeout``)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if check():
                return time.monotonic() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


def lines(path: Path) -> list[str]:
    return path.read_text(errors="replace").splitlines()


@pytest.fixture
def proxy(db_url: str) -> Iterator[CuttableProxy]:
    url = make_url(db_url)
    with CuttableProxy(url.host or "127.0.0.1", url.port or 5432) as p:
        yield p


@pytest.fixture
def processes(db_url: str, proxy: CuttableProxy, tmp_path: Path) -> Iterator[dict[str, object]]:
    from tests.httpserver import LocalHTTPServer

    with LocalHTTPServer() as server:
        gbfs(server, "/velo")
        server.route("/velo/fbs.json", lambda _request: fbs())
        cfg = tmp_path / "config.toml"
        cfg.write_text(
            f"[ingest]\npoll_floor_s = {POLL_S}\ndefault_interval_s = {POLL_S}\n"
            'allowed_private_hosts = ["127.0.0.1"]\n'
            '[web]\nsecret_key_env = "FLEET_TEST_SECRET"\n'
            '[[operators]]\nslug = "velo"\nname = "Velo"\n'
            f'discovery_url = "{server.url("/velo/gbfs.json")}"\n'
        )
        through_proxy = make_url(db_url).set(port=proxy.port).render_as_string(hide_password=False)
        env = {
            **os.environ,
            "DATABASE_URL": through_proxy,
            "FLEET_CONFIG": str(cfg),
            "FLEET_TEST_SECRET": "a test secret long enough for the key policy",
            "FLEET_WEB_COOKIE_SECURE": "false",
            "FLEET_OUTAGE_LOG_INTERVAL_S": str(LOG_INTERVAL_S),
        }
        port = free_port()
        logs = {"web": tmp_path / "web.log", "scheduler": tmp_path / "scheduler.log"}
        commands = {
            "web": [sys.executable, "-c", WEB_SCRIPT, str(port)],
            "scheduler": [sys.executable, "-m", "fleet_monitor.cli", "scheduler"],
        }
        procs = {}
        try:
            for name, command in commands.items():
                with logs[name].open("w") as out:
                    procs[name] = subprocess.Popen(
                        command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
                    )
            yield {"url": f"http://127.0.0.1:{port}", "logs": logs, "server": server}
        finally:
            for proc in procs.values():
                proc.terminate()
            for proc in procs.values():
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()


def successful_polls(engine: Engine, since_db_time: object = None) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM feed_fetch f JOIN feed ON feed.id = f.feed_id"
                    " WHERE feed.feed_type = 'vehicle_status' AND f.outcome IN ('ok', 'unchanged')"
                    " AND (CAST(:since AS timestamptz) IS NULL OR f.started_at >= :since)"
                ),
                {"since": since_db_time},
            ).scalar_one()
        )


def db_now(engine: Engine) -> object:
    with engine.connect() as conn:
        return conn.execute(text("SELECT now()")).scalar_one()


def sign_in(client: httpx.Client) -> httpx.Client:
    page = client.get("/login").text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token, page
    response = client.post(
        "/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert response.status_code == 302, response.text
    return client


def test_database_outage_is_degraded_service_and_recovers_by_itself(
    engine: Engine, proxy: CuttableProxy, processes: dict[str, object]
) -> None:
    base = str(processes["url"])
    logs: dict[str, Path] = processes["logs"]  # type: ignore[assignment]
    add_user(engine, EMAIL, "officer")

    def web_up() -> bool:
        with httpx.Client(base_url=base, timeout=5) as probe:
            return probe.get("/api/health").status_code == 200

    wait_for(web_up, 30, "web app up")
    wait_for(lambda: successful_polls(engine) >= 2, 30, "scheduler polling")
    with (
        httpx.Client(base_url=base, timeout=15) as user,
        httpx.Client(base_url=base, timeout=15) as anonymous,
    ):
        sign_in(user)
        run_outage(engine, proxy, logs, user, anonymous)


def run_outage(
    engine: Engine,
    proxy: CuttableProxy,
    logs: dict[str, Path],
    user: httpx.Client,
    anonymous: httpx.Client,
) -> None:
    assert user.get("/cases/").status_code == 200

    before = {name: len(lines(path)) for name, path in logs.items()}
    proxy.cut()
    cut_at = time.monotonic()
    requests = 0
    while time.monotonic() - cut_at < OUTAGE_S:
        for path in PAGES:
            response = user.get(path)
            requests += 1
            assert response.status_code == 503, (path, response.status_code, response.text[:300])
            assert "Service dégradé" in response.text, path
            assert "sa base de données est injoignable" in response.text, path
            assert response.headers["Retry-After"] == "30"
        for client in (user, anonymous):
            health = client.get("/api/health")
            requests += 1
            assert health.status_code == 503
            assert health.json()["database"] == "unreachable"
        api = user.get("/api/vehicles")
        assert api.status_code == 503 and api.json()["database"] == "unreachable"
        english = user.get("/cases/?lang=en")
        assert english.status_code == 503 and "Service degraded" in english.text
        user.get("/cases/?lang=fr")
        requests += 3
        time.sleep(0.2)
    assert requests > 200
    assert proxy.refused > 10  # both processes kept trying
    during = {name: lines(path)[before[name] :] for name, path in logs.items()}

    restored_db_time = db_now(engine)
    proxy.restore()
    back = wait_for(lambda: user.get("/cases/").status_code == 200, 10, "pages back")
    first_poll = wait_for(
        lambda: successful_polls(engine, restored_db_time) >= 1, POLL_S + 5, "a poll after"
    )
    assert user.get("/api/health").status_code == 200
    assert anonymous.get("/api/health").json()["database"] == "ok"
    after = {name: lines(path)[before[name] :] for name, path in logs.items()}
    wait_for(
        lambda: any("database available again" in line for line in lines(logs["scheduler"])),
        5,
        "the scheduler says the database is back",
    )
    for name, path in logs.items():
        print(f"--- {name} log during and after the outage")
        print("\n".join(lines(path)[before[name] :]))
    print(
        f"outage {OUTAGE_S:.0f} s, {requests} requests answered 503; pages back after "
        f"{back:.1f} s, first successful poll {first_poll:.1f} s after the restore; log lines "
        f"during the outage: web {len(during['web'])}, scheduler {len(during['scheduler'])}"
    )

    # the log says it once per interval, not per request or job run
    reports = OUTAGE_S / LOG_INTERVAL_S + 2
    for name, text_lines in during.items():
        unavailable = [line for line in text_lines if "database unavailable" in line]
        assert 1 <= len(unavailable) <= reports, (name, text_lines)
        assert len(text_lines) <= reports + 4, (name, text_lines)
        assert not any("Traceback" in line for line in text_lines), (name, text_lines)
    assert any("database available again" in line for line in after["web"]), after["web"]
