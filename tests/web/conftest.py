"""Fixtures for the web app: settings, app, accounts, signed-in clients, and vehicles
stored as the ingest does."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from fleet_monitor.models.users import UserAccount
from fleet_monitor.settings import CitySettings, Settings, WebSettings
from fleet_monitor.users import hash_password
from fleet_monitor.web import create_app
from fleet_monitor.wsgi_thread import serve_wsgi
from gbfs_ingest.auth import Secret
from gbfs_ingest.db import Operator
from gbfs_ingest.model import FeedType, Vehicle
from gbfs_ingest.registry import ensure_feed, ensure_operator
from gbfs_ingest.vehicle_store import VehicleStateCache, store_vehicle_snapshot
from tests.notices.helpers import World, build_world, settings_for

TILE_URL = "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png"
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
LAT, LON = 45.8992, 6.1294
M_LAT = 1 / 111_132.0


def make_settings(
    db_url: str,
    *,
    tile_url: str = TILE_URL,
    locale: str = "fr",
    totp_roles: tuple[str, ...] = (),
    **web: object,
) -> Settings:
    """Settings for web tests; two-factor sign-in is only required where a test asks."""
    return Settings(
        database_url=db_url,
        city=CitySettings(locale=locale),
        web=WebSettings(
            secret_key=Secret("test-secret-key"),
            tile_url=tile_url,
            totp_roles=totp_roles,
            **web,  # type: ignore[arg-type]
        ),
    )


PASSWORD = "correct horse battery staple"
CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


@cache
def password_hash() -> str:
    return hash_password(PASSWORD)  # once per test session: argon2 is slow by design


def add_user(
    engine: Engine, email: str, role: str, operator: str | None = None, *, active: bool = True
) -> int:
    """An account with ``PASSWORD`` (``operator`` is a slug; it must exist)."""
    with Session(engine) as s, s.begin():
        operator_id = None
        if operator is not None:
            operator_id = s.scalar(select(Operator.id).where(Operator.slug == operator))
            assert operator_id is not None, operator
        user = UserAccount(
            email=email,
            password_hash=password_hash(),
            role=role,
            operator_id=operator_id,
            active=active,
        )
        s.add(user)
        s.flush()
        return user.id


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    response = client.get(path)
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, f"no CSRF token in {path}"
    return match.group(1)


def login(client: FlaskClient, email: str, password: str = PASSWORD, **kw: str) -> TestResponse:
    token = csrf_token(client)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        **kw,  # type: ignore[arg-type]
    )


DEAD_TILES = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # nothing listens on the discard port


@contextmanager
def served(db_url: str, engine: Engine) -> Iterator[str]:
    """The app served by waitress on 127.0.0.1 (a free port) for a real browser; its URL."""
    app = create_app(
        make_settings(db_url, tile_url=DEAD_TILES),
        engine=engine,
        config={"SESSION_COOKIE_SECURE": False},
    )
    with serve_wsgi(app) as url:
        yield url


@pytest.fixture
def world(db_url: str, engine: Engine) -> World:
    """Two operators with violations, notices and a daily report (tests.notices.helpers)."""
    return build_world(engine, settings_for(db_url))


@pytest.fixture
def web(db_url: str, engine: Engine, world: World) -> Flask:
    """The app over ``world``."""
    return make_app(db_url, engine)


def make_app(db_url: str, engine: Engine, **kw: object) -> Flask:
    app = create_app(make_settings(db_url, **kw), engine=engine)  # type: ignore[arg-type]
    app.testing = True
    return app


@pytest.fixture
def app(db_url: str, engine: Engine) -> Flask:
    return make_app(db_url, engine)


@pytest.fixture
def anon(app: Flask) -> FlaskClient:
    """A client nobody signed in with."""
    return app.test_client()


def signed_in(app: Flask, engine: Engine, email: str, role: str, operator: str | None = None):  # type: ignore[no-untyped-def]
    add_user(engine, email, role, operator)
    client = app.test_client()
    response = login(client, email)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def client(app: Flask, engine: Engine) -> FlaskClient:
    """A client signed in as an officer (staff: sees every operator)."""
    client: FlaskClient = signed_in(app, engine, "officer@annecy.example", "officer")
    return client


@pytest.fixture
def admin(app: Flask, engine: Engine) -> FlaskClient:
    client: FlaskClient = signed_in(app, engine, "admin@annecy.example", "admin")
    return client


class Fleet:
    """One operator's vehicle feed, polled like the ingest does."""

    def __init__(self, engine: Engine, slug: str, name: str) -> None:
        self.engine = engine
        self.cache = VehicleStateCache()
        with Session(engine) as s, s.begin():
            self.operator_id = ensure_operator(s, slug, name, None)
            self.feed_id = ensure_feed(
                s,
                self.operator_id,
                FeedType.VEHICLE_STATUS,
                "free_bike_status",
                f"file:///{slug}",
                "2.3",
            )

    def poll(self, vehicles: Iterable[Vehicle], at: datetime) -> None:
        with Session(self.engine) as s, s.begin():
            res = store_vehicle_snapshot(
                s,
                feed_id=self.feed_id,
                operator_id=self.operator_id,
                vehicles=list(vehicles),
                observed_at=at,
                fetch_id=None,
                cache=self.cache,
                link_m=15,
            )
        assert res.applied


def vehicles(
    n: int,
    prefix: str,
    *,
    lon: float = LON,
    vehicle_type_id: str | None = "scooter",
    fuel: float | None = 0.5,
    range_m: float | None = 12_000.0,
) -> list[Vehicle]:
    """``n`` vehicles 100 m apart on a north-south line at ``lon``."""
    return [
        Vehicle(
            f"{prefix}{i}",
            LAT + i * 100 * M_LAT,
            lon,
            vehicle_type_id=vehicle_type_id,
            current_fuel_percent=fuel,
            current_range_meters=range_m,
        )
        for i in range(n)
    ]


# --------------------------------------------------------------------------- zones

# Used only when the rules migration (which owns the table) is not in the schema.
ZONE_DDL = """
CREATE TABLE IF NOT EXISTS zone (
    id bigserial PRIMARY KEY,
    zone_id text NOT NULL,
    version integer NOT NULL,
    kind varchar(32) NOT NULL,
    name text NOT NULL,
    operator varchar(64),
    effective_from timestamptz,
    effective_to timestamptz,
    geom geometry(Geometry, 4326) NOT NULL
)
"""
KNOWN_ZONE_COLUMNS = ("kind", "name", "geom", "effective_to", "operator", "operator_id")


def add_zone(
    engine: Engine,
    kind: str,
    name: str,
    wkt: str,
    *,
    effective_to: datetime | None = None,
    operator: str | None = None,
) -> None:
    """A zone in the ``zone`` table, for ``operator`` (a slug) or everyone.

    Other required columns (the rules engine's table has more) get a plain value
    of their type, so that what is tested is the web layer's reading.
    """
    with engine.begin() as conn:
        conn.exec_driver_sql(ZONE_DDL)
        cols = dict(
            conn.exec_driver_sql(
                "SELECT column_name, udt_name FROM information_schema.columns"
                " WHERE table_schema = 'public' AND table_name = 'zone'"
            ).all()
        )
        values: dict[str, object] = {"kind": kind, "name": name, "wkt": wkt}
        sql_values = {
            "kind": "%(kind)s",
            "name": "%(name)s",
            "geom": "ST_GeomFromText(%(wkt)s, 4326)",
        }
        if effective_to is not None:
            values["effective_to"] = effective_to
            sql_values["effective_to"] = "%(effective_to)s"
        if operator is not None and "operator" in cols:
            values["operator"] = operator
            sql_values["operator"] = "%(operator)s"
        elif operator is not None:
            values["operator"] = operator
            sql_values["operator_id"] = "(SELECT id FROM operator WHERE slug = %(operator)s)"
        required = conn.exec_driver_sql(
            "SELECT column_name, udt_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name = 'zone' AND is_nullable = 'NO'"
            " AND column_default IS NULL"
        ).all()
        for column, udt in required:
            if column not in KNOWN_ZONE_COLUMNS:
                values[column] = _plain_value(udt, name)
                sql_values[column] = f"CAST(%({column})s AS {udt})"
        conn.exec_driver_sql(
            f"INSERT INTO zone ({', '.join(sql_values)}) VALUES ({', '.join(sql_values.values())})",
            values,
        )


def _plain_value(udt: str, name: str) -> object:
    if udt.startswith(("int", "float", "numeric")):
        return 1
    if udt.startswith("timestamp"):
        return datetime(2020, 1, 1, tzinfo=UTC)
    if udt == "bool":
        return True
    if udt in ("json", "jsonb"):
        return "{}"
    return name


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """``app`` served by waitress on a free local port, for a real browser: its base URL."""

    with serve_wsgi(app) as url:
        yield url
