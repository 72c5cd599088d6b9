"""Can the rules use this zone, this permit? One answer, used where they enter and
again when the engine prepares them.

``zone_problem`` and ``permit_problem`` return why a zone or a permit cannot be
used (a message starting with the offending field), or None. The parsers refuse
what they flag; the engine skips it with a ``ConfigIssue`` that the database
layer records and the admin page shows, and the other rules still run. Bounds
come from :mod:`rules.limits`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import shapely

from rules import limits
from rules.findings import RuleType
from rules.inputs import PROHIBITED_KINDS, SCHEDULED_KINDS, ZONE_KINDS, Permit, Zone

IssueKind = Literal["zone", "permit", "zones", "evaluation"]
Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """A zone or permit the engine skipped (``error``) or used after a repair (``warning``).

    ``subject`` is the zone id or the operator slug, ``version`` the zone or permit
    version (None when the issue concerns no single version).
    """

    kind: IssueKind
    subject: str
    version: int | None
    reason: str
    severity: Severity = "error"

    @property
    def label(self) -> str:
        return self.subject if self.version is None else f"{self.subject} v{self.version}"


# --------------------------------------------------------------------------- names


def valid_slug(value: Any) -> bool:
    """An operator slug: 1-64 letters, digits, '-' or '_' (as in the settings)."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= 64
        and all(c.isalnum() or c in "-_" for c in value)
    )


def valid_zone_id(value: Any) -> bool:
    """A zone id: 1-128 printable characters, no '|' (violation keys are '|'-joined)."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= limits.MAX_ZONE_ID_CHARS
        and value.isprintable()
        and "|" not in value
        and value.strip() == value
    )


# --------------------------------------------------------------------------- zones

_POLYGONAL = ("Polygon", "MultiPolygon")
_LINEAR = ("LineString", "MultiLineString")


def allowed_geometry_types(kind: str) -> tuple[str, ...]:
    return _POLYGONAL + _LINEAR if kind == "tram_tracks" else _POLYGONAL


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def line_buffer_problem(value: Any, field: str = "buffer_m") -> str | None:
    """Why a line half-width cannot be used, or None (None itself is fine: the default)."""
    if value is None:
        return None
    if not _finite(value) or not 0 < value <= limits.MAX_LINE_BUFFER_M:
        return (
            f"{field}: expected a number of metres above 0 and at most"
            f" {limits.MAX_LINE_BUFFER_M:g}, got {value!r}"
        )
    return None


def geometry_problem(geom: Any, kind: str) -> str | None:
    """Why a WGS 84 geometry cannot be a zone of ``kind``, validity aside."""
    if geom is None or not hasattr(geom, "geom_type"):
        return "geometry: missing"
    if geom.is_empty:
        return "geometry: empty"
    allowed = allowed_geometry_types(kind)
    if geom.geom_type not in allowed:
        return f"geometry: {geom.geom_type} ({kind} zones are {' or '.join(allowed)})"
    coords = shapely.get_coordinates(geom)
    if len(coords) > limits.MAX_ZONE_VERTICES:
        return f"geometry: {len(coords):,} points (at most {limits.MAX_ZONE_VERTICES:,})"
    if not np.isfinite(coords).all():
        return "geometry: coordinates are not finite numbers"
    lon, lat = coords[:, 0], coords[:, 1]
    if (np.abs(lon) > 180).any() or (np.abs(lat) > 90).any():
        return (
            "geometry: coordinates outside longitude/latitude ranges;"
            " zones must be in WGS 84 (EPSG:4326) degrees"
        )
    return None


def zone_problem(zone: Zone) -> str | None:
    """Why the engine cannot use ``zone`` (invalid geometry aside: see ``zone_warning``)."""
    if zone.kind not in ZONE_KINDS:
        return f"kind: unknown zone kind {zone.kind!r}"
    if not valid_zone_id(zone.id):
        return f"id: {zone.id!r} is not a usable zone id"
    problem = geometry_problem(zone.geometry, zone.kind)
    if problem is None:
        problem = line_buffer_problem(zone.buffer_m)
    if problem is None and zone.capacity is not None:
        c = zone.capacity
        if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= limits.MAX_ZONE_CAPACITY:
            problem = f"capacity: expected an integer in [0, {limits.MAX_ZONE_CAPACITY}], got {c!r}"
    if problem is None:
        problem = _period_problem(zone.effective_from, zone.effective_to)
    if problem is None and (zone.schedule is not None) != (zone.kind in SCHEDULED_KINDS):
        problem = (
            f"schedule: a {zone.kind} zone needs one"
            if zone.schedule is None
            else f"schedule: {zone.kind} zones apply at all times"
        )
    return problem


def zone_warning(zone: Zone) -> str | None:
    """A usable zone whose geometry is invalid (the engine repairs it with make_valid)."""
    if zone.geometry.geom_type in _POLYGONAL and not zone.geometry.is_valid:
        return f"geometry: invalid ({shapely.is_valid_reason(zone.geometry)}), repaired for use"
    return None


def _period_problem(start: datetime | None, end: datetime | None) -> str | None:
    for name, value in (("effective_from", start), ("effective_to", end)):
        if value is not None and not limits.in_time_range(value):
            return (
                f"{name}: {value.isoformat()} is outside {limits.EARLIEST.year}"
                f"-{limits.LATEST.year - 1}"
            )
    if start is not None and end is not None and end <= start:
        return "effective_to: not after effective_from"
    return None


# --------------------------------------------------------------------------- permits


def _count(field: str, value: Any) -> str | None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 0 <= value <= limits.MAX_VEHICLES
    ):
        return f"{field}: expected an integer in [0, {limits.MAX_VEHICLES:,}], got {value!r}"
    return None


def _number(field: str, value: Any, lo: float, hi: float) -> str | None:
    if not _finite(value) or not lo <= value <= hi:
        return f"{field}: expected a finite number in [{lo:g}, {hi:g}], got {value!r}"
    return None


def _td(value: timedelta) -> str:
    s = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size and s % size == 0:
            return f"{s // size}{unit}"
    return f"{value.total_seconds():g}s"


def _duration(field: str, value: Any, lo: timedelta, hi: timedelta) -> str | None:
    if not isinstance(value, timedelta):
        return f"{field}: expected a duration, got {value!r}"
    if not lo <= value <= hi:
        return f"{field}: expected a duration from {_td(lo)} to {_td(hi)}, got {_td(value)}"
    return None


def _ids(field: str, values: Any) -> str | None:
    if not isinstance(values, tuple | list) or not all(valid_zone_id(v) for v in values):
        return f"{field}: expected a list of zone ids, got {values!r}"
    return None


def _counts(field: str, values: Any, zone_keys: bool) -> str | None:
    if not isinstance(values, Mapping):
        return f"{field}: expected a table, got {values!r}"
    for k, v in values.items():
        if zone_keys and not valid_zone_id(k):
            return f"{field}: {k!r} is not a usable zone id"
        if not zone_keys and not (isinstance(k, str) and 0 < len(k) <= 64 and k.isprintable()):
            return f"{field}: {k!r} is not a form factor"
        problem = _count(f"{field}.{k}", v)
        if problem:
            return problem
    return None


def permit_problem(p: Permit) -> str | None:
    """Why the engine cannot use permit ``p``: the first offending key, as in the TOML."""
    checks = _permit_checks(p)
    return next((c for c in checks if c), None)


def _permit_checks(p: Permit) -> Iterable[str | None]:
    yield None if valid_slug(p.operator) else f"operator: {p.operator!r} is not an operator slug"
    yield (
        None
        if isinstance(p.version, int)
        and not isinstance(p.version, bool)
        and 1 <= p.version <= limits.MAX_PERMIT_VERSION
        else f"version: expected an integer in [1, {limits.MAX_PERMIT_VERSION:,}]"
    )
    if not isinstance(p.effective_from, datetime):
        yield "effective_from: missing"
    else:
        yield _period_problem(p.effective_from, p.effective_to)
    try:
        ZoneInfo(p.timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        yield f"timezone: unknown time zone {p.timezone!r}"
    yield _number("gps_tolerance_m", p.gps_tolerance_m, 0.0, limits.MAX_GPS_TOLERANCE_M)
    if p.fleet_cap is not None:
        yield _count("fleet.cap", p.fleet_cap)
    yield _counts("fleet.cap_by_form_factor", p.fleet_cap_by_form_factor, zone_keys=False)
    yield _counts("zones.caps", p.zone_caps, zone_keys=True)
    yield _counts("zones.floors", p.zone_floors, zone_keys=True)
    for name in ("max_idle", "max_disabled"):
        value = getattr(p, name)
        if value is not None:
            yield _duration(
                f"time_limits.{name}", value, timedelta(seconds=1), limits.MAX_TIME_LIMIT
            )
    pk = p.parking
    yield _ids("parking.zones", pk.zone_ids)
    yield _ids("parking.districts", pk.district_ids)
    if pk.share_weight is not None:
        yield _number("parking.share_weight", pk.share_weight, 0.0, limits.MAX_VEHICLES)
    if not set(p.prohibited_kinds) <= set(PROHIBITED_KINDS):
        yield f"parking.prohibited_kinds: expected kinds among {list(PROHIBITED_KINDS)}"
    yield _ids("operating_area.zones", p.operating_area_zone_ids)
    yield _duration(
        "data.max_feed_staleness",
        p.data.max_feed_staleness,
        timedelta(seconds=1),
        limits.MAX_STALENESS,
    )
    if p.data.min_monthly_availability is not None:
        yield _number("data.min_monthly_availability", p.data.min_monthly_availability, 0, 1)
    for name in ("day_deadline", "night_deadline"):
        yield _duration(
            f"notices.{name}",
            getattr(p.notices, name),
            timedelta(minutes=1),
            limits.MAX_NOTICE_DEADLINE,
        )
    for k, v in dict(p.notices.deadlines).items():
        if k not in {str(r) for r in RuleType}:
            yield f"notices.deadlines.{k}: unknown rule type"
        yield _duration(
            f"notices.deadlines.{k}", v, timedelta(minutes=1), limits.MAX_NOTICE_DEADLINE
        )
    for name in ("day_start", "day_end"):
        if not isinstance(getattr(p.notices, name), time):
            yield f"notices.{name}: expected a time of day"
    rule_names = {str(r) for r in RuleType}
    for k, amount in dict(p.penalties_eur).items():
        if k not in rule_names:
            yield f"penalties.{k}: unknown rule type"
        yield _number(f"penalties.{k}", amount, 0.0, limits.MAX_PENALTY_EUR)
    c = p.counting
    yield _duration(
        "counting.sample_interval",
        c.sample_interval,
        limits.MIN_SAMPLE_INTERVAL,
        limits.MAX_SAMPLE_INTERVAL,
    )
    if isinstance(c.sample_interval, timedelta):
        yield _duration("counting.window", c.window, c.sample_interval, limits.MAX_COUNT_WINDOW)
    yield _number("counting.min_coverage", c.min_coverage, 0, 1)
    if c.operating_hours is not None and not (
        len(c.operating_hours) == 2 and all(isinstance(t, time) for t in c.operating_hours)
    ):
        yield "counting.operating_hours: expected two times of day"


def check_permits(permits: Iterable[Permit]) -> tuple[list[Permit], list[ConfigIssue]]:
    """The usable permits, and an issue for each one skipped."""
    ok: list[Permit] = []
    issues: list[ConfigIssue] = []
    for p in permits:
        problem = checked_safely(permit_problem, p)
        if problem is None:
            ok.append(p)
        else:
            issues.append(ConfigIssue("permit", str(p.operator), int_or_none(p.version), problem))
    return ok, issues


def int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def checked_safely(check: Any, value: Any) -> str | None:
    """``check(value)``; a value so malformed that checking it raises is unusable too."""
    try:
        result: str | None = check(value)
    except Exception as exc:  # a malformed object (wrong types): skipped, never raised
        return f"cannot be checked ({type(exc).__name__}: {exc})"
    return result
