"""A small synthetic operator for lifecycle tests: GBFS 2.3 files built from
positions in metres around Annecy, stored through the real ingest path
(``process_body``: raw evidence, fetch rows, outages, dwells)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from datastore.connection import pg_connection
from fleet_monitor.violations import evaluate_rules, import_permit, import_zones
from fleet_monitor.violations.catalog import CityCache
from gbfs_ingest.config import IngestSettings
from gbfs_ingest.model import FeedType
from gbfs_ingest.process import load_feed_row, process_body, record_failure
from gbfs_ingest.registry import ensure_feed, ensure_operator
from gbfs_ingest.vehicle_store import VehicleStateCache
from rules import Zone
from tests.rules.helpers import ll, square

SETTINGS = IngestSettings(validate_schema=False)


class Fleet:
    """One operator with one vehicle feed; ``poll`` stores what the feed lists."""

    def __init__(self, engine: Engine, slug: str = "op") -> None:
        self.engine = engine
        self.slug = slug
        self.cache = VehicleStateCache()
        self.city = CityCache()
        with Session(engine) as s, s.begin():
            op = ensure_operator(s, slug, slug, None)
            self.feed_id = ensure_feed(
                s,
                op,
                FeedType.VEHICLE_STATUS,
                "free_bike_status",
                f"file:///{slug}/free_bike_status.json",
                "2.3",
            )

    def poll(
        self, at: datetime, vehicles: dict[str, tuple[float, float] | tuple[float, float, str]]
    ) -> int:
        """List ``{gbfs id: (x m, y m[, state])}`` at ``at``; returns the fetch id."""
        bikes = []
        for gid, spec in vehicles.items():
            lon, lat = ll(spec[0], spec[1])
            state = spec[2] if len(spec) > 2 else "available"  # type: ignore[misc]
            bikes.append(
                {
                    "bike_id": gid,
                    "lat": lat,
                    "lon": lon,
                    "is_disabled": state == "disabled",
                    "is_reserved": state == "reserved",
                }
            )
        body = orjson.dumps(
            {
                "last_updated": int(at.timestamp()),
                "ttl": 60,
                "version": "2.3",
                "data": {"bikes": bikes},
            }
        )
        with Session(self.engine) as s, s.begin():
            res = process_body(
                s,
                load_feed_row(s, self.feed_id),
                body,
                fetched_at=at,
                settings=SETTINGS,
                cache=self.cache,
                live=False,
                fetch_meta={},
            )
        assert res.outcome == "ok", res
        return res.fetch_id

    def fail(self, at: datetime) -> int:
        with Session(self.engine) as s, s.begin():
            return record_failure(
                s,
                load_feed_row(s, self.feed_id),
                fetched_at=at,
                error_kind="http",
                error="HTTP 503",
                fetch_meta={},
            )

    def permit(self, text: str) -> None:
        with Session(self.engine) as s, s.begin():
            import_permit(s, text, default_tolerance_m=10.0)

    def zones(self, zones: list[Zone], kind: str, at: datetime) -> None:
        with Session(self.engine) as s, s.begin():
            import_zones(s, zones, kind=kind, operator=None, now=at)

    def evaluate(self, at: datetime) -> Any:
        with Session(self.engine) as s, s.begin():
            return evaluate_rules(s, at, city_cache=self.city, trigger="test")

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with Session(self.engine) as s:
            cur = pg_connection(s).cursor()
            cur.execute(sql, params)
            return cur.fetchall()


def no_parking_square(zid: str = "lawn") -> Zone:
    """A 100 m x 100 m no-parking square, x and y from 0 to 100 m."""
    return Zone(id=f"no_parking:{zid}", kind="no_parking", geometry=square(0, 0, 100, 100))
