"""Fixtures of the simulator tests: official schemas (read in place), small configs."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson
import pytest

from gbfs_simulator import (
    FeedService,
    OperatorConfig,
    SimConfig,
    Simulation,
    default_config,
)

_REPO = Path(__file__).resolve().parents[2]
SHARED = _REPO.parent / "shared"
if not SHARED.exists():  # CI lays shared/ beside the clone; allow an override
    SHARED = Path(os.environ.get("FLEET_SHARED_DIR", "../shared")).resolve()
SCHEMAS = SHARED / "gbfs" / "schemas"

# Monday 2 June 2025, 06:00 in Annecy (UTC+2).
START = datetime(2025, 6, 2, 4, 0, tzinfo=UTC)
BASE = "http://127.0.0.1:9"


@cache
def validator(version: str, feed: str) -> Any:
    path = SCHEMAS / f"v{version}" / f"{feed}.json"
    schema = orjson.loads(path.read_bytes())
    return jsonschema_rs.validator_for(schema, validate_formats=True)


def schema_errors(version: str, feed: str, doc: Any) -> list[str]:
    return [
        f"{e.instance_path}: {e.message}"[:300] for e in validator(version, feed).iter_errors(doc)
    ]


def local(sim: Simulation, hour: int, minute: int = 0, day: int = 0) -> datetime:
    """A local (Europe/Paris) time on the simulation's first day (+ ``day`` days)."""
    d = sim.start.astimezone(sim.tz).date() + timedelta(days=day)
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=sim.tz)


def small_config(vehicles: int = 300, **kwargs: Any) -> SimConfig:
    return default_config(vehicles, **kwargs)


def solo(version: str = "2.3", **kwargs: Any) -> OperatorConfig:
    """One operator of any version, with stations and an electric scooter."""
    params: dict[str, Any] = {
        "slug": "solo",
        "name": "Solo",
        "version": version,
        "vehicles": 120,
        "form_factor": "scooter_standing",
        "propulsion_type": "electric",
        "stations": True,
        "languages": ("fr", "en"),
    }
    params.update(kwargs)
    return OperatorConfig(**params)


def feed_path(sim: Simulation, slug: str, feed: str, lang: str | None = None) -> str:
    cfg = sim.ops[slug].cfg
    if feed in ("gbfs", "manifest") or cfg.vtuple >= (3, 0):
        return f"/{slug}/{feed}.json"
    return f"/{slug}/{lang or cfg.languages[0]}/{feed}.json"


def get_doc(service: FeedService, slug: str, feed: str, lang: str | None = None) -> Any:
    resp = service.handle("GET", feed_path(service.sim, slug, feed, lang))
    assert resp.status == 200, (slug, feed, resp.status, resp.body[:200])
    return orjson.loads(resp.body)


def vehicles_of(doc: Any) -> list[dict[str, Any]]:
    data = doc["data"]
    return data["vehicles"] if "vehicles" in data else data["bikes"]


def vid(v: dict[str, Any]) -> str:
    return v.get("vehicle_id") or v["bike_id"]


@pytest.fixture(scope="module")
def day_sim() -> Simulation:
    """The demo config (300 vehicles) run from 06:00 to 18:00 local on day one."""
    sim = Simulation(small_config(300), seed=7, start=START)
    sim.advance_to(START + timedelta(hours=12))
    return sim
