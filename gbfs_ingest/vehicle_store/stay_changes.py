"""From a poll's diff to the rows it writes: which stays end, go on or begin.

:func:`plan_stay_changes` turns the diff of one snapshot against the feed's
current rows into the rows to write (:class:`StayChanges`): new aliases and
stays, stays closed (grouped later by how they ended), rotations and bridged
absences, stay events, and the new state of ``vehicle_current``. It reads
nothing but the two id sequences; :mod:`.writes` writes what it returns.
The rules are those of docs/ingest.md "Stays".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gbfs_ingest.model import Vehicle
from gbfs_ingest.stays import StaySettings
from gbfs_ingest.vehicle_diff import CurrentRow, VehicleDiff
from gbfs_ingest.vehicle_store.binary_copy import ewkb

# (row of vehicle_current, the vehicle's last_reported)
CurrentWrite = tuple[CurrentRow, datetime | None]


@dataclass(slots=True)
class StayChanges:
    """What one poll writes; each list is written by one statement or one COPY."""

    # (dwell, ended at, last seen at, reason, fetch)
    closes: list[tuple[int, datetime, datetime | None, str, int | None]] = field(
        default_factory=list
    )
    new_dwells: list[tuple[Any, ...]] = field(default_factory=list)  # dwell rows, COPY order
    continue_dwells: list[tuple[int, float]] = field(default_factory=list)  # (dwell, link conf.)
    bridged: list[tuple[int, float]] = field(default_factory=list)  # (dwell, unobserved s)
    events: list[tuple[Any, ...]] = field(default_factory=list)  # dwell_event rows
    aliases: list[tuple[Any, ...]] = field(default_factory=list)  # vehicle_alias rows
    inserts: list[CurrentWrite] = field(default_factory=list)  # GBFS ids new to the feed
    updates: list[CurrentWrite] = field(default_factory=list)  # ids already in vehicle_current
    deletes: list[str] = field(default_factory=list)  # GBFS ids leaving vehicle_current
    missing: list[CurrentRow] = field(default_factory=list)  # absent from this poll, first time
    still_missing: list[CurrentRow] = field(default_factory=list)  # absent again, within grace


def plan_stay_changes(
    cur: Any,
    *,
    diff: VehicleDiff,
    rows: dict[str, CurrentRow],
    outliers: set[str],
    feed_id: int,
    operator_id: int,
    observed_at: datetime,
    prev_obs: datetime | None,
    fetch_id: int | None,
    stays: StaySettings,
    start_conf: str,
    partial: str | None,
) -> StayChanges:
    """The rows this poll writes (``cur``: only to draw vehicle and dwell ids).

    ``start_conf``: how sure the start of a stay opened by this poll is;
    ``partial``: why the file is known to be incomplete, or None.
    """
    st = stays
    out = StayChanges()
    closes, new_dwells, continue_dwells = out.closes, out.new_dwells, out.continue_dwells
    bridged, events, aliases = out.bridged, out.events, out.aliases
    inserts, updates, deletes = out.inserts, out.updates, out.deletes
    missing, still_missing = out.missing, out.still_missing
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
    confirmed = carried_outliers(outliers, rows, diff)
    new_dwell_count = len(diff.appeared) + sum(1 for _r, v, keep in ends if not keep)
    new_dwell_count += len(confirmed)
    vehicle_ids = iter(_next_ids(cur, "vehicle_id_seq", len(diff.appeared)))
    dwell_ids = iter(_next_ids(cur, "dwell_id_seq", new_dwell_count))

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
                ewkb(v.lat, v.lon),
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
    ) -> CurrentWrite:
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
    ) -> CurrentWrite:
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
        v = vehicle_of(row)
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
    return out


def carried_outliers(
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


def vehicle_of(row: CurrentRow) -> Vehicle:
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


def _next_ids(cur: Any, sequence: str, n: int) -> list[int]:
    if n == 0:
        return []
    cur.execute("SELECT nextval(%s) FROM generate_series(1, %s)", (sequence, n))
    return [r[0] for r in cur.fetchall()]
