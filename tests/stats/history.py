"""A controlled history written straight into the ingest's and the rules' tables:
operators and feeds, fetches, outages, stays (dwells) of vehicles, zones, violations.

Everything is chosen by the test, so that every figure can be computed by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine

M_LAT = 1 / 111_132.0
LAT, LON = 45.8992, 6.1294

# Two districts side by side (west / east of LON), 0.01 deg wide.


def _box(lon0: float, lon1: float) -> str:
    return f"POLYGON(({lon0} 45.89, {lon1} 45.89, {lon1} 45.91, {lon0} 45.91, {lon0} 45.89))"


WEST = _box(LON - 0.01, LON)
EAST = _box(LON, LON + 0.01)
IN_WEST = (LAT, LON - 0.005)
IN_EAST = (LAT, LON + 0.005)
OUTSIDE = (45.95, LON)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class History:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._vehicle = 0

    def sql(self, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        with self.engine.begin() as conn:
            result = (
                conn.exec_driver_sql(query, params)
                if params is not None
                else (conn.exec_driver_sql(query))
            )
            return list(result.all()) if result.returns_rows else []

    # ------------------------------------------------------------------ operators

    def operator(
        self, slug: str, *, version: str = "2.3", types: dict[str, str] | None = None
    ) -> tuple[int, int]:
        """(operator id, vehicle feed id); ``types``: vehicle_type_id -> form factor."""
        ((op_id,),) = self.sql(
            "INSERT INTO operator (slug, name, gbfs_version, version_detected, created_at)"
            " VALUES (%(s)s, %(s)s, %(v)s, false, now()) RETURNING id",
            {"s": slug, "v": version},
        )
        feed_id = self._feed(op_id, "vehicle_status", "free_bike_status", version)
        if types:
            types_feed = self._feed(op_id, "vehicle_types", "vehicle_types", version)
            records = [{"vehicle_type_id": k, "form_factor": v} for k, v in types.items()]
            self.sql(
                "INSERT INTO feed_document (feed_id, content_hash, observed_at, records)"
                " VALUES (%(f)s, 'x', now(), %(r)s::jsonb)",
                {"f": types_feed, "r": orjson.dumps(records).decode()},
            )
        return op_id, feed_id

    def _feed(self, op_id: int, feed_type: str, name: str, version: str) -> int:
        ((feed_id,),) = self.sql(
            "INSERT INTO feed (operator_id, feed_type, name, url, version, active,"
            " consecutive_failures, state_token) VALUES (%(o)s, %(t)s, %(n)s, 'file:///x',"
            " %(v)s, true, 0, 0) RETURNING id",
            {"o": op_id, "t": feed_type, "n": name, "v": version},
        )
        return int(feed_id)

    def fetches(
        self,
        feed_id: int,
        start: datetime,
        end: datetime,
        every_s: int = 60,
        *,
        outcome: str = "ok",
        records: int = 10,
        invalid: int = 0,
        schema_errors: int = 0,
        latency_ms: float = 100.0,
    ) -> None:
        """One fetch every ``every_s`` in ``[start, end)``."""
        ok = outcome in ("ok",)
        self.sql(
            "INSERT INTO feed_fetch (feed_id, started_at, observed_at, source, outcome,"
            " record_count, invalid_count, schema_error_count, latency_ms)"
            " SELECT %(f)s, t, CASE WHEN %(ok)s THEN t END, 'http', %(o)s,"
            " CASE WHEN %(ok)s THEN %(r)s END, CASE WHEN %(ok)s THEN %(i)s END, %(e)s,"
            " %(l)s FROM generate_series(%(a)s::timestamptz, %(b)s::timestamptz"
            " - interval '1 microsecond', make_interval(secs => %(s)s)) t",
            {
                "f": feed_id,
                "ok": ok,
                "o": outcome,
                "r": records,
                "i": invalid,
                "e": schema_errors,
                "l": latency_ms,
                "a": start,
                "b": end,
                "s": every_s,
            },
        )

    def outage(
        self, feed_id: int, start: datetime, end: datetime | None, kind: str = "unavailable"
    ) -> None:
        self.sql(
            "INSERT INTO outage (feed_id, kind, started_at, ended_at) VALUES (%s, %s, %s, %s)",
            (feed_id, kind, start, end),
        )

    # ------------------------------------------------------------------ stays

    def new_vehicle(self, op_id: int, feed_id: int, at: datetime, gbfs_id: str) -> int:
        # a physical vehicle is its first alias (``vehicle`` is a view over them)
        ((vid,),) = self.sql(
            "INSERT INTO vehicle_alias (vehicle_id, feed_id, gbfs_id, first_seen_at)"
            " VALUES (nextval('vehicle_id_seq'), %s, %s, %s) RETURNING vehicle_id",
            (feed_id, gbfs_id, at),
        )
        return int(vid)

    def dwell(
        self,
        op_id: int,
        feed_id: int,
        pos: tuple[float, float],
        start: datetime,
        end: datetime | None = None,
        *,
        state: str = "available",
        reason: str | None = None,
        vehicle_id: int | None = None,
        gbfs_id: str | None = None,
        vtype: str | None = "bike",
        confidence: str = "observed",
        last_seen: datetime | None = None,
    ) -> tuple[int, int]:
        """One stay; an open one (``end`` None) is also the vehicle's current row.
        Returns (dwell id, vehicle id)."""
        self._vehicle += 1
        gbfs_id = gbfs_id or f"g{self._vehicle}"
        if vehicle_id is None:
            vehicle_id = self.new_vehicle(op_id, feed_id, start, gbfs_id)
        if end is not None and reason is None:
            reason = "vanished"
        lat, lon = pos
        ((dwell_id,),) = self.sql(
            "INSERT INTO dwell (id, vehicle_id, feed_id, operator_id, gbfs_id, lat, lon, geom,"
            " state, vehicle_type_id, started_at, start_confidence, ended_at, last_seen_at,"
            " end_reason, rotations) VALUES (nextval('dwell_id_seq'), %(v)s, %(f)s, %(o)s,"
            " %(g)s, %(lat)s, %(lon)s, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326),"
            " %(st)s, %(vt)s, %(a)s, %(c)s, %(b)s, %(seen)s, %(r)s, 0) RETURNING id",
            {
                "v": vehicle_id,
                "f": feed_id,
                "o": op_id,
                "g": gbfs_id,
                "lat": lat,
                "lon": lon,
                "st": state,
                "vt": vtype,
                "a": start,
                "c": confidence,
                "b": end,
                "seen": last_seen or (end - timedelta(seconds=60) if end else None),
                "r": reason,
            },
        )
        if end is None:
            self.sql(
                "INSERT INTO vehicle_current (feed_id, gbfs_id, operator_id, vehicle_id,"
                " dwell_id, lat, lon, state, vehicle_type_id, first_seen_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (feed_id, gbfs_id, op_id, vehicle_id, dwell_id, lat, lon, state, vtype, start),
            )
        return int(dwell_id), int(vehicle_id)

    # ------------------------------------------------------------------ rules' tables

    def zone(self, zone_id: str, kind: str, wkt: str, name: str | None = None) -> None:
        self.sql(
            "INSERT INTO zone (zone_id, version, kind, name, geom, properties, content_hash)"
            " VALUES (%s, 1, %s, %s, ST_GeomFromText(%s, 4326), '{}'::jsonb, 'x')",
            (zone_id, kind, name or zone_id, wkt),
        )

    def districts(self) -> None:
        self.zone("west", "district", WEST, "West")
        self.zone("east", "district", EAST, "East")

    def violation(
        self,
        operator: str,
        rule_type: str,
        opened_at: datetime,
        *,
        pos: tuple[float, float] | None = None,
        zone_id: str | None = None,
        closed_at: datetime | None = None,
        status: str = "violation",
        key: str | None = None,
    ) -> None:
        geom = None if pos is None else f"SRID=4326;POINT({pos[1]} {pos[0]})"
        self.sql(
            "INSERT INTO violation (key, rule_type, operator, subject_kind, subject, zone_id,"
            " state, status, opened_at, since, last_seen_at, closed_at, unit, clause, confidence,"
            " geom, vehicles_beyond, evidence) VALUES (%(k)s, %(r)s, %(o)s, 'vehicle', 's',"
            " %(z)s, %(state)s, %(status)s, %(a)s, %(a)s, %(a)s, %(c)s, 's', 'art. 1', 1.0,"
            " %(g)s::geometry, '[]'::jsonb, '{}'::jsonb)",
            {
                "k": key or f"{operator}:{rule_type}:{opened_at.isoformat()}:{pos}",
                "r": rule_type,
                "o": operator,
                "z": zone_id,
                "state": "closed" if closed_at else "open",
                "status": status,
                "a": opened_at,
                "c": closed_at,
                "g": geom,
            },
        )
