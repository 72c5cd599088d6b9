"""Write a poll's :class:`StayChanges`: set-based statements and binary COPY.

One statement per kind of change, never one per vehicle: COPY for the new
rows (aliases, stays, events, ids new to ``vehicle_current``), one ``UPDATE
... WHERE id = ANY(...)`` per group of stays closed the same way, and the
rows of ids already current rewritten from a temporary table. Arrays go as
binary parameters (``%b``): 5,000 ids in text format cost ~5 ms to send.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gbfs_ingest.vehicle_store.binary_copy import binary_copy, ewkb
from gbfs_ingest.vehicle_store.stay_changes import CurrentWrite, StayChanges

# binary COPY column types (varchar columns take "text": the server reads its own type)
_ALIAS_TYPES = ["int8", "int4", "text", "timestamptz", "text", "float8", "float8", "int8"]
_EVENT_TYPES = ["int8", "int8", "int4", "timestamptz", "text", "text", "float8", "text", "int8"]
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


def write_stay_changes(
    cur: Any,
    changes: StayChanges,
    *,
    feed_id: int,
    operator_id: int,
    observed_at: datetime,
    prev_obs: datetime | None,
    fetch_id: int | None,
) -> None:
    """Write what :func:`.stay_changes.plan_stay_changes` planned, in the caller's
    transaction (the order matters: a linked id's new row after its predecessor's delete)."""
    if changes.aliases:
        _copy_rows(
            cur,
            changes.aliases,
            "COPY vehicle_alias (vehicle_id, feed_id, gbfs_id, first_seen_at, linked_from,"
            " link_distance_m, link_confidence, fetch_id)",
            _ALIAS_TYPES,
        )
    if changes.closes:
        # few distinct (end, last seen, reason) per poll: one UPDATE per group, ids only
        groups: dict[tuple[Any, ...], list[int]] = {}
        for dwell_id, *how in changes.closes:
            groups.setdefault(tuple(how), []).append(dwell_id)
        for (ended, seen, reason, end_fetch), ids in groups.items():
            cur.execute(
                "UPDATE dwell SET ended_at = %s, last_seen_at = %s, end_reason = %s,"
                " end_fetch_id = %s WHERE id = ANY(%b)",
                (ended, seen, reason, end_fetch, ids),
            )
    if changes.continue_dwells:  # an id rotated within the stay: one more link
        _update_dwells(
            cur,
            "rotations = d.rotations + 1,"
            " min_link_confidence = LEAST(COALESCE(d.min_link_confidence, 1.0), t.v)",
            changes.continue_dwells,
        )
    if changes.bridged:  # back within the grace: the absence is bridged
        _update_dwells(
            cur,
            "grace_absences = d.grace_absences + 1, bridged_s = d.bridged_s + t.v",
            changes.bridged,
        )
    if changes.new_dwells:
        _copy_rows(
            cur,
            changes.new_dwells,
            "COPY dwell (id, vehicle_id, feed_id, operator_id, gbfs_id, lat, lon, geom, state,"
            " vehicle_type_id, station_id, started_at, start_confidence, start_fetch_id,"
            " rotations, min_link_confidence)",
            _DWELL_TYPES,
        )
    if changes.events:
        _copy_rows(
            cur,
            changes.events,
            "COPY dwell_event (dwell_id, vehicle_id, feed_id, at, kind, state, seconds,"
            " detail, fetch_id)",
            _EVENT_TYPES,
        )
    if changes.deletes:
        cur.execute(
            "DELETE FROM vehicle_current WHERE feed_id = %s AND gbfs_id = ANY(%b)",
            (feed_id, changes.deletes),
        )
    if changes.missing:
        cur.execute(
            "UPDATE vehicle_current v SET missing_since = %s, last_seen_at = %s, absent_polls = 1"
            " WHERE v.feed_id = %s AND v.gbfs_id = ANY(%b)",
            (observed_at, prev_obs, feed_id, [r.gbfs_id for r in changes.missing]),
        )
    if changes.still_missing:
        cur.execute(
            "UPDATE vehicle_current v SET absent_polls = v.absent_polls + 1"
            " WHERE v.feed_id = %s AND v.gbfs_id = ANY(%b)",
            (feed_id, [r.gbfs_id for r in changes.still_missing]),
        )
    if changes.updates:
        _update_current(cur, feed_id, operator_id, changes.updates, observed_at, fetch_id)
    if changes.inserts:  # after the deletes: a linked id replaces its predecessor's row
        with binary_copy(cur, f"COPY vehicle_current ({_CURRENT_COLUMNS})", _CURRENT_TYPES) as cp:
            _write_current(cp, feed_id, operator_id, changes.inserts, observed_at, fetch_id)


def _update_dwells(cur: Any, assignments: str, pairs: list[tuple[int, float]]) -> None:
    """One UPDATE of the stays in ``pairs`` (dwell id, value): ``assignments`` (an SQL
    constant) reads the stay as ``d`` and its value as ``t.v``."""
    dwell_ids, values = zip(*pairs, strict=True)
    cur.execute(
        f"UPDATE dwell d SET {assignments}"
        " FROM unnest(%b::bigint[], %b::float8[]) AS t(id, v) WHERE d.id = t.id",
        (list(dwell_ids), list(values)),
    )


def _copy_rows(cur: Any, rows: list[tuple[Any, ...]], statement: str, types: list[str]) -> None:
    """The rows by binary COPY, in their order."""
    with binary_copy(cur, statement, types) as cp:
        for rec in rows:
            cp.write_row(rec)


def _write_current(
    cp: Any,
    feed_id: int,
    operator_id: int,
    rows: list[CurrentWrite],
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
                ewkb(r.lat, r.lon),
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
    rows: list[CurrentWrite],
    observed_at: datetime,
    fetch_id: int | None,
) -> None:
    """Rewrite the rows of ids already in ``vehicle_current`` (moved, changed, back)."""
    cur.execute(
        "CREATE TEMP TABLE IF NOT EXISTS _vc_update (LIKE vehicle_current INCLUDING DEFAULTS)"
        " ON COMMIT DELETE ROWS"
    )
    cur.execute("DELETE FROM _vc_update")  # cheaper than TRUNCATE on a small temp table
    with binary_copy(cur, f"COPY _vc_update ({_CURRENT_COLUMNS})", _CURRENT_TYPES) as cp:
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
