"""Store one vehicle snapshot: write only what changed.

The caller owns the transaction (and should hold the feed's advisory lock).
A per-feed in-memory cache of the current rows avoids re-reading 100,000 rows
every poll; it is validated against ``feed.state_token``, a random value
rewritten on every store, so a rolled-back transaction or another process
writing the same feed simply causes a reload.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg.adapt import Dumper
from psycopg.pq import Format
from psycopg.types import TypeInfo
from sqlalchemy.orm import Session

from datastore.connection import pg_connection
from gbfs_ingest.model import Vehicle
from gbfs_ingest.parse.vehicle_memo import VehicleMemo
from gbfs_ingest.vehicle_diff import CurrentRow, VehicleDiff, diff_vehicles


@dataclass(slots=True)
class FeedCache:
    token: int | None = None
    rows: dict[str, CurrentRow] = field(default_factory=dict)
    # the snapshot ``rows`` were last synced with, and the ids marked missing
    applied: list[Vehicle] | None = None
    pending: set[str] = field(default_factory=set)
    # the previous clean file's records, for the parser (independent of the token)
    parse_memo: VehicleMemo = field(default_factory=VehicleMemo)


class VehicleStateCache:
    """Current rows per feed, shared by the polls of one process."""

    def __init__(self) -> None:
        self._feeds: dict[int, FeedCache] = {}

    def for_feed(self, feed_id: int) -> FeedCache:
        return self._feeds.setdefault(feed_id, FeedCache())

    def invalidate(self, feed_id: int | None = None) -> None:
        if feed_id is None:
            self._feeds.clear()
        else:
            self._feeds.pop(feed_id, None)


@dataclass(slots=True)
class StoreResult:
    applied: bool
    reason: str = ""
    diff: VehicleDiff | None = None
    new_dwells: int = 0
    closed_dwells: int = 0


_EWKB_POINT = struct.Struct("<BIIdd").pack  # little endian, Point with SRID, SRID, x, y


def _ewkb(lat: float | None, lon: float | None) -> bytes | None:
    """A point as EWKB (exact doubles), for binary COPY into a geometry column."""
    if lat is None or lon is None:
        return None
    return _EWKB_POINT(1, 0x20000001, 4326, lon, lat)


class _GeometryBinaryDumper(Dumper):
    """EWKB bytes as a PostGIS geometry in binary COPY (``geometry_recv`` reads EWKB)."""

    format = Format.BINARY

    def dump(self, obj: Any) -> bytes:
        return obj  # type: ignore[no-any-return]


def _register_geometry(conn: Any) -> None:
    """Once per connection: the geometry type and its binary dumper, for COPY.

    Before the poll's cursor is made: a cursor copies the connection's adapters.
    """
    if conn.adapters.types.get("geometry") is not None:
        return
    info = TypeInfo.fetch(conn, "geometry")
    if info is None:
        raise RuntimeError("the PostGIS geometry type is missing from the database")
    info.register(conn)
    conn.adapters.register_dumper(
        None, type("GeometryDumper", (_GeometryBinaryDumper,), {"oid": info.oid})
    )


@contextmanager
def _binary_copy(cur: Any, statement: str, types: list[str]) -> Iterator[Any]:
    """A binary COPY (no text formatting and parsing: ~3x cheaper per row).

    ``geometry`` columns take EWKB bytes (see :func:`_register_geometry`). If
    the types cannot be set, leaving the block ends the COPY with an error, so
    the connection stays usable.
    """
    geometry = cur.adapters.types["geometry"].oid if "geometry" in types else None
    with cur.copy(f"{statement} FROM STDIN (FORMAT BINARY)") as cp:
        cp.set_types([geometry if t == "geometry" else t for t in types])
        yield cp


def _load_rows(cur: Any, feed_id: int) -> dict[str, CurrentRow]:
    cur.execute(
        "SELECT gbfs_id, vehicle_id, dwell_id, lat, lon, state, vehicle_type_id, station_id,"
        " range_m, fuel_percent, missing_since, last_seen_at"
        " FROM vehicle_current WHERE feed_id = %s",
        (feed_id,),
    )
    return {r[0]: CurrentRow(*r) for r in cur.fetchall()}


def _next_ids(cur: Any, sequence: str, n: int) -> list[int]:
    if n == 0:
        return []
    cur.execute("SELECT nextval(%s) FROM generate_series(1, %s)", (sequence, n))
    return [r[0] for r in cur.fetchall()]


def store_vehicle_snapshot(
    session: Session,
    *,
    feed_id: int,
    operator_id: int,
    vehicles: list[Vehicle],
    observed_at: datetime,
    fetch_id: int | None,
    cache: VehicleStateCache,
    noise_m: float,
    link_m: float,
    after_gap: bool = False,
    carried_from: Any = None,
    carry_base: list[Vehicle] | None = None,
) -> StoreResult:
    """Write what changed since the feed's current rows (see the module doc).

    ``carried_from``/``carry_base``: the parser's note of which vehicles repeat
    the previous file's records (``ParsedFeed``); used when that file is the one
    the cache was last synced with.
    """
    conn = pg_connection(session)
    _register_geometry(conn)
    cur = conn.cursor()
    cur.execute(
        "SELECT state_token, last_observed_at FROM feed WHERE id = %s FOR UPDATE", (feed_id,)
    )
    token, prev_obs = cur.fetchone()
    if prev_obs is not None and observed_at <= prev_obs:
        return StoreResult(applied=False, reason="not newer than the last observation")
    fc = cache.for_feed(feed_id)
    if fc.token is None or fc.token != token:
        fc.rows = _load_rows(cur, feed_id)
        fc.token = token
        fc.applied = None
        fc.pending = {gid for gid, row in fc.rows.items() if row.missing_since is not None}
    rows = fc.rows
    diff = diff_vehicles(
        rows,
        vehicles,
        noise_m=noise_m,
        link_m=link_m,
        previous=fc.applied,
        pending_ids=fc.pending,
        carried_from=carried_from if carry_base is not None and carry_base is fc.applied else None,
    )
    if prev_obs is None:
        start_conf = "first_seen"
    elif after_gap:
        start_conf = "after_gap"
    else:
        start_conf = "observed"

    # ---- ids for new physical vehicles and new dwells
    new_dwell_count = (
        len(diff.moved) + len(diff.appeared) + sum(1 for lk in diff.links if not lk.same_state)
    )
    vehicle_ids = iter(_next_ids(cur, "vehicle_id_seq", len(diff.appeared)))
    dwell_ids = iter(_next_ids(cur, "dwell_id_seq", new_dwell_count))

    closes: list[tuple[int, datetime, datetime | None, str, int | None]] = []
    new_dwells: list[tuple[Any, ...]] = []
    continue_dwells: list[tuple[int, float]] = []
    aliases: list[tuple[Any, ...]] = []
    inserts: list[tuple[CurrentRow, datetime | None]] = []  # GBFS ids new to the feed
    updates: list[tuple[CurrentRow, datetime | None]] = []  # ids already in vehicle_current
    deletes: list[str] = []
    missing: list[CurrentRow] = []

    def open_dwell(
        v: Vehicle, vehicle_id: int, conf: str, rotations: int = 0, link_conf: float | None = None
    ) -> int:
        did = next(dwell_ids)
        new_dwells.append(
            (
                did,
                vehicle_id,
                feed_id,
                operator_id,
                v.vehicle_id,
                v.lat,
                v.lon,
                _ewkb(v.lat, v.lon),
                v.state.value,
                v.vehicle_type_id,
                v.station_id,
                observed_at,
                conf,
                fetch_id,
                rotations,
                link_conf,
            )
        )
        return did

    def current_row(
        v: Vehicle, vehicle_id: int, dwell_id: int
    ) -> tuple[CurrentRow, datetime | None]:
        row = CurrentRow(
            v.vehicle_id,
            vehicle_id,
            dwell_id,
            v.lat,
            v.lon,
            v.state.value,
            v.vehicle_type_id,
            v.station_id,
            v.current_range_meters,
            v.current_fuel_percent,
        )
        return row, v.last_reported

    for v, row in diff.moved:
        if row.missing_since is not None:
            closes.append((row.dwell_id, row.missing_since, row.last_seen_at, "moved", fetch_id))
        else:
            reason = "moved" if row.state == v.state.value else "state"
            closes.append((row.dwell_id, observed_at, prev_obs, reason, fetch_id))
        updates.append(current_row(v, row.vehicle_id, open_dwell(v, row.vehicle_id, start_conf)))
    for v, row in diff.attrs_changed:
        updates.append(current_row(v, row.vehicle_id, row.dwell_id))
    for v, row in diff.reappeared:
        updates.append(current_row(v, row.vehicle_id, row.dwell_id))
    for v in diff.appeared:
        vid = next(vehicle_ids)
        aliases.append((vid, feed_id, v.vehicle_id, observed_at, None, None, None, fetch_id))
        inserts.append(current_row(v, vid, open_dwell(v, vid, start_conf)))
    for lk in diff.links:
        old, v = lk.old, lk.new
        aliases.append(
            (
                old.vehicle_id,
                feed_id,
                v.vehicle_id,
                observed_at,
                old.gbfs_id,
                lk.distance_m,
                lk.confidence,
                fetch_id,
            )
        )
        deletes.append(old.gbfs_id)
        if lk.same_state:
            continue_dwells.append((old.dwell_id, lk.confidence))
            inserts.append(current_row(v, old.vehicle_id, old.dwell_id))
        else:
            ended = old.missing_since or observed_at
            last_seen = old.last_seen_at if old.missing_since else prev_obs
            closes.append((old.dwell_id, ended, last_seen, "state", fetch_id))
            did = open_dwell(v, old.vehicle_id, start_conf, 1, lk.confidence)
            inserts.append(current_row(v, old.vehicle_id, did))
    for row in diff.vanished:
        row.missing_since = observed_at
        row.last_seen_at = prev_obs
        missing.append(row)
    for row in diff.expired:
        closes.append((row.dwell_id, row.missing_since, row.last_seen_at, "vanished", fetch_id))  # type: ignore[arg-type]
        deletes.append(row.gbfs_id)

    # ---- writes (set-based; COPY for the bulky ones). Arrays go as binary
    # parameters (%b): 5,000 ids in text format cost ~5 ms to send.
    if aliases:
        with _binary_copy(
            cur,
            "COPY vehicle_alias (vehicle_id, feed_id, gbfs_id, first_seen_at, linked_from,"
            " link_distance_m, link_confidence, fetch_id)",
            ["int8", "int4", "text", "timestamptz", "text", "float8", "float8", "int8"],
        ) as cp:
            for rec in aliases:
                cp.write_row(rec)
    if closes:
        # few distinct (end, last seen, reason) per poll: one UPDATE per group, ids only
        groups: dict[tuple[Any, ...], list[int]] = {}
        for dwell_id, *how in closes:
            groups.setdefault(tuple(how), []).append(dwell_id)
        for (ended, seen, reason, end_fetch), ids in groups.items():
            cur.execute(
                "UPDATE dwell SET ended_at = %s, last_seen_at = %s, end_reason = %s,"
                " end_fetch_id = %s WHERE id = ANY(%b)",
                (ended, seen, reason, end_fetch, ids),
            )
    if continue_dwells:
        ids, confs = zip(*continue_dwells, strict=True)
        cur.execute(
            "UPDATE dwell d SET rotations = d.rotations + 1, min_link_confidence ="
            " LEAST(COALESCE(d.min_link_confidence, 1.0), t.c)"
            " FROM unnest(%b::bigint[], %b::float8[]) AS t(id, c) WHERE d.id = t.id",
            (list(ids), list(confs)),
        )
    if new_dwells:
        with _binary_copy(
            cur,
            "COPY dwell (id, vehicle_id, feed_id, operator_id, gbfs_id, lat, lon, geom, state,"
            " vehicle_type_id, station_id, started_at, start_confidence, start_fetch_id,"
            " rotations, min_link_confidence)",
            _DWELL_TYPES,
        ) as cp:
            for rec in new_dwells:
                cp.write_row(rec)
    if deletes:
        cur.execute(
            "DELETE FROM vehicle_current WHERE feed_id = %s AND gbfs_id = ANY(%b)",
            (feed_id, deletes),
        )
    if missing:
        cur.execute(
            "UPDATE vehicle_current v SET missing_since = %s, last_seen_at = %s"
            " WHERE v.feed_id = %s AND v.gbfs_id = ANY(%b)",
            (observed_at, prev_obs, feed_id, [r.gbfs_id for r in missing]),
        )
    if updates:
        _update_current(cur, feed_id, operator_id, updates, observed_at, fetch_id)
    if inserts:  # after the deletes: a linked id replaces its predecessor's row
        with _binary_copy(cur, f"COPY vehicle_current ({_CURRENT_COLUMNS})", _CURRENT_TYPES) as cp:
            _write_current(cp, feed_id, operator_id, inserts, observed_at, fetch_id)

    new_token = secrets.randbits(62)
    cur.execute(
        "UPDATE feed SET state_token = %s, last_observed_at = %s, last_count = %s WHERE id = %s",
        (new_token, observed_at, len(vehicles), feed_id),
    )
    # ---- the cache follows the transaction; a rollback makes the token mismatch
    pending = fc.pending
    for gid in deletes:
        rows.pop(gid, None)
        pending.discard(gid)
    for r, _reported in updates:
        rows[r.gbfs_id] = r
        pending.discard(r.gbfs_id)
    for r, _reported in inserts:
        rows[r.gbfs_id] = r
    pending.update(r.gbfs_id for r in missing)
    fc.applied = vehicles
    fc.token = new_token
    return StoreResult(
        applied=True, diff=diff, new_dwells=len(new_dwells), closed_dwells=len(closes)
    )


# binary COPY column types (varchar columns take "text": the server reads its own type)
_DWELL_TYPES = [
    "int8", "int8", "int4", "int4", "text", "float8", "float8", "geometry", "text",
    "text", "text", "timestamptz", "text", "int8", "int4", "float8",
]  # fmt: skip
_CURRENT_TYPES = [
    "int4", "text", "int4", "int8", "int8", "float8", "float8", "geometry", "text",
    "text", "text", "float8", "float8", "timestamptz", "timestamptz", "int8",
]  # fmt: skip
_CURRENT_COLUMNS = (
    "feed_id, gbfs_id, operator_id, vehicle_id, dwell_id, lat, lon, geom, state,"
    " vehicle_type_id, station_id, range_m, fuel_percent, last_reported, first_seen_at, fetch_id"
)


def _write_current(
    cp: Any,
    feed_id: int,
    operator_id: int,
    rows: list[tuple[CurrentRow, datetime | None]],
    observed_at: datetime,
    fetch_id: int | None,
) -> None:
    write = cp.write_row
    for r, reported in rows:
        write(
            (
                feed_id,
                r.gbfs_id,
                operator_id,
                r.vehicle_id,
                r.dwell_id,
                r.lat,
                r.lon,
                _ewkb(r.lat, r.lon),
                r.state,
                r.vehicle_type_id,
                r.station_id,
                r.range_m,
                r.fuel_percent,
                reported,
                observed_at,
                fetch_id,
            )
        )


def _update_current(
    cur: Any,
    feed_id: int,
    operator_id: int,
    rows: list[tuple[CurrentRow, datetime | None]],
    observed_at: datetime,
    fetch_id: int | None,
) -> None:
    """Rewrite the rows of ids already in ``vehicle_current`` (moved, changed, back)."""
    cur.execute(
        "CREATE TEMP TABLE IF NOT EXISTS _vc_update (LIKE vehicle_current) ON COMMIT DELETE ROWS"
    )
    cur.execute("DELETE FROM _vc_update")  # cheaper than TRUNCATE on a small temp table
    with _binary_copy(cur, f"COPY _vc_update ({_CURRENT_COLUMNS})", _CURRENT_TYPES) as cp:
        _write_current(cp, feed_id, operator_id, rows, observed_at, fetch_id)
    cur.execute(
        "UPDATE vehicle_current AS vc SET"
        " vehicle_id = u.vehicle_id, dwell_id = u.dwell_id, lat = u.lat, lon = u.lon,"
        " geom = u.geom, state = u.state, vehicle_type_id = u.vehicle_type_id,"
        " station_id = u.station_id, range_m = u.range_m, fuel_percent = u.fuel_percent,"
        " last_reported = u.last_reported, missing_since = NULL, last_seen_at = NULL,"
        " fetch_id = u.fetch_id"
        " FROM _vc_update u WHERE vc.feed_id = u.feed_id AND vc.gbfs_id = u.gbfs_id"
    )
