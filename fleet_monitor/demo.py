"""``fleet-monitor demo``: the simulated city, the ingest scheduler and the web map.

Everything runs on localhost in one process:

* the GBFS simulator (three operators over HTTP, accelerated time);
* the ingest scheduler, whose clock is the simulation's clock (feed timestamps
  run ahead of the wall clock; staleness and dwell times are measured in
  simulated time), with the rules evaluated on that clock too: the city's
  zones and one demo permit per operator are imported at start
  (:mod:`fleet_monitor.violations.demo_setup`);
* the web app, served by waitress;
* a mail catcher (a real SMTP server) with a page listing what was sent, the
  operators' contacts, and the scripted events on the start banner
  (:mod:`fleet_monitor.demo_loop`).

The demo has its own database (``fleet_monitor_demo`` on the configured
server, unless ``--database-url`` says otherwise), recreated at each start:
the simulated clock starts again at "now", and history from a previous run
would lie in its future.
"""

from __future__ import annotations

import logging
import secrets
import socket
import tempfile
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from fleet_monitor.database import drop_database, ensure_database, make_engine, upgrade
from fleet_monitor.demo_basemap import prepare_demo_basemap
from fleet_monitor.demo_loop import add_contacts, mail_settings, scripted_events, serve_mail_page
from fleet_monitor.mail_catcher import MailCatcher
from fleet_monitor.runtime import wait_for_stop
from fleet_monitor.scheduler import IngestScheduler
from fleet_monitor.settings import Settings
from fleet_monitor.wsgi_thread import ThreadedWSGIServer
from gbfs_ingest.auth import Secret
from gbfs_ingest.config import OperatorSettings

log = logging.getLogger(__name__)

DEMO_DATABASE = "fleet_monitor_demo"


def demo_database_url(settings: Settings, override: str | None) -> str:
    if override:
        return override
    return (
        make_url(settings.database_url)
        .set(database=DEMO_DATABASE)
        .render_as_string(hide_password=False)
    )


def demo_settings(
    settings: Settings, database_url: str, discovery: dict[str, str], poll_s: int
) -> Settings:
    names = {"velomax": "VéloMax", "trotti": "Trotti", "lacbike": "LacBike"}
    operators = tuple(
        OperatorSettings(slug=slug, name=names.get(slug, slug), discovery_url=url)
        for slug, url in discovery.items()
    )
    ingest = replace(
        settings.ingest,
        allowed_private_hosts=("127.0.0.1",),
        poll_floor_s=poll_s,
        default_interval_s=poll_s,
        # simulated seconds: a poll every few wall seconds is minutes of city time
        stale_after_s=max(settings.ingest.stale_after_s, 3600),
        collapse_confirm_s=max(settings.ingest.collapse_confirm_s, 6 * 3600),
    )
    web = settings.web
    if web.secret_key is None:
        web = replace(web, secret_key=Secret(secrets.token_urlsafe(32)))
    # local demo accounts with printed passwords: no authenticator app asked of visitors
    web = replace(web, totp_roles=())
    # wall-clock job intervals: at x60, one evaluation per few simulated minutes
    rules = replace(settings.rules, evaluate_every_s=max(2 * poll_s, 5), debounce_s=max(poll_s, 2),
                    sample_every_s=max(poll_s, 2), sample_catchup_s=6 * 3600)  # fmt: skip
    return replace(settings, database_url=database_url, ingest=ingest, operators=operators,
                   web=web, rules=rules)  # fmt: skip


def run_demo(
    settings: Settings,
    *,
    database_url: str | None = None,
    port: int = 8000,
    speed: float = 60.0,
    vehicles: int = 1500,
    seed: int = 1,
    poll_s: int = 5,
    ready: Callable[[dict[str, object]], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    from gbfs_simulator import start_simulated_city

    stop = stop or threading.Event()
    url = demo_database_url(settings, database_url)
    drop_database(url)
    ensure_database(url)
    upgrade(url)
    city = start_simulated_city(seed=seed, vehicles=vehicles, speed=speed)
    wall_start = datetime.now().astimezone()
    catcher = MailCatcher().start()
    port = port or _free_port()
    s = demo_settings(settings, url, city.discovery_urls(), poll_s)
    s = mail_settings(s, catcher, f"http://127.0.0.1:{port}")
    engine = make_engine(url, pool_size=s.scheduler.max_workers + 4)
    _demo_rules(s, engine, city)
    workdir = tempfile.TemporaryDirectory(prefix="fleet-demo-")
    s = prepare_demo_basemap(s, engine, Path(workdir.name))  # streets and addresses
    scheduler = IngestScheduler(s, engine=engine, clock=city.clock.now)
    web_server = _start_web(s, engine, port, city.clock.now)
    mail_page = serve_mail_page(catcher)
    accounts = _demo_accounts(s, engine)
    contacts = add_contacts(engine, [op.slug for op in s.operators])

    scheduler.start()
    info: dict[str, object] = {
        "map_url": f"http://127.0.0.1:{web_server.port}/",
        "simulator_url": city.url,
        "simulator_admin_token": city.admin_token,
        "speed": speed,
        "database": make_url(url).database,
        "accounts": accounts,
        "started_at": wall_start.isoformat(timespec="seconds"),
        "mail_url": f"http://127.0.0.1:{mail_page.port}/",
        "smtp": f"127.0.0.1:{catcher.port}",
        "contacts": contacts,
        "events": scripted_events(city, speed, wall_start),
    }
    if ready is not None:
        ready(info)
    try:
        wait_for_stop(stop)
    finally:
        log.info("stopping the demo")
        scheduler.shutdown(wait=True)
        web_server.stop()
        mail_page.stop()
        catcher.stop()
        city.stop()
        engine.dispose()
        workdir.cleanup()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_web(
    settings: Settings, engine: Engine, port: int, clock: Callable[[], datetime]
) -> ThreadedWSGIServer:
    from fleet_monitor.web import create_app

    # plain http on 127.0.0.1: the session cookie cannot be "Secure" here
    # the web's "now" (deadlines, parked-since, reports) is the simulated city's clock
    app = create_app(
        settings, engine=engine, config={"SESSION_COOKIE_SECURE": False, "FLEET_CLOCK": clock}
    )
    return ThreadedWSGIServer(app, port=port, threads=8, name="web")


def _demo_rules(settings: Settings, engine: Engine, city: object) -> None:
    """The simulated city's zones and one permit per operator (the simulator's caps)."""
    from sqlalchemy.orm import Session

    from fleet_monitor.violations.demo_setup import import_city_zones, import_demo_permits

    sim = city.sim  # type: ignore[attr-defined]
    caps = {slug: sim.ops[slug].cfg.cap for slug in sim.operator_slugs()}
    with Session(engine) as session, session.begin():
        import_city_zones(session, sim.start)
        done = import_demo_permits(
            session, caps, sim.start, default_tolerance_m=settings.rules.gps_tolerance_m
        )
    log.info("demo zones and permits imported: %s", ", ".join(done))


def _demo_accounts(settings: Settings, engine: Engine) -> list[dict[str, str]]:
    """Create the demo's accounts (known passwords: this is a local demo only)."""
    from sqlalchemy.orm import Session

    from fleet_monitor import users
    from gbfs_ingest.registry import ensure_operator

    wanted = [
        ("admin@demo.local", "admin", None),
        ("supervisor@demo.local", "supervisor", None),
        ("officer@demo.local", "officer", None),
        ("ops@trotti.demo", "operator", "trotti"),
    ]
    created = []
    with Session(engine) as session, session.begin():
        for op in settings.operators:
            ensure_operator(session, op.slug, op.name, op.discovery_url)
        for email, role, operator in wanted:
            password = f"demo-{role}-password"
            users.create_user(session, email=email, password=password, role=role,
                              operator_slug=operator, via="demo")  # fmt: skip
            created.append({"email": email, "password": password, "role": role})
    return created
