"""Shared by the notices, reports and web tests: a real SMTP server, a city with
zones and permits, feeds polled as the ingest does (raw evidence kept), and
violations found by the rules service."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import orjson
from aiosmtpd.controller import Controller
from shapely.geometry import box
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from fleet_monitor.settings import (
    CitySettings,
    MailSettings,
    NoticeSettings,
    ReportSettings,
    Settings,
    WebSettings,
)
from fleet_monitor.violations import evaluate_rules, import_permit, import_zones
from gbfs_ingest.auth import Secret
from gbfs_ingest.model import FeedType, Vehicle
from gbfs_ingest.registry import ensure_feed, ensure_operator
from gbfs_ingest.store import record_fetch, store_raw
from gbfs_ingest.vehicle_store import VehicleStateCache, store_vehicle_snapshot
from rules import Zone

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # 09:00 in Annecy: day hours
M_LAT = 1 / 111_132.0
M_LON = 1 / 77_450.0  # at 45.9° N
WATER = (45.9050, 6.1400)  # centre of a 200 m square of water
NO_PARKING = (45.8950, 6.1200)  # centre of a 200 m no-parking square
STREET = (45.9000, 6.1300)  # nothing special here


# --------------------------------------------------------------------------- SMTP


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        msg = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


class _Handler:
    def __init__(self, server: SMTPServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.server._scripted("RCPT")
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        delay = self.server.data_delay_s
        if delay:
            await asyncio.sleep(delay)
        reply = self.server._scripted("DATA")
        if reply:
            return reply
        with self.server.lock:
            self.server.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
            )
        return "250 2.0.0 accepted"


class SMTPServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 recording what it accepts.

    ``fail("RCPT", "451 4.3.0 try later", times=1)`` answers the next RCPT so.
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.script: dict[str, list[str]] = {"RCPT": [], "DATA": []}
        self.data_delay_s = 0.0
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def fail(self, stage: str, reply: str, times: int = 1) -> None:
        with self.lock:
            self.script[stage].extend([reply] * times)

    def _scripted(self, stage: str) -> str | None:
        with self.lock:
            return self.script[stage].pop(0) if self.script[stage] else None

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [r.message for r in self.received]

    def start(self) -> SMTPServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


def attachments(msg: EmailMessage) -> dict[str, bytes]:
    out = {}
    for part in msg.iter_attachments():
        name = part.get_filename()
        assert name
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        out[name] = payload
    return out


def html_body(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("html",))
    assert body is not None
    return str(body.get_content())


# --------------------------------------------------------------------------- settings


def settings_for(db_url: str, smtp_port: int | None = None, **notices: Any) -> Settings:
    mail = MailSettings(
        smtp_host="127.0.0.1" if smtp_port else "",
        smtp_port=smtp_port or 25,
        smtp_starttls=False,
        smtp_timeout_s=5.0,
        from_address="avis@annecy.example",
        staff_recipients=("mobilite@annecy.example",),
    )
    defaults: dict[str, Any] = {
        "public_url": "https://fleet.annecy.example",
        "retry_base_s": 60,
        "webhook_allowed_private_hosts": ("127.0.0.1",),
    }
    ns = replace(NoticeSettings(), **{**defaults, **notices})
    return Settings(
        database_url=db_url,
        city=CitySettings(),
        web=WebSettings(secret_key=Secret("test-secret-key")),
        mail=mail,
        notices=ns,
        reports=ReportSettings(timezone="Europe/Paris"),
    )


# --------------------------------------------------------------------------- the city


def square(centre: tuple[float, float], half_m: float) -> Any:
    lat, lon = centre
    return box(
        lon - half_m * M_LON, lat - half_m * M_LAT, lon + half_m * M_LON, lat + half_m * M_LAT
    )


#: the test permit's own deadline for vehicles in water: as long as the night deadline,
#: so that the day/night deadlines apply (what most notice tests check); the registry's
#: shorter default for urgent rules is tested in test_urgent.py (``rule_deadlines=""``)
DAY_NIGHT_ONLY = 'in_water = "6h"'


def permit_text(
    operator: str, *, version: int = 1, extra: str = "", rule_deadlines: str = DAY_NIGHT_ONLY
) -> str:
    return f"""
operator = "{operator}"
version = {version}
name = "{operator.title()} – AOT test"
effective_from = 2026-01-01T00:00:00+01:00
timezone = "Europe/Paris"
gps_tolerance_m = 10

[fleet]
cap = 5

[time_limits]
max_idle = "5d"

[parking]
prohibited_kinds = ["no_parking", "water"]

[notices]
day_deadline = "2h"
night_deadline = "6h"
day_start = "07:00"
day_end = "21:00"

[notices.deadlines]
{rule_deadlines}

[penalties]
in_water = 120
in_no_parking_area = 35

[counting]
sample_interval = "1h"
{extra}
"""


def setup_city(engine: Engine, operators: Iterable[str] = ("trotti",)) -> None:
    """The water and no-parking zones, and one permit per operator."""
    with Session(engine) as s, s.begin():
        water = Zone("water:lac", "water", square(WATER, 100), name="Lac d’Annecy")
        no_parking = Zone(
            "no_parking:paquier", "no_parking", square(NO_PARKING, 100), name="Pâquier"
        )
        import_zones(s, [water], kind="water", operator=None, now=T0 - timedelta(days=30))
        import_zones(s, [no_parking], kind="no_parking", operator=None, now=T0 - timedelta(days=30))
        for op in operators:
            import_permit(s, permit_text(op), default_tolerance_m=10, source="test")


def vehicle_at(
    vid: str, where: tuple[float, float], *, east_m: float = 0, disabled: bool = False
) -> Vehicle:
    lat, lon = where
    return Vehicle(vid, lat, lon + east_m * M_LON, is_disabled=disabled, vehicle_type_id="scooter")


@dataclass
class Feed:
    """One operator's vehicle feed, polled as the ingest does: the raw body is kept as
    evidence and each poll is a ``feed_fetch`` row."""

    engine: Engine
    slug: str
    name: str
    cache: VehicleStateCache = field(default_factory=VehicleStateCache)
    operator_id: int = 0
    feed_id: int = 0
    hashes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        with Session(self.engine) as s, s.begin():
            self.operator_id = ensure_operator(s, self.slug, self.name, None)
            self.feed_id = ensure_feed(
                s,
                self.operator_id,
                FeedType.VEHICLE_STATUS,
                "free_bike_status",
                f"file:///{self.slug}",
                "2.3",
            )

    def poll(self, vehicles: list[Vehicle], at: datetime) -> int:
        body = orjson.dumps(
            {
                "last_updated": int(at.timestamp()),
                "ttl": 0,
                "version": "2.3",
                "data": {
                    "bikes": [
                        {
                            "bike_id": v.vehicle_id,
                            "lat": v.lat,
                            "lon": v.lon,
                            "is_reserved": False,
                            "is_disabled": v.is_disabled,
                        }
                        for v in vehicles
                    ]
                },
            }
        )
        with Session(self.engine) as s, s.begin():
            digest = store_raw(s, body, at)
            fetch_id = record_fetch(
                s,
                self.feed_id,
                started_at=at,
                observed_at=at,
                data_updated_at=at,
                source="test",
                url=f"file:///{self.slug}",
                http_status=200,
                latency_ms=12.0,
                body_bytes=len(body),
                content_hash=digest,
                outcome="ok",
                record_count=len(vehicles),
                invalid_count=0,
                changed_count=len(vehicles),
                schema_error_count=0,
            )
            res = store_vehicle_snapshot(
                s,
                feed_id=self.feed_id,
                operator_id=self.operator_id,
                vehicles=vehicles,
                observed_at=at,
                fetch_id=fetch_id,
                cache=self.cache,
                link_m=15,
            )
            assert res.applied, res
            s.execute(
                text("UPDATE feed SET last_success_at = :at WHERE id = :f"),
                {"at": at, "f": self.feed_id},
            )
        self.hashes.append(digest)
        return fetch_id

    def fail(self, at: datetime, kind: str = "unavailable") -> None:
        """A failed poll opening an outage."""
        with Session(self.engine) as s, s.begin():
            fetch_id = record_fetch(
                s,
                self.feed_id,
                started_at=at,
                source="test",
                outcome="error",
                error_kind="http",
                error="HTTP 503",
                http_status=503,
            )
            s.execute(
                text(
                    "INSERT INTO outage (feed_id, kind, started_at, start_fetch_id)"
                    " VALUES (:f, :k, :at, :fid)"
                ),
                {"f": self.feed_id, "k": kind, "at": at, "fid": fetch_id},
            )

    def recover(self, at: datetime) -> None:
        with Session(self.engine) as s, s.begin():
            s.execute(
                text("UPDATE outage SET ended_at = :at WHERE feed_id = :f AND ended_at IS NULL"),
                {"at": at, "f": self.feed_id},
            )


def evaluate(engine: Engine, at: datetime) -> Any:
    with Session(engine) as s, s.begin():
        return evaluate_rules(s, at, trigger="test")


def violations(engine: Engine, operator: str | None = None) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, operator, rule_type, status, state, gbfs_id FROM violation"
                " WHERE CAST(:op AS text) IS NULL OR operator = :op ORDER BY id"
            ),
            {"op": operator},
        ).mappings()
        return [dict(r) for r in rows]


def add_contact(engine: Engine, slug: str, channel: str, address: str, **kw: Any) -> int:
    from fleet_monitor.notices.contacts import add_contact as add

    with Session(engine) as s, s.begin():
        return add(s, operator_slug=slug, channel=channel, address=address, actor="test", **kw).id


@dataclass
class World:
    """Two operators, each with a vehicle in the water (noticed at once), one in a
    no-parking area and one parked legally; a report for the day."""

    feeds: dict[str, Feed]
    violation: dict[str, int]  # operator -> its in-water violation
    notice: dict[str, int]  # operator -> its notice
    reference: dict[str, str]
    report: dict[str, int]  # subject -> report id


def build_world(engine: Engine, settings: Settings, *, report: bool = True) -> World:
    from fleet_monitor.notices.jobs import plan
    from fleet_monitor.reports import generate_day

    setup_city(engine, ("trotti", "velo"))
    feeds = {"trotti": Feed(engine, "trotti", "Trotti"), "velo": Feed(engine, "velo", "Vélo Lac")}
    for slug, feed in feeds.items():
        add_contact(engine, slug, "email", f"ops@{slug}.example")
        feed.poll(
            [
                vehicle_at(f"{slug[0]}w1", WATER, east_m=20 if slug == "velo" else 0),
                vehicle_at(f"{slug[0]}n1", NO_PARKING),
                vehicle_at(f"{slug[0]}s1", STREET),
            ],
            T0,
        )
    evaluate(engine, T0 + timedelta(seconds=30))
    plan(engine, settings, T0 + timedelta(minutes=1))
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT n.operator_slug, n.id, n.reference, i.violation_id FROM notice n"
                " JOIN notice_item i ON i.notice_id = n.id ORDER BY n.id"
            )
        ).all()
    reports: dict[str, int] = {}
    if report:
        with Session(engine) as s, s.begin():
            for g in generate_day(s, T0.date(), settings, T0 + timedelta(days=1)):
                reports[g.subject] = g.report_id
    return World(
        feeds=feeds,
        violation={r[0]: r[3] for r in rows},
        notice={r[0]: r[1] for r in rows},
        reference={r[0]: r[2] for r in rows},
        report=reports,
    )
