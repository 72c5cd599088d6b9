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
from gbfs_ingest.stays import StaySettings, bridge_gap, end_stays_at_gap, judge_gap
from gbfs_ingest.vehicle_diff import CurrentRow, VehicleDiff, diff_vehicles


@dataclass(slots=True)
class FeedCache:
    token: int | None = None
    rows: dict[str, CurrentRow] = field(default_factory=dict)
    # the snapshot ``rows`` were last synced with, and the ids marked missing
    applied: list[Vehicle] | None = None
    pending: set[str] = field(default_factory=set)
    # ids seen beyond their stay's tolerance once (``far_since``), awaiting the next poll
    outliers: set[str] = field(default_factory=set)
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
        "SELECT vc.gbfs_id, vc.vehicle_id, vc.dwell_id, vc.lat, vc.lon, vc.state,"
        " vc.vehicle_type_id, vc.station_id, vc.range_m, vc.fuel_percent, vc.missing_since,"
        " vc.last_seen_at, vc.absent_polls, d.lat, d.lon, d.ended_at IS NULL, vc.far_since"
        " FROM vehicle_current vc LEFT JOIN dwell d ON d.id = vc.dwell_id"
        " WHERE vc.feed_id = %s",
        (feed_id,),
    )
    return {r[0]: CurrentRow(*r[:15], r[15] is not False, r[16]) for r in cur.fetchall()}


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
    link_m: float,
    noise_m: float = 15.0,
    stays: StaySettings | None = None,
    after_gap: bool = False,
    partial: str | None = None,
    carried_from: Any = None,
    carry_base: list[Vehicle] | None = None,
) -> StoreResult:
    """Write what changed since the feed's current rows (see the module doc).

    ``stays``: the definition's settings for this operator (docs/ingest.md
    "Stays"). ``after_gap``: an outage ended with this poll. ``partial``: why
    the file is known to be incomplete (records dropped as invalid), or None;
    an absence from a partial file is bridged, never an end.
    ``carried_from``/``carry_base``: the parser's note of which vehicles repeat
    the previous file's records (``ParsedFeed``); used when that file is the one
    the cache was last synced with.
    """
    st = stays or StaySettings()
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
        fc.outliers = {gid for gid, row in fc.rows.items() if row.far_since is not None}
    rows = fc.rows
    diff = diff_vehicles(
        rows,
        vehicles,
        drift_m=st.drift_m,
        # an id rotated in place is linked anywhere within the stay's tolerance
        link_m=max(link_m, st.drift_m),
        noise_m=noise_m,
        previous=fc.applied,
        pending_ids=fc.pending,
        carried_from=carried_from if carry_base is not None and carry_base is fc.applied else None,
    )
    gap = judge_gap(prev_obs, observed_at, after_gap, st)
    if prev_obs is None:
        start_conf = "first_seen"
    elif after_gap or gap.bridged or gap.ends_stays:
        start_conf = "after_gap"
    else:
        start_conf = "observed"
    # an absence from a partial file is explained; from a healthy one it ends the stay
    # unless the operator's grace covers it
    bridge_absence = st.grace_polls > 0 or partial is not None
    window = max(1, st.grace_polls)  # polls an absent id waits for a rotation link

    # ---- which stays end, go on or begin
    ends: list[tuple[CurrentRow, Vehicle | None, bool]] = []  # (row, new vehicle, continues)
    for v, row in diff.moved:
        ends.append((row, v, False))
    for v, row in diff.reappeared:
        ends.append((row, v, row.stay_open))
    for lk in diff.links:
        keep = (lk.in_place or lk.outlier) and (lk.old.missing_since is None or lk.old.stay_open)
        ends.append((lk.old, lk.new, keep))
    confirmed = _carried_outliers(fc.outliers, rows, diff)
    new_dwell_count = len(diff.appeared) + sum(1 for _r, v, keep in ends if not keep)
    new_dwell_count += len(confirmed)
    vehicle_ids = iter(_next_ids(cur, "vehicle_id_seq", len(diff.appeared)))
    dwell_ids = iter(_next_ids(cur, "dwell_id_seq", new_dwell_count))

    closes: list[tuple[int, datetime, datetime | None, str, int | None]] = []
    new_dwells: list[tuple[Any, ...]] = []
    continue_dwells: list[tuple[int, float]] = []
    bridged: list[tuple[int, float]] = []  # (dwell, unobserved seconds) of absences bridged
    events: list[tuple[Any, ...]] = []
    aliases: list[tuple[Any, ...]] = []
    inserts: list[tuple[CurrentRow, datetime | None]] = []  # GBFS ids new to the feed
    updates: list[tuple[CurrentRow, datetime | None]] = []  # ids already in vehicle_current
    deletes: list[str] = []
    missing: list[CurrentRow] = []
    still_missing: list[CurrentRow] = []

    def open_dwell(v: Vehicle, vehicle_id: int, conf: str) -> int:
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
                0,
                None,
            )
        )
        return did

    def current_row(
        v: Vehicle, vehicle_id: int, dwell_id: int, anchor: CurrentRow | None = None
    ) -> tuple[CurrentRow, datetime | None]:
        a_lat, a_lon = anchor.anchor() if anchor is not None else (v.lat, v.lon)
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
            anchor_lat=a_lat,
            anchor_lon=a_lon,
        )
        return row, v.last_reported

    def state_event(row: CurrentRow, v: Vehicle) -> None:
        if row.state != v.state.value:
            events.append(
                (row.dwell_id, row.vehicle_id, feed_id, observed_at, "state", v.state.value,
                 None, None, fetch_id)
            )  # fmt: skip

    def end_or_go_on(
        row: CurrentRow, v: Vehicle, keep: bool, outlier: bool = False
    ) -> tuple[CurrentRow, datetime | None]:
        """The row's stay goes on (``keep``) or ends; the vehicle's row for ``v``."""
        if keep and outlier:  # a first fix beyond the tolerance: the next poll decides
            new = current_row(v, row.vehicle_id, row.dwell_id, anchor=row)
            new[0].far_since = observed_at
            state_event(row, v)
            return new
        if keep:
            cleared_outlier(row)
            if row.missing_since is not None:  # back within the grace
                unseen = (observed_at - (row.last_seen_at or row.missing_since)).total_seconds()
                bridged.append((row.dwell_id, unseen))
                events.append(
                    (row.dwell_id, row.vehicle_id, feed_id, observed_at, "back", None, unseen,
                     f"absent from {row.absent_polls} poll(s)", fetch_id)
                )  # fmt: skip
            state_event(row, v)
            return current_row(v, row.vehicle_id, row.dwell_id, anchor=row)
        if row.missing_since is not None:
            if row.stay_open:  # absent, then seen elsewhere: the absence ended it
                ended = row.missing_since
                closes.append((row.dwell_id, ended, row.last_seen_at, "absent", fetch_id))
        else:
            closes.append((row.dwell_id, observed_at, prev_obs, "moved", fetch_id))
        return current_row(v, row.vehicle_id, open_dwell(v, row.vehicle_id, start_conf))

    def cleared_outlier(row: CurrentRow) -> None:
        if row.far_since is not None:  # back in place: it was a GPS outlier
            events.append(
                (row.dwell_id, row.vehicle_id, feed_id, row.far_since, "outlier", None,
                 None, f"one fix beyond {st.drift_m:g} m, back in place", fetch_id)
            )  # fmt: skip

    for v, row in diff.moved:
        updates.append(end_or_go_on(row, v, False))
    for row in confirmed:
        closes.append((row.dwell_id, observed_at, prev_obs, "moved", fetch_id))
        v = _vehicle_of(row)
        updates.append(current_row(v, row.vehicle_id, open_dwell(v, row.vehicle_id, start_conf)))
    for v, row in diff.outliers:
        updates.append(end_or_go_on(row, v, True, outlier=True))
    for v, row in diff.reappeared:
        updates.append(end_or_go_on(row, v, row.stay_open))
    for v, row in diff.state_changed:
        state_event(row, v)
        cleared_outlier(row)
        updates.append(current_row(v, row.vehicle_id, row.dwell_id, anchor=row))
    for v, row in diff.attrs_changed:
        cleared_outlier(row)
        updates.append(current_row(v, row.vehicle_id, row.dwell_id, anchor=row))
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
        keep = (lk.in_place or lk.outlier) and (old.missing_since is None or old.stay_open)
        if keep:
            continue_dwells.append((old.dwell_id, lk.confidence))
        inserts.append(end_or_go_on(old, v, keep, outlier=lk.outlier and not lk.in_place))
    for row in diff.vanished:
        row.missing_since = observed_at
        row.last_seen_at = prev_obs
        row.absent_polls = 1
        missing.append(row)
        if bridge_absence:
            why = partial if st.grace_polls == 0 else f"grace of {st.grace_polls} poll(s)"
            events.append(
                (row.dwell_id, row.vehicle_id, feed_id, observed_at, "absence", None, None,
                 why, fetch_id)
            )  # fmt: skip
        else:
            row.stay_open = False
            closes.append((row.dwell_id, observed_at, prev_obs, "absent", fetch_id))
    for row in diff.expired:
        row.absent_polls += 1
        if row.absent_polls <= window:
            still_missing.append(row)
            continue
        if row.stay_open:
            closes.append((row.dwell_id, row.missing_since, row.last_seen_at, "absent", fetch_id))  # type: ignore[arg-type]
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
    if bridged:
        ids, secs = zip(*bridged, strict=True)
        cur.execute(
            "UPDATE dwell d SET grace_absences = d.grace_absences + 1,"
            " bridged_s = d.bridged_s + t.s"
            " FROM unnest(%b::bigint[], %b::float8[]) AS t(id, s) WHERE d.id = t.id",
            (list(ids), list(secs)),
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
    if events:
        with _binary_copy(
            cur,
            "COPY dwell_event (dwell_id, vehicle_id, feed_id, at, kind, state, seconds,"
            " detail, fetch_id)",
            ["int8", "int8", "int4", "timestamptz", "text", "text", "float8", "text", "int8"],
        ) as cp:
            for rec in events:
                cp.write_row(rec)
    if deletes:
        cur.execute(
            "DELETE FROM vehicle_current WHERE feed_id = %s AND gbfs_id = ANY(%b)",
            (feed_id, deletes),
        )
    if missing:
        cur.execute(
            "UPDATE vehicle_current v SET missing_since = %s, last_seen_at = %s, absent_polls = 1"
            " WHERE v.feed_id = %s AND v.gbfs_id = ANY(%b)",
            (observed_at, prev_obs, feed_id, [r.gbfs_id for r in missing]),
        )
    if still_missing:
        cur.execute(
            "UPDATE vehicle_current v SET absent_polls = v.absent_polls + 1"
            " WHERE v.feed_id = %s AND v.gbfs_id = ANY(%b)",
            (feed_id, [r.gbfs_id for r in still_missing]),
        )
    if updates:
        _update_current(cur, feed_id, operator_id, updates, observed_at, fetch_id)
    if inserts:  # after the deletes: a linked id replaces its predecessor's row
        with _binary_copy(cur, f"COPY vehicle_current ({_CURRENT_COLUMNS})", _CURRENT_TYPES) as cp:
            _write_current(cp, feed_id, operator_id, inserts, observed_at, fetch_id)
    reload = False
    if gap.ends_stays:
        reload = end_stays_at_gap(cur, feed_id, observed_at, prev_obs, fetch_id) > 0
    elif gap.bridged:
        bridge_gap(cur, feed_id, gap, observed_at, fetch_id)

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
    outliers = fc.outliers
    for gid in deletes:
        outliers.discard(gid)
    for r, _reported in (*updates, *inserts):
        if r.far_since is None:
            outliers.discard(r.gbfs_id)
        else:
            outliers.add(r.gbfs_id)
    fc.applied = vehicles
    fc.token = None if reload else new_token  # new stays after a gap: reload their anchors
    return StoreResult(
        applied=True, diff=diff, new_dwells=len(new_dwells), closed_dwells=len(closes)
    )


def _carried_outliers(
    outliers: set[str], rows: dict[str, CurrentRow], diff: VehicleDiff
) -> list[CurrentRow]:
    """Outliers republished unchanged (the parser carried their record, so the diff
    did not look at them): still beyond the tolerance, their move is confirmed."""
    if not outliers:
        return []
    touched = {r.gbfs_id for _v, r in diff.outliers}
    for lst in (diff.moved, diff.state_changed, diff.attrs_changed, diff.reappeared):
        touched.update(r.gbfs_id for _v, r in lst)
    touched.update(lk.old.gbfs_id for lk in diff.links)
    touched.update(r.gbfs_id for r in (*diff.vanished, *diff.expired))
    out = []
    for gid in sorted(outliers - touched):
        row = rows.get(gid)
        if row is not None and row.far_since is not None and row.missing_since is None:
            out.append(row)
    return out


def _vehicle_of(row: CurrentRow) -> Vehicle:
    """The vehicle as its current row last recorded it (for a stay opened from it)."""
    return Vehicle(
        row.gbfs_id,
        row.lat,
        row.lon,
        is_reserved=row.state == "reserved",
        is_disabled=row.state == "disabled",
        vehicle_type_id=row.vehicle_type_id,
        station_id=row.station_id,
        current_range_meters=row.range_m,
        current_fuel_percent=row.fuel_percent,
    )


# binary COPY column types (varchar columns take "text": the server reads its own type)
_DWELL_TYPES = [
    "int8", "int8", "int4", "int4", "text", "float8", "float8", "geometry", "text",
    "text", "text", "timestamptz", "text", "int8", "int4", "float8",
]  # fmt: skip
_CURRENT_TYPES = [
    "int4", "text", "int4", "int8", "int8", "float8", "float8", "geometry", "text",
    "text", "text", "float8", "float8", "timestamptz", "timestamptz", "int8", "timestamptz",
]  # fmt: skip
_CURRENT_COLUMNS = (
    "feed_id, gbfs_id, operator_id, vehicle_id, dwell_id, lat, lon, geom, state,"
    " vehicle_type_id, station_id, range_m, fuel_percent, last_reported, first_seen_at, fetch_id,"
    " far_since"
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
                r.far_since,
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
        "CREATE TEMP TABLE IF NOT EXISTS _vc_update (LIKE vehicle_current INCLUDING DEFAULTS)"
        " ON COMMIT DELETE ROWS"
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
        " absent_polls = 0, far_since = u.far_since,"
        " fetch_id = u.fetch_id"
        " FROM _vc_update u WHERE vc.feed_id = u.feed_id AND vc.gbfs_id = u.gbfs_id"
    )
