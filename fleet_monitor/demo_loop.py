"""What the demo adds to show the whole loop, from the feed to the operator's mailbox.

* a mail catcher (:mod:`fleet_monitor.mail_catcher`) started with the demo,
  with ``[mail]`` pointed at it and a page listing what was sent;
* the operators' contacts (``ops@<slug>.demo``, notices and reports), so
  every notice and report is delivered, and the staff address for the city's
  daily summary;
* the respond links of the notices pointing at the demo's web app;
* the simulator's scripted events, listed with their simulated and wall-clock
  times for the start banner.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fleet_monitor.mail_catcher import MailCatcher
from fleet_monitor.settings import Settings
from fleet_monitor.wsgi_thread import ThreadedWSGIServer

STAFF = "mobilite@annecy.demo"


def mail_settings(settings: Settings, catcher: MailCatcher, web_url: str) -> Settings:
    mail = replace(
        settings.mail,
        smtp_host=catcher.host,
        smtp_port=catcher.port,
        smtp_starttls=False,
        smtp_ssl=False,
        smtp_username=None,
        smtp_password=None,
        smtp_timeout_s=10.0,
        from_address=STAFF,
        reply_to=STAFF,
        staff_recipients=(STAFF,),
    )
    notices = replace(settings.notices, public_url=web_url)
    head = replace(
        settings.letterhead,
        signatory_name=settings.letterhead.signatory_name or "Camille Durand",
        contact_email=settings.letterhead.contact_email or STAFF,
    )
    return replace(settings, mail=mail, notices=notices, letterhead=head)


def add_contacts(engine: Engine, slugs: list[str]) -> list[str]:
    from fleet_monitor.notices.contacts import add_contact

    added = []
    with Session(engine) as s, s.begin():
        for slug in slugs:
            address = f"ops@{slug}.demo"
            add_contact(
                s,
                operator_slug=slug,
                channel="email",
                address=address,
                actor="demo",
                name=f"{slug} operations",
            )
            added.append(address)
    return added


def scripted_events(city: Any, speed: float, wall_start: datetime) -> list[dict[str, str]]:
    """The simulator's scripted cases: what, who, when (simulated and wall-clock time)."""
    sim = city.sim
    out = []
    for case in sim.config.cases:
        start = case.start if isinstance(case.start, datetime) else sim.start + case.start
        offset = (start - sim.start).total_seconds()
        wall = wall_start + timedelta(seconds=offset / speed)
        out.append(
            {
                "name": case.name,
                "kind": str(case.kind),
                "operator": case.operator,
                "sim_time": start.astimezone(sim.tz).strftime("%d/%m %H:%M"),
                "wall_time": wall.strftime("%H:%M:%S"),
            }
        )
    return sorted(out, key=lambda e: e["wall_time"])


def serve_mail_page(catcher: MailCatcher, port: int = 0) -> ThreadedWSGIServer:
    """The mail catcher's page, served by waitress on 127.0.0.1."""
    return ThreadedWSGIServer(catcher.app(), port=port, threads=2, name="mail-page")
