"""GBFS 3.1 ``vehicle_availability``: when each reservable vehicle can be booked.

Added by GBFS 3.1 (release candidate 3, the only 3.1 in the official schema
repository) for station-based car sharing: one record per vehicle, with its
station and the time slots (``from``, optional ``until``) in which it is free
to book. The service parses it (ids through the boundary, times checked, bad
records dropped with findings) but does not poll or store it: see
``gbfs_ingest.feed_scope`` for why.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gbfs_ingest.model import VehicleAvailability
from gbfs_ingest.timeutil import MIN_PLAUSIBLE, parse_timestamp

from ._common import ERROR, WARNING, Ctx, get_array, id_value, own_id, show

__all__ = ["parse_vehicle_availability"]

#: Windows kept per vehicle; more is not a booking calendar but a flood.
MAX_WINDOWS = 1_000


def parse_vehicle_availability(ctx: Ctx, data: dict[str, Any]) -> list[VehicleAvailability]:
    fc = ctx.findings
    records, base = get_array(ctx, data, "vehicles")
    item = base + "/*"
    seen: set[str] = set()
    out: list[VehicleAvailability] = []
    for r in records:
        if type(r) is not dict:
            fc.add(ERROR, "record.not_object", item, f"record is not an object: {show(r)}")
            ctx.dropped += 1
            continue
        vid = own_id(fc, item + "/vehicle_id", r.get("vehicle_id"), "vehicle")
        if vid is None:
            ctx.dropped += 1
            continue
        if vid in seen:
            message = "duplicate vehicle_id dropped"
            fc.add(ERROR, "record.duplicate_id", item + "/vehicle_id", message)
            ctx.dropped += 1
            continue
        seen.add(vid)
        station = id_value(fc, item + "/station_id", r.get("station_id"))
        if station is None:  # required: the vehicle is booked at a station
            fc.add(WARNING, "value.missing", item + "/station_id", "station_id missing: kept")
        out.append(
            VehicleAvailability(
                vehicle_id=vid,
                station_id=station,
                vehicle_type_id=id_value(fc, item + "/vehicle_type_id", r.get("vehicle_type_id")),
                pricing_plan_id=id_value(fc, item + "/pricing_plan_id", r.get("pricing_plan_id")),
                availabilities=_windows(ctx, item + "/availabilities", r.get("availabilities")),
            )
        )
    return out


def _time(ctx: Ctx, path: str, raw: Any) -> datetime | None:
    if raw is None:
        return None
    dt, _issue = parse_timestamp(raw)
    if dt is None or dt < MIN_PLAUSIBLE:
        ctx.findings.add(WARNING, "time.invalid", path, f"unusable time {show(raw)}: ignored")
        return None
    return dt


def _windows(ctx: Ctx, path: str, raw: Any) -> list[tuple[datetime, datetime | None]]:
    fc = ctx.findings
    if type(raw) is not list:
        fc.add(WARNING, "value.missing", path, f"availabilities not a list: {show(raw)}")
        return []
    if len(raw) > MAX_WINDOWS:
        message = f"more than {MAX_WINDOWS} windows: the rest ignored"
        fc.add(WARNING, "value.too_long", path, message)
    out: list[tuple[datetime, datetime | None]] = []
    for slot in raw[:MAX_WINDOWS]:
        if type(slot) is not dict:
            fc.add(WARNING, "value.invalid", path + "/*", f"not a time slot: {show(slot)}")
            continue
        start = _time(ctx, path + "/*/from", slot.get("from"))
        end = _time(ctx, path + "/*/until", slot.get("until"))
        if start is None:
            fc.add(WARNING, "value.invalid", path + "/*/from", "time slot without a start ignored")
            continue
        if end is not None and end <= start:
            fc.add(WARNING, "value.invalid", path + "/*/until", "time slot ending before it starts")
            continue
        out.append((start, end))
    return out
