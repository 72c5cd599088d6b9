"""Fixtures for the web app: settings, app, client, and vehicles stored as the ingest does."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fleet_monitor.settings import CitySettings, Settings, WebSettings
from fleet_monitor.web import create_app
from gbfs_ingest.auth import Secret
from gbfs_ingest.model import FeedType, Vehicle
from gbfs_ingest.registry import ensure_feed, ensure_operator
from gbfs_ingest.vehicle_store import VehicleStateCache, store_vehicle_snapshot

TILE_URL = "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png"
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
LAT, LON = 45.8992, 6.1294
M_LAT = 1 / 111_132.0


def make_settings(db_url: str, *, tile_url: str = TILE_URL, locale: str = "fr") -> Settings:
    return Settings(
        database_url=db_url,
        city=CitySettings(locale=locale),
        web=WebSettings(secret_key=Secret("test-secret-key"), tile_url=tile_url),
    )


@pytest.fixture
def app(db_url: str, engine: Engine) -> Flask:
    return create_app(make_settings(db_url), engine=engine)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


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
                noise_m=15,
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
