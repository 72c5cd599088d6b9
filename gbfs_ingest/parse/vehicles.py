"""``free_bike_status`` (1.x, 2.x: ``data.bikes``/``bike_id``) and ``vehicle_status``
(3.x: ``data.vehicles``/``vehicle_id``).

This is the hot path (100,000 vehicles per file happen): the loop reads each
field once, checks the common well-typed case inline and calls a helper only
for the odd value, so findings cost nothing on clean data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gbfs_ingest.model import FormFactor, Vehicle, VehicleType

from ._common import (
    COORD_MESSAGES,
    ERROR,
    INFO,
    WARNING,
    Ctx,
    FindingCollector,
    TimestampReader,
    bool_int_message,
    bool_value,
    coords_problem,
    float_value,
    get_array,
    id_value,
    own_id,
    show,
)
from .boundary import MAX_ID_CHARS, id_problem, url_problem

__all__ = [
    "LEGACY_TYPE_PREFIX",
    "add_synthetic_last_reported",
    "legacy_vehicle_type",
    "parse_vehicle_status_v1",
    "parse_vehicle_status_v2",
    "parse_vehicle_status_v3",
    "rental_link",
]

#: Synthetic ``vehicle_type_id`` for feeds that predate vehicle_types.json and
#: name the kind of vehicle inline (Lime 1.x ``vehicle_type``, Lyft ``type``).
LEGACY_TYPE_PREFIX = "legacy:"
_LEGACY_KINDS: dict[str, tuple[FormFactor, str]] = {
    "scooter": (FormFactor.SCOOTER_STANDING, "electric"),
    "bike": (FormFactor.BICYCLE, "human"),
    "bicycle": (FormFactor.BICYCLE, "human"),
    "ebike": (FormFactor.BICYCLE, "electric_assist"),
    "electric_bike": (FormFactor.BICYCLE, "electric_assist"),
    "moped": (FormFactor.MOPED, "electric"),
    "car": (FormFactor.CAR, "combustion"),
}


def legacy_vehicle_type(vehicle_type_id: str) -> VehicleType | None:
    """The synthetic :class:`VehicleType` behind a ``legacy:<kind>`` id, else None."""
    if not vehicle_type_id.startswith(LEGACY_TYPE_PREFIX):
        return None
    kind = vehicle_type_id[len(LEGACY_TYPE_PREFIX) :]
    form_factor, propulsion = _LEGACY_KINDS.get(kind, (FormFactor.OTHER, "human"))
    return VehicleType(vehicle_type_id, form_factor, propulsion, name=kind)


def parse_vehicle_status_v1(ctx: Ctx, data: dict[str, Any]) -> list[Vehicle]:
    """1.0/1.1: only vehicles available for rent; no vehicle types (legacy kinds)."""
    records, base = get_array(ctx, data, "bikes", "vehicles")
    return _parse_vehicles(ctx, records, base, "bike_id", "vehicle_id")


def parse_vehicle_status_v2(ctx: Ctx, data: dict[str, Any]) -> list[Vehicle]:
    """2.0-2.3: from 2.1 all non-rented vehicles, docked ones may lack lat/lon."""
    records, base = get_array(ctx, data, "bikes", "vehicles")
    return _parse_vehicles(ctx, records, base, "bike_id", "vehicle_id")


def parse_vehicle_status_v3(ctx: Ctx, data: dict[str, Any]) -> list[Vehicle]:
    """3.x ``vehicle_status``: ``vehicles``/``vehicle_id``, RFC 3339 times."""
    records, base = get_array(ctx, data, "vehicles", "bikes")
    return _parse_vehicles(ctx, records, base, "vehicle_id", "bike_id")


def _parse_vehicles(
    ctx: Ctx, records: list[Any], base: str, id_key: str, other_id_key: str
) -> list[Vehicle]:
    fc = ctx.findings
    item = base + "/*"
    p_sid, p_res, p_dis = item + "/station_id", item + "/is_reserved", item + "/is_disabled"
    p_hs, p_pp = item + "/home_station_id", item + "/pricing_plan_id"
    p_rng, p_fp = item + "/current_range_meters", item + "/current_fuel_percent"
    ts = TimestampReader(ctx, item + "/last_reported")
    ts_good, ts_slow, ts_type = ts.good.get, ts.slow, ts.fast_type
    seen: set[str] = set()
    seen_add = seen.add
    out: list[Vehicle] = []
    append = out.append
    new_vehicle = Vehicle
    dropped = duplicates = docked = fuel_over_one = int_res = int_dis = ones_res = ones_dis = 0
    # Every id passes the boundary (parse/boundary.py): inline for speed, the
    # helpers only for the odd value. In a plain-text body, length is all to check.
    plain = ctx.plain_text
    longest = MAX_ID_CHARS
    for r in records:
        if type(r) is not dict:
            fc.add(ERROR, "record.not_object", item, f"record is not an object: {show(r)}")
            dropped += 1
            continue
        g = r.get
        vid = g(id_key)
        if (
            type(vid) is not str
            or not vid
            or len(vid) > longest
            or not (plain or vid.isprintable())
        ):
            vid = _vehicle_id_slow(fc, item, r, id_key, other_id_key)
            if vid is None:
                dropped += 1
                continue
        sid = g("station_id")
        if sid is not None and (
            type(sid) is not str
            or not sid
            or len(sid) > longest
            or not (plain or sid.isprintable())
        ):
            sid = id_value(fc, p_sid, sid)
        lat = g("lat")
        lon = g("lon")
        if not (
            type(lat) is float
            and type(lon) is float
            and -90.0 <= lat <= 90.0
            and -180.0 <= lon <= 180.0
            and (lat != 0.0 or lon != 0.0)
        ):
            lat, lon, problem = coords_problem(lat, lon)
            if problem is not None:
                if lat is not None:  # coerced from strings
                    fc.add(WARNING, problem, item + "/lat", "position given as strings: coerced")
                elif sid is not None:
                    docked += 1
                    if problem != "coord.missing":
                        fc.add(
                            WARNING,
                            problem,
                            item + "/lat",
                            f"{COORD_MESSAGES[problem]}: ignored, vehicle kept (at a station)",
                        )
                else:
                    fc.add(
                        ERROR,
                        problem,
                        item + "/lat",
                        f"vehicle dropped: {COORD_MESSAGES[problem]}"
                        f" (e.g. {id_key}={vid!r}, lat={show(g('lat'))}, lon={show(g('lon'))})",
                    )
                    dropped += 1
                    continue
        if vid in seen:
            duplicates += 1
            continue
        seen_add(vid)
        res = g("is_reserved")
        if res is not False and res is not True:
            if type(res) is int and (res == 0 or res == 1):  # common (Lyft, Bolt, Lime)
                res = res == 1
                int_res += 1
                ones_res += res
            else:
                res = _bool_slow(fc, p_res, res)
        dis = g("is_disabled")
        if dis is not False and dis is not True:
            if type(dis) is int and (dis == 0 or dis == 1):
                dis = dis == 1
                int_dis += 1
                ones_dis += dis
            else:
                dis = _bool_slow(fc, p_dis, dis)
        vt = g("vehicle_type_id")
        if type(vt) is not str or not vt or len(vt) > longest or not (plain or vt.isprintable()):
            vt = _vehicle_type_slow(fc, item, r, vt)
        hs = g("home_station_id")
        if hs is not None and (
            type(hs) is not str or not hs or len(hs) > longest or not (plain or hs.isprintable())
        ):
            hs = id_value(fc, p_hs, hs)
        pp = g("pricing_plan_id")
        if pp is not None and (
            type(pp) is not str or not pp or len(pp) > longest or not (plain or pp.isprintable())
        ):
            pp = id_value(fc, p_pp, pp)
        rng = g("current_range_meters")
        if rng is not None and not ((type(rng) is float or type(rng) is int) and rng >= 0):
            rng = float_value(fc, p_rng, rng, 0.0)
        fp = g("current_fuel_percent")
        if fp is not None and not ((type(fp) is float or type(fp) is int) and 0 <= fp <= 1):
            fp = float_value(fc, p_fp, fp, 0.0, 100.0)
            if fp is not None and fp > 1:
                fuel_over_one += 1
        lr = g("last_reported")
        if lr is not None:
            lr = (ts_good(lr) or ts_slow(lr)) if type(lr) is ts_type else ts_slow(lr)
        uri = g("rental_uris")
        if uri is not None:
            uri, link_problem = rental_link(uri)
            if link_problem is not None:
                code, key, message = link_problem
                fc.add(WARNING, code, f"{item}/rental_uris/{key}", message)
        append(new_vehicle(vid, lat, lon, res, dis, vt, sid, hs, rng, fp, lr, pp, uri))

    for count, ones, path in ((int_res, ones_res, p_res), (int_dis, ones_dis, p_dis)):
        if count:
            fc.add(WARNING, "coerce.bool_int", path, bool_int_message(count - ones, ones), count)
    if duplicates:
        fc.add(
            ERROR,
            "record.duplicate_id",
            f"{item}/{id_key}",
            f"duplicate {id_key}: first occurrence kept, later ones dropped",
            duplicates,
        )
    if docked:
        allowed = ctx.version >= "2.1"
        fc.add(
            INFO if allowed else WARNING,
            "vehicle.docked_without_position",
            item + "/lat",
            "vehicles at a station without lat/lon: kept with no position (counted in the"
            " fleet, in no zone count nor parking rule)"
            + ("" if allowed else " (only allowed from GBFS 2.1)"),
            docked,
        )
    if fuel_over_one:
        _fix_fuel_scale(fc, p_fp, out, fuel_over_one)
    _check_synthetic_last_reported(ctx, fc, item, out, ts.good)
    ctx.dropped += dropped + duplicates
    return out


def rental_link(uris: Any) -> tuple[str | None, tuple[str, str, str] | None]:
    """One http(s) link from ``rental_uris``: web, else the Android or iOS one.

    Returns ``(link, problem)``; ``problem`` is ``(finding code, key, message)``
    for the first value that fails the URL boundary. App deep links
    (``bolt://...`` under ``android``/``ios``) are skipped without a finding:
    the spec allows them there, they are just no link for a web page.
    """
    if type(uris) is not dict:
        return None, None
    problem = None
    for key in ("web", "android", "ios"):
        uri = uris.get(key)
        if type(uri) is not str or not uri:
            continue
        bad = url_problem(uri)
        if bad is None:
            return uri, problem
        if key != "web" and bad[1].startswith("has scheme") and ":" in uri:
            continue  # an app's own scheme
        if problem is None:
            problem = (bad[0], key, f"rental_uris.{key} ignored: {bad[1]}")
    return None, problem


def _vehicle_id_slow(
    fc: FindingCollector, item: str, r: dict[str, Any], id_key: str, other_id_key: str
) -> str | None:
    raw = r.get(id_key)
    if raw is None and other_id_key in r:
        raw = r.get(other_id_key)
        fc.add(WARNING, "vehicle.id_key", f"{item}/{other_id_key}", f"{other_id_key} used as id")
    return own_id(fc, f"{item}/{id_key}", raw, "vehicle")


def _bool_slow(fc: FindingCollector, path: str, value: Any) -> bool:
    if value is None:
        fc.add(WARNING, "value.missing", path, "boolean missing: taken as false")
        return False
    return bool(bool_value(fc, path, value, False))


def _vehicle_type_slow(fc: FindingCollector, item: str, r: dict[str, Any], vt: Any) -> str | None:
    if vt is not None:
        return id_value(fc, item + "/vehicle_type_id", vt)
    key = "vehicle_type"
    legacy = r.get(key)
    if legacy is None:
        key = "type"
        legacy = r.get(key)
    if type(legacy) is str and legacy.strip():
        kind = legacy.strip().lower()
        problem = id_problem(LEGACY_TYPE_PREFIX + kind)
        if problem is not None:
            fc.add(WARNING, problem[0], f"{item}/{key}", f"{key} ignored: {problem[1]}")
            return None
        fc.add(
            WARNING,
            "vehicle.legacy_type",
            f"{item}/{key}",
            f"pre-2.1 {key!r} (e.g. {legacy!r}) mapped to a synthetic vehicle_type_id"
            f" '{LEGACY_TYPE_PREFIX}<value>'",
        )
        return LEGACY_TYPE_PREFIX + kind
    return None


def _fix_fuel_scale(fc: FindingCollector, path: str, out: list[Vehicle], over_one: int) -> None:
    """0-100 percentages: decided per file, as a 0.5 in a 0-100 file means 0.5 %."""
    values = sum(1 for v in out if v.current_fuel_percent is not None)
    if over_one * 2 >= values:  # at least half the values above 1
        for vehicle in out:
            if vehicle.current_fuel_percent is not None:
                vehicle.current_fuel_percent /= 100
        fc.add(
            WARNING,
            "coerce.fuel_percent_scale",
            path,
            "current_fuel_percent given as 0-100: all values of the file divided by 100",
            values,
        )
        return
    for vehicle in out:
        fuel = vehicle.current_fuel_percent
        if fuel is not None and fuel > 1:
            vehicle.current_fuel_percent = None
    fc.add(
        WARNING,
        "value.out_of_range",
        path,
        "current_fuel_percent above 1 in a 0-1 file: ignored",
        over_one,
    )


def _check_synthetic_last_reported(
    ctx: Ctx, fc: FindingCollector, item: str, out: list[Vehicle], good: dict[Any, datetime]
) -> None:
    """Every vehicle reporting at the very same second is a fake last_reported.

    ``good`` maps each distinct raw ``last_reported`` read without a finding to its
    time; two spellings of one instant (RFC 3339 ``Z`` and ``+00:00``) count once.
    """
    if len(out) < 10:
        return
    times = set(good.values())
    if len(times) != 1:
        return
    reported = sum(1 for v in out if v.last_reported is not None)
    if reported != len(out):
        return
    add_synthetic_last_reported(ctx, fc, item, reported, out[0])


def add_synthetic_last_reported(
    ctx: Ctx, fc: FindingCollector, item: str, reported: int, sample: Vehicle
) -> None:
    """The finding for a file whose vehicles all report the same instant as ``sample``."""
    same = " (= last_updated)" if sample.last_reported == ctx.last_updated else ""
    fc.add(
        WARNING,
        "vehicle.synthetic_last_reported",
        item + "/last_reported",
        f"all {reported} vehicles report the same last_reported{same}: not usable for idle time",
    )
