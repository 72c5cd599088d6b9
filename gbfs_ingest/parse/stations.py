"""``station_information`` and ``station_status``, plus pseudo-station detection.

A "pseudo-station" is a dockless operator's catch-all (Lime: one station
``seattle`` with 12,040 vehicles and 999,999 docks) or a declared virtual
station; it gets ``Station.is_virtual`` so it is never taken for a dock.
"""

from __future__ import annotations

from typing import Any

from gbfs_ingest.model import Station

from ._common import (
    COORD_MESSAGES,
    ERROR,
    INFO,
    WARNING,
    Ctx,
    TimestampReader,
    bool_value,
    coords_problem,
    get_array,
    id_value,
    int_value,
    own_id,
    show,
    text_field,
)

__all__ = [
    "HUGE_STATION_COUNT",
    "SENTINEL_CAPACITY",
    "merge_stations",
    "parse_station_information_v1",
    "parse_station_information_v2",
    "parse_station_information_v3",
    "parse_station_status_v1",
    "parse_station_status_v2",
    "parse_station_status_v3",
]

#: Capacities / free docks at or above this are sentinels (9999, 999999), not counts.
SENTINEL_CAPACITY = 9_999
#: More vehicles than this at one station is a depot or a catch-all, not a dock
#: (the largest real docks in the corpus hold 55).
HUGE_STATION_COUNT = 500


def parse_station_information_v1(ctx: Ctx, data: dict[str, Any]) -> list[Station]:
    return _parse_information(ctx, data)


def parse_station_information_v2(ctx: Ctx, data: dict[str, Any]) -> list[Station]:
    """2.x adds is_virtual_station (2.1), station_area, vehicle capacities."""
    return _parse_information(ctx, data)


def parse_station_information_v3(ctx: Ctx, data: dict[str, Any]) -> list[Station]:
    """3.x: localized ``name``."""
    return _parse_information(ctx, data)


def parse_station_status_v1(ctx: Ctx, data: dict[str, Any]) -> list[Station]:
    return _parse_status(ctx, data, "num_bikes_available", "num_bikes_disabled")


def parse_station_status_v2(ctx: Ctx, data: dict[str, Any]) -> list[Station]:
    return _parse_status(ctx, data, "num_bikes_available", "num_bikes_disabled")


def parse_station_status_v3(ctx: Ctx, data: dict[str, Any]) -> list[Station]:
    """3.x renamed num_bikes_* to num_vehicles_*; RFC 3339 last_reported."""
    return _parse_status(ctx, data, "num_vehicles_available", "num_vehicles_disabled")


def _station_id(ctx: Ctx, item: str, r: Any, seen: set[str]) -> str | None:
    """The record's station_id, or None (and a finding) when it must be dropped."""
    fc = ctx.findings
    if type(r) is not dict:
        fc.add(ERROR, "record.not_object", item, f"record is not an object: {show(r)}")
        return None
    sid = own_id(fc, item + "/station_id", r.get("station_id"), "station")
    if sid is None:
        return None
    if sid in seen:
        fc.add(ERROR, "record.duplicate_id", item + "/station_id", "duplicate station_id dropped")
        return None
    return sid


def _parse_information(ctx: Ctx, data: dict[str, Any]) -> list[Station]:
    fc = ctx.findings
    records, base = get_array(ctx, data, "stations")
    item = base + "/*"
    seen: set[str] = set()
    out: list[Station] = []
    for r in records:
        sid = _station_id(ctx, item, r, seen)
        if sid is None:
            ctx.dropped += 1
            continue
        lat, lon, problem = coords_problem(r.get("lat"), r.get("lon"))
        if lat is None or lon is None:
            message = COORD_MESSAGES.get(problem or "", problem)
            fc.add(ERROR, problem or "coord.invalid", item + "/lat", f"station dropped: {message}")
            ctx.dropped += 1
            continue
        if problem is not None:
            fc.add(WARNING, problem, item + "/lat", "position given as strings: coerced")
        seen.add(sid)
        station = Station(
            station_id=sid,
            name=text_field(fc, item + "/name", r.get("name"), ctx.languages),
            lat=lat,
            lon=lon,
            capacity=int_value(fc, item + "/capacity", r.get("capacity")),
            region_id=id_value(fc, item + "/region_id", r.get("region_id")),
        )
        declared = bool_value(fc, item + "/is_virtual_station", r.get("is_virtual_station"), False)
        if declared:
            station.is_virtual = True
            fc.add(
                INFO,
                "station.virtual_declared",
                item + "/is_virtual_station",
                "stations declared virtual (is_virtual_station)",
            )
        if station.capacity is not None and station.capacity >= SENTINEL_CAPACITY:
            _sentinel(ctx, item + "/capacity", station, "capacity", station.capacity)
            station.capacity = None
        out.append(station)
    return out


def _parse_status(
    ctx: Ctx, data: dict[str, Any], avail_key: str, disabled_key: str
) -> list[Station]:
    fc = ctx.findings
    records, base = get_array(ctx, data, "stations")
    item = base + "/*"
    alt_avail = "num_bikes_available" if ctx.v3 else "num_vehicles_available"
    alt_disabled = "num_bikes_disabled" if ctx.v3 else "num_vehicles_disabled"
    ts = TimestampReader(ctx, item + "/last_reported")
    seen: set[str] = set()
    out: list[Station] = []
    for r in records:
        sid = _station_id(ctx, item, r, seen)
        if sid is None:
            ctx.dropped += 1
            continue
        seen.add(sid)
        g = r.get
        available_raw, key = g(avail_key), avail_key
        if available_raw is None and g(alt_avail) is not None:
            available_raw, key = g(alt_avail), alt_avail
            fc.add(WARNING, "station.count_key", f"{item}/{key}", f"{key} used for {avail_key}")
        disabled_raw = g(disabled_key)
        if disabled_raw is None:
            disabled_raw = g(alt_disabled)
        station = Station(
            station_id=sid,
            num_vehicles_available=int_value(fc, f"{item}/{key}", available_raw),
            num_vehicles_disabled=int_value(fc, f"{item}/{disabled_key}", disabled_raw),
            num_docks_available=int_value(
                fc, item + "/num_docks_available", g("num_docks_available")
            ),
            is_installed=_flag(ctx, item, r, "is_installed", "installed"),
            is_renting=_flag(ctx, item, r, "is_renting", "renting"),
            is_returning=_flag(ctx, item, r, "is_returning", "returning"),
            last_reported=ts.slow(g("last_reported")),
        )
        docks = station.num_docks_available
        if docks is not None and docks >= SENTINEL_CAPACITY:
            _sentinel(ctx, item + "/num_docks_available", station, "num_docks_available", docks)
            station.num_docks_available = None
        count = station.num_vehicles_available
        if count is not None and count >= HUGE_STATION_COUNT:
            station.is_virtual = True
            fc.add(
                WARNING,
                "station.pseudo_huge_count",
                f"{item}/{key}",
                f"station {sid!r} holds {count} vehicles (>= {HUGE_STATION_COUNT}): a catch-all"
                " or depot, marked virtual",
            )
        out.append(station)
    return out


def _flag(ctx: Ctx, item: str, r: dict[str, Any], key: str, legacy: str) -> bool | None:
    raw = r.get(key)
    if raw is None and r.get(legacy) is not None:
        raw = r[legacy]
        ctx.findings.add(WARNING, "station.legacy_key", f"{item}/{legacy}", f"{legacy} for {key}")
    return bool_value(ctx.findings, f"{item}/{key}", raw, None)


def _sentinel(ctx: Ctx, path: str, station: Station, field: str, value: int) -> None:
    station.is_virtual = True
    ctx.findings.add(
        WARNING,
        "station.pseudo_sentinel",
        path,
        f"station {station.station_id!r} has {field}={value} (>= {SENTINEL_CAPACITY}):"
        " a sentinel, not a count; marked virtual, value ignored",
    )


def merge_stations(information: list[Station], status: list[Station]) -> list[Station]:
    """Join station_information and station_status records by station_id.

    Information order first, then stations only known from the status (no
    position). ``is_virtual`` is true if either side says so.
    """
    by_id = {s.station_id: s for s in status}
    merged: list[Station] = []
    for info in information:
        st = by_id.pop(info.station_id, None)
        if st is None:
            merged.append(info)
            continue
        merged.append(
            Station(
                station_id=info.station_id,
                name=info.name,
                lat=info.lat,
                lon=info.lon,
                capacity=info.capacity,
                is_virtual=info.is_virtual or st.is_virtual,
                num_vehicles_available=st.num_vehicles_available,
                num_vehicles_disabled=st.num_vehicles_disabled,
                num_docks_available=st.num_docks_available,
                is_installed=st.is_installed,
                is_renting=st.is_renting,
                is_returning=st.is_returning,
                last_reported=st.last_reported,
                region_id=info.region_id,
            )
        )
    merged.extend(by_id.values())
    return merged
