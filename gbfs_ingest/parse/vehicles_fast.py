"""Fast path for large, clean vehicle files: typed decoding straight from the bytes.

A 100,000-vehicle ``free_bike_status`` takes ~80 ms to decode into dicts and
~120 ms more for :mod:`.vehicles` to read them. Most big feeds are clean, so
this module first decodes the body with ``msgspec`` into typed records that
admit *only* what the tolerant parser accepts without a finding (the exact
types, non-empty ids, coordinates in range, booleans as booleans, fuel within
0-1). Anything else (a string coordinate, 0/1 booleans, a duplicate id, a
vehicle without a position, a legacy ``type`` key, a byte-order mark, no
``version`` field...) makes it give up and return None, and the caller runs
the tolerant parser on the same bytes. Both paths therefore give the same
vehicles and the same findings; ``tests/ingest/test_parse_fast.py`` checks it
on every real capture and on crafted quirks.

With a :class:`VehicleMemo` (one per feed, kept by the caller), the body is
first split into raw records, and only those that are not a repeat of the
previous file are decoded (usually a few percent): see :mod:`.vehicle_memo`.
The result then notes, for each record, which record of the previous file it
repeats (``ParsedFeed.carried_from``), so the diff can skip those as well.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import numpy as np
from msgspec import UNSET, Meta, Struct, UnsetType

from gbfs_ingest.model import FeedType, ParsedFeed, Vehicle

from ._common import Ctx, FindingCollector, TimestampReader, gc_paused, read_envelope
from .boundary import MAX_ID_CHARS, is_plain_json_text
from .vehicle_memo import (
    NOT_CLEAN,
    Match,
    VehicleMemo,
    has_duplicates,
    same_time_everywhere,
)
from .vehicles import add_synthetic_last_reported, rental_link
from .version import detect_version, normalise_version

__all__ = ["VehicleMemo", "parse_vehicle_status_fast"]

_Id = Annotated[str, Meta(min_length=1, max_length=MAX_ID_CHARS)]
_Lat = Annotated[float, Meta(ge=-90.0, le=90.0)]
_Lon = Annotated[float, Meta(ge=-180.0, le=180.0)]
_Range = Annotated[float, Meta(ge=0.0)]
_Fuel = Annotated[float, Meta(ge=0.0, le=1.0)]
# integers both decoders read alike (orjson makes a float of anything beyond 64 bits,
# msgspec an int): larger ones go to the tolerant parser
_JsonInt = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]


class _Record(Struct, gc=False, rename={"legacy_type": "type"}):
    """Fields common to every version, in the only shape the fast path accepts."""

    lat: _Lat
    lon: _Lon
    is_reserved: bool
    is_disabled: bool
    vehicle_type_id: _Id | None = None
    station_id: _Id | None = None
    home_station_id: _Id | None = None
    pricing_plan_id: _Id | None = None
    current_range_meters: _Range | None = None
    current_fuel_percent: _Fuel | None = None
    rental_uris: Any = None
    # pre-2.1 inline kinds: the tolerant parser maps them (with a finding)
    vehicle_type: Any = UNSET
    legacy_type: Any = UNSET


class _RecordV2(_Record, gc=False):  # 1.x and 2.x
    bike_id: _Id = ""
    last_reported: _JsonInt | None = None


class _RecordV3(_Record, gc=False):
    vehicle_id: _Id = ""
    last_reported: str | None = None


class _RawDataV2(Struct, gc=False):
    bikes: list[msgspec.Raw]


class _RawDataV3(Struct, gc=False):
    vehicles: list[msgspec.Raw]


class _EnvelopeV2(Struct, gc=False):
    data: _RawDataV2
    last_updated: Any = UNSET
    ttl: Any = UNSET
    version: Any = UNSET


class _EnvelopeV3(Struct, gc=False):
    data: _RawDataV3
    last_updated: Any = UNSET
    ttl: Any = UNSET
    version: Any = UNSET


class _DataV2(Struct, gc=False):
    bikes: list[_RecordV2]


class _DataV3(Struct, gc=False):
    vehicles: list[_RecordV3]


class _TypedEnvelopeV2(Struct, gc=False):
    data: _DataV2


class _TypedEnvelopeV3(Struct, gc=False):
    data: _DataV3


_TYPED: dict[str, msgspec.json.Decoder[Any]] = {
    "2": msgspec.json.Decoder(_TypedEnvelopeV2),
    "3": msgspec.json.Decoder(_TypedEnvelopeV3),
}
_ENVELOPES: dict[str, msgspec.json.Decoder[Any]] = {
    "2": msgspec.json.Decoder(_EnvelopeV2),
    "3": msgspec.json.Decoder(_EnvelopeV3),
}
_RECORDS: dict[str, msgspec.json.Decoder[Any]] = {
    "2": msgspec.json.Decoder(list[_RecordV2]),
    "3": msgspec.json.Decoder(list[_RecordV3]),
}


def parse_vehicle_status_fast(
    body: bytes, declared: str | None, memo: VehicleMemo | None = None
) -> ParsedFeed | None:
    """Parse a clean vehicle file of the ``declared`` version family, or return None.

    With a ``memo`` (updated in place), records unchanged since the memo's
    file are not decoded again.
    """
    memo = memo if memo is not None else VehicleMemo()  # a throwaway one: same code path
    family = (normalise_version(declared)[0] or "")[:1] if declared else ""
    family = "2" if family == "1" else family
    decoder = _ENVELOPES.get(family)
    if decoder is None or body[:3] == b"\xef\xbb\xbf":
        return None
    try:
        env = decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return None  # RecursionError: nested deeper than the decoder goes
    if isinstance(env.version, UnsetType) or env.version is None:
        return None  # the version would be guessed from the shape: the tolerant path's job
    head: dict[str, Any] = {"version": env.version}
    for key in ("last_updated", "ttl"):
        value = getattr(env, key)
        if type(value) is int and not -(2**63) <= value < 2**63:
            return None  # orjson reads it as a float: let the tolerant path judge it
        if not isinstance(value, UnsetType):
            head[key] = value
    used, guessed = detect_version(head, declared)
    if guessed or env.version != used or normalise_version(declared)[0] != used:
        return None  # version findings: left to the tolerant path
    fc = FindingCollector()
    ctx = Ctx(used, fc, None)
    ctx.last_updated, ttl = read_envelope(head, ctx)
    raws: list[msgspec.Raw] = env.data.vehicles if ctx.v3 else env.data.bikes
    if not raws:
        return None  # an empty list has its own finding: the tolerant path's job
    item = "/data/vehicles/*" if ctx.v3 else "/data/bikes/*"
    if (
        memo.version != used
        or memo.last_updated is None
        or ctx.last_updated is None
        or ctx.last_updated < memo.last_updated  # timestamps were judged against it
    ):
        memo.clear()
    with gc_paused(len(raws)):
        result = _to_vehicles(ctx, family, body, raws, item, memo)
    if result is None:
        memo.clear()
        return None
    vehicles, found = result
    parsed = ParsedFeed(
        FeedType.VEHICLE_STATUS, used, ctx.last_updated, ttl, vehicles, 0, fc.to_list()
    )
    if found.base is not None:  # which record of the memo's file each one repeats
        parsed.carried_from, parsed.carry_base = found.carried_from, found.base
    return parsed


def _to_vehicles(
    ctx: Ctx,
    family: str,
    body: bytes,
    raws: list[msgspec.Raw],
    item: str,
    memo: VehicleMemo,
) -> tuple[list[Vehicle], Match] | None:
    keys = list(map(bytes, raws))
    found = memo.match(keys)
    out = found.vehicles
    fresh: list[int] = np.flatnonzero(~found.remembered).tolist()
    plain = True  # every string decoded below is printable ASCII (the ids' boundary)
    try:
        if len(fresh) == len(raws):  # nothing remembered: decode the body as it is
            env = _TYPED[family].decode(body)
            records = env.data.vehicles if ctx.v3 else env.data.bikes
            plain = is_plain_json_text(body)
        elif fresh:
            text = b"[" + b",".join([keys[i] for i in fresh]) + b"]"
            records = _RECORDS[family].decode(text)
            plain = is_plain_json_text(text)
        else:
            records = []
    except (msgspec.ValidationError, RecursionError):
        return None
    del keys
    ts = TimestampReader(ctx, item + "/last_reported")
    ts_good, ts_slow, ts_type = ts.good.get, ts.slow, ts.fast_type
    new_vehicle = Vehicle
    unset = UNSET
    v3 = ctx.v3
    id_hashes: list[int] = []
    epochs: list[float] = []
    cleans: list[bool] = []
    made: list[Vehicle] = []
    nan = float("nan")
    if len(records) != len(fresh):
        return None
    for r in records:
        vid = r.vehicle_id if v3 else r.bike_id
        lat = r.lat
        lon = r.lon
        if (
            not vid
            or (-1e-6 < lat < 1e-6 and -1e-6 < lon < 1e-6)
            or r.vehicle_type is not unset
            or r.legacy_type is not unset
            or not (plain or _printable_ids(r, vid))
        ):
            return None  # missing id, null island, legacy type, an odd id: tolerant path
        raw_lr = r.last_reported
        lr = None
        clean = True
        epoch = nan  # no last_reported
        if raw_lr is not None:
            lr = ts_good(raw_lr) if type(raw_lr) is ts_type else None
            if lr is None:
                lr = ts_slow(raw_lr)  # records a finding if the value is odd
                clean = lr is not None and ts_good(raw_lr) is not None
            if not clean:
                epoch = NOT_CLEAN if lr is not None else nan
            else:  # whole POSIX seconds before 3.0: the same float as lr.timestamp()
                epoch = raw_lr if not v3 else lr.timestamp()  # type: ignore[union-attr]
        uri = r.rental_uris
        if uri is not None:
            uri, problem = rental_link(uri)
            if problem is not None:
                return None  # a finding: the tolerant path's job
        made.append(
            new_vehicle(
                vid,
                lat,
                lon,
                r.is_reserved,
                r.is_disabled,
                r.vehicle_type_id,
                r.station_id,
                r.home_station_id,
                r.current_range_meters,
                r.current_fuel_percent,
                lr,
                r.pricing_plan_id,
                uri,
            )
        )
        id_hashes.append(hash(vid))
        epochs.append(epoch)
        cleans.append(clean)
    if fresh:
        at = np.array(fresh, np.int64)
        out[at] = made
        found.id_hash[at] = id_hashes
        found.epoch[at] = epochs
        found.remembered[at] = cleans
    if has_duplicates(found.id_hash):
        return None  # duplicate ids: the tolerant path keeps the first, with a finding
    vehicles: list[Vehicle] = out.tolist()  # every hole is filled
    if len(vehicles) >= 10 and same_time_everywhere(found.epoch):
        add_synthetic_last_reported(ctx, ctx.findings, item, len(vehicles), vehicles[0])
    memo.remember(ctx.version, ctx.last_updated, vehicles, found)
    return vehicles, found


def _printable_ids(r: _RecordV2 | _RecordV3, vid: str) -> bool:
    """Every id of a record passes the boundary's characters (lengths: msgspec checked)."""
    return (
        vid.isprintable()
        and (r.vehicle_type_id is None or r.vehicle_type_id.isprintable())
        and (r.station_id is None or r.station_id.isprintable())
        and (r.home_station_id is None or r.home_station_id.isprintable())
        and (r.pricing_plan_id is None or r.pricing_plan_id.isprintable())
    )
