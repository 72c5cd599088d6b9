"""Permits as TOML: ``load_permit_toml(text) -> Permit``.

Parses text given to it (no file I/O). Every error is a ``PermitError``
(a ``ValueError``) naming the offending key, e.g.
``time_limits.max_idle: expected a duration such as "72h" or "5d", got 'soon'``.
Unknown keys are errors too (a typo must not silently drop a clause), and so
are values out of bounds: NaN or infinite numbers, caps, penalties, tolerances
and durations beyond the limits of ``rules.limits``, dates outside 2000-2099,
zone ids that cannot be ids (``rules.checks.permit_problem``, which the engine
applies again to stored permits). Whether the zones named exist is the
database layer's check (it knows the zones).

Format (every table and key optional unless marked required)::

    operator = "trotti"                          # required: operator slug
    version = 3                                  # required: integer >= 1
    name = "Trotti - AOT 2025-2027"
    effective_from = 2025-01-01T00:00:00+01:00   # required; a TOML date or datetime
    effective_to = 2027-01-01T00:00:00+01:00     # (local ones are in `timezone`)
    timezone = "Europe/Paris"                    # local time of every time of day below
    gps_tolerance_m = 10                         # border band where findings are 'uncertain'
    mds_provider_id = "c20e08cf-8488-46a6-a66c-5d8fb827f7e0"  # MDS provider UUID, if registered

    [fleet]
    cap = 500                                    # deployed vehicles, all types
    cap_by_form_factor = { scooter_standing = 400, bicycle = 150 }  # MDS vehicle types

    [zones]                                      # zone ids -> vehicles
    caps = { "district:vieille-ville" = 60 }
    floors = { "district:novel" = 5 }

    [time_limits]                                # durations: "90s", "5m", "72h", "5d",
    max_idle = "5d"                              # "1d12h", or ISO 8601 "PT72H", "P5D"
    max_disabled = "24h"

    [parking]
    mandatory = true                             # park in designated areas only
    zones = []                                   # designated area ids (empty = all)
    districts = ["district:centre"]              # where mandatory (empty = everywhere)
    share_weight = 500                           # share of shared capacities (default: fleet.cap)
    prohibited_kinds = ["no_parking", "pedestrian", "water", "tram_tracks"]

    [operating_area]
    zones = ["area:annecy"]                      # empty = all operating_area zones

    [data]
    max_feed_staleness = "5m"
    min_monthly_availability = 0.99

    [notices]
    day_deadline = "2h"
    night_deadline = "6h"
    day_start = "07:00"
    day_end = "21:00"
    min_confidence = 0.9                         # weaker findings: shown, not noticed

    [notices.deadlines]                          # per rule type, whatever the hour
    in_water = "45m"                             # (default: rules/registry.py's, if any)

    [legal]                                      # quoted in notices
    municipal_order = "Arrêté municipal n° 2025-412 du 15 décembre 2025"
    legal_basis = ["Code général de la propriété des personnes publiques, art. L2122-1"]
    [legal.clauses.in_water]                     # keyed by rule type
    article = "Article 7.3"
    text = "Aucun engin ne doit être laissé dans le lac ni sur ses berges."

    [escalation]                                 # which act a notice is (rules.inputs)
    formal_after_missed_deadlines = 1            # 0 = never
    formal_after_notices = 0                     # 0 = never
    lookback = "30d"
    penalty_statement = true

    [penalties]                                  # EUR per breach, keyed by rule type
    idle_too_long = 49
    in_no_parking_area = 35

    [counting]
    sample_interval = "5m"
    operating_hours = ["06:00", "23:00"]         # omit for around the clock
    window = "24h"
    min_coverage = 0.8
"""

from __future__ import annotations

import math
import re
import tomllib
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rules.checks import permit_problem
from rules.findings import RuleType
from rules.inputs import (
    PROHIBITED_KINDS,
    CountingMethod,
    DataObligations,
    EscalationTerms,
    LegalClause,
    LegalTerms,
    NoticeTerms,
    ParkingTerms,
    Permit,
)
from rules.mds_mapping import permit_mds_problem


class PermitError(ValueError):
    """An invalid permit; the message starts with the offending key."""


_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_SHORT = re.compile(r"(\d+(?:\.\d+)?)([dhms])")
_ISO = re.compile(
    r"P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?"
)


#: no duration the rules take is longer (a larger one is a typo, or an attempt to overflow)
MAX_DURATION = timedelta(days=36_600)


def parse_duration(value: str) -> timedelta:
    """ "90s", "5m", "72h", "5d", "1d12h", or ISO 8601 "PT72H" / "P5D".

    Raises ``ValueError`` for anything else, including durations beyond a century."""
    text = value.strip()
    iso = _ISO.fullmatch(text.upper())
    if iso and text.upper() not in ("P", "PT"):
        seconds = sum(float(v or 0) * _UNITS[k] for k, v in iso.groupdict().items())
    else:
        parts = _SHORT.findall(text.lower())
        if not parts or "".join(n + u for n, u in parts) != text.lower():
            raise ValueError(value)
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if not math.isfinite(seconds) or seconds > MAX_DURATION.total_seconds():
        raise ValueError(value)
    return timedelta(seconds=seconds)


class _Table:
    """A TOML table read key by key; leftovers are reported as unknown keys."""

    def __init__(self, data: Any, path: str, tz: ZoneInfo | None = None) -> None:
        if not isinstance(data, dict):
            raise PermitError(f"{path or 'permit'}: expected a table")
        self.data = dict(data)
        self.path = path
        self.tz = tz

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def fail(self, name: str, expected: str, got: Any) -> PermitError:
        return PermitError(f"{self.key(name)}: expected {expected}, got {got!r}")

    def raw(self, name: str, required: bool = False) -> Any:
        if name not in self.data:
            if required:
                raise PermitError(f"{self.key(name)}: required key is missing")
            return None
        return self.data.pop(name)

    def table(self, name: str) -> _Table:
        value = self.raw(name)
        return _Table({} if value is None else value, self.key(name), self.tz)

    def str_(self, name: str, default: str | None = None, required: bool = False) -> Any:
        v = self.raw(name, required)
        if v is None:
            return default
        if not isinstance(v, str) or not v.strip():
            raise self.fail(name, "a non-empty string", v)
        return v

    def int_(self, name: str, default: int | None = None, minimum: int = 0, required=False) -> Any:
        v = self.raw(name, required)
        if v is None:
            return default
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise self.fail(name, f"an integer >= {minimum}", v)
        return v

    def float_(self, name: str, default: float | None, lo: float, hi: float | None = None) -> Any:
        v = self.raw(name)
        if v is None:
            return default
        if (
            isinstance(v, bool)
            or not isinstance(v, int | float)
            or not math.isfinite(v)
            or v < lo
            or (hi is not None and v > hi)
        ):
            bounds = f">= {lo:g}" if hi is None else f"in [{lo:g}, {hi:g}]"
            raise self.fail(name, f"a finite number {bounds}", v)
        return float(v)

    def bool_(self, name: str, default: bool) -> bool:
        v = self.raw(name)
        if v is None:
            return default
        if not isinstance(v, bool):
            raise self.fail(name, "true or false", v)
        return v

    def duration(self, name: str, default: timedelta | None) -> Any:
        v = self.raw(name)
        if v is None:
            return default
        try:
            if not isinstance(v, str):
                raise ValueError(v)
            d = parse_duration(v)
        except ValueError:
            raise self.fail(name, 'a duration such as "72h" or "5d"', v) from None
        if d <= timedelta(0):
            raise self.fail(name, "a positive duration", v)
        return d

    def time_(self, name: str, default: time) -> time:
        v = self.raw(name)
        if v is None:
            return default
        return self._time(name, v)

    def _time(self, name: str, v: Any) -> time:
        if isinstance(v, time):
            return v
        try:
            return time.fromisoformat(v)
        except (TypeError, ValueError):
            raise self.fail(name, 'a time of day such as "07:00"', v) from None

    def datetime_(self, name: str, required: bool = False) -> datetime | None:
        v = self.raw(name, required)
        if v is None:
            return None
        if isinstance(v, str):
            try:
                v = datetime.fromisoformat(v)
            except ValueError:
                raise self.fail(name, "a date or datetime", v) from None
        if isinstance(v, datetime):
            return v if v.tzinfo is not None else v.replace(tzinfo=self.tz)
        if isinstance(v, date):
            return datetime(v.year, v.month, v.day, tzinfo=self.tz)
        raise self.fail(name, "a date or datetime", v)

    def ids(self, name: str) -> tuple[str, ...]:
        v = self.raw(name)
        if v is None:
            return ()
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            raise self.fail(name, "a list of strings", v)
        return tuple(v)

    def counts(self, name: str) -> dict[str, int]:
        t = self.table(name)
        return {k: t.int_(k) for k in list(t.data)}

    def done(self) -> None:
        if self.data:
            unknown = ", ".join(self.key(k) for k in sorted(self.data))
            raise PermitError(f"{unknown}: unknown key")


#: longest legal wording kept (a clause's text, an order, one legal basis)
MAX_LEGAL_TEXT = 4000


def _legal_text(t: _Table, name: str, default: str = "") -> str:
    value: str = t.str_(name, default)
    if len(value) > MAX_LEGAL_TEXT or any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise t.fail(name, f"text of at most {MAX_LEGAL_TEXT} printable characters", value[:40])
    return value.strip()


def _legal_terms(lg: _Table, rule_names: set[str]) -> LegalTerms:
    order = _legal_text(lg, "municipal_order")
    basis = lg.ids("legal_basis")
    if len(basis) > 20 or any(len(b) > MAX_LEGAL_TEXT for b in basis):
        raise lg.fail("legal_basis", "at most 20 texts", len(basis))
    ct = lg.table("clauses")
    clauses: dict[str, LegalClause] = {}
    for rule in list(ct.data):
        if rule not in rule_names:
            raise PermitError(f"{ct.key(rule)}: unknown rule type (one of {sorted(rule_names)})")
        one = ct.table(rule)
        clauses[rule] = LegalClause(
            article=_legal_text(one, "article", ""), text=_legal_text(one, "text", "")
        )
        one.done()
    ct.done()
    lg.done()
    return LegalTerms(municipal_order=order, legal_basis=basis, clauses=clauses)


def load_permit_toml(text: str) -> Permit:
    """Parse one permit from TOML text (see the module docstring for the format)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PermitError(f"permit: invalid TOML: {exc}") from None
    root = _Table(data, "")
    tz_name = root.str_("timezone", "Europe/Paris")
    try:
        root.tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise root.fail("timezone", "an IANA time zone such as 'Europe/Paris'", tz_name) from None
    operator = root.str_("operator", required=True)
    version = root.int_("version", minimum=1, required=True)
    effective_from = root.datetime_("effective_from", required=True)
    effective_to = root.datetime_("effective_to")
    if effective_to is not None and effective_from is not None and effective_to <= effective_from:
        raise root.fail("effective_to", "a time after effective_from", effective_to.isoformat())

    fleet = root.table("fleet")
    cap = fleet.int_("cap")
    by_ff = fleet.counts("cap_by_form_factor")
    fleet.done()
    zones = root.table("zones")
    caps, floors = zones.counts("caps"), zones.counts("floors")
    zones.done()
    limits = root.table("time_limits")
    max_idle, max_disabled = (
        limits.duration("max_idle", None),
        limits.duration("max_disabled", None),
    )
    limits.done()

    pk = root.table("parking")
    kinds = pk.ids("prohibited_kinds") if "prohibited_kinds" in pk.data else PROHIBITED_KINDS
    bad = [k for k in kinds if k not in PROHIBITED_KINDS]
    if bad:
        raise pk.fail("prohibited_kinds", f"kinds among {list(PROHIBITED_KINDS)}", bad)
    parking = ParkingTerms(
        mandatory=pk.bool_("mandatory", False),
        zone_ids=pk.ids("zones"),
        district_ids=pk.ids("districts"),
        share_weight=pk.float_("share_weight", None, 0.0),
    )
    pk.done()
    area = root.table("operating_area")
    area_ids = area.ids("zones")
    area.done()

    dt = root.table("data")
    data_terms = DataObligations(
        max_feed_staleness=dt.duration("max_feed_staleness", timedelta(minutes=5)),
        min_monthly_availability=dt.float_("min_monthly_availability", 0.99, 0.0, 1.0),
    )
    dt.done()
    nt = root.table("notices")
    per_rule = nt.table("deadlines")
    deadlines = {}
    for k in list(per_rule.data):
        if k not in {str(r) for r in RuleType}:
            raise PermitError(f"{per_rule.key(k)}: unknown rule type")
        deadlines[k] = per_rule.duration(k, None)
    per_rule.done()
    notices = NoticeTerms(
        day_deadline=nt.duration("day_deadline", timedelta(hours=2)),
        night_deadline=nt.duration("night_deadline", timedelta(hours=6)),
        day_start=nt.time_("day_start", time(7, 0)),
        day_end=nt.time_("day_end", time(21, 0)),
        min_confidence=nt.float_("min_confidence", None, 0.0, 1.0),
        deadlines=deadlines,
    )
    nt.done()

    pen = root.table("penalties")
    rule_names = {str(r) for r in RuleType}
    penalties = {}
    for k in list(pen.data):
        if k not in rule_names:
            raise PermitError(f"{pen.key(k)}: unknown rule type (one of {sorted(rule_names)})")
        penalties[k] = pen.float_(k, None, 0.0)
    pen.done()

    legal = _legal_terms(root.table("legal"), rule_names)
    esc = root.table("escalation")
    escalation = EscalationTerms(
        formal_after_missed_deadlines=esc.int_("formal_after_missed_deadlines", 1),
        formal_after_notices=esc.int_("formal_after_notices", 0),
        lookback=esc.duration("lookback", timedelta(days=30)),
        penalty_statement=esc.bool_("penalty_statement", True),
    )
    if escalation.lookback > timedelta(days=3660):
        raise esc.fail("lookback", "a duration of at most ten years", escalation.lookback)
    esc.done()

    ct = root.table("counting")
    hours_raw = ct.raw("operating_hours")
    hours = None
    if hours_raw is not None:
        if not isinstance(hours_raw, list) or len(hours_raw) != 2:
            raise ct.fail("operating_hours", '["HH:MM", "HH:MM"]', hours_raw)
        hours = (
            ct._time("operating_hours", hours_raw[0]),
            ct._time("operating_hours", hours_raw[1]),
        )
    counting = CountingMethod(
        sample_interval=ct.duration("sample_interval", timedelta(minutes=5)),
        operating_hours=hours,
        window=ct.duration("window", timedelta(hours=24)),
        min_coverage=ct.float_("min_coverage", 0.8, 0.0, 1.0),
    )
    ct.done()

    assert effective_from is not None  # required=True raised otherwise
    permit = Permit(
        operator=operator,
        version=version,
        name=root.str_("name", ""),
        effective_from=effective_from,
        effective_to=effective_to,
        timezone=tz_name,
        gps_tolerance_m=root.float_("gps_tolerance_m", 10.0, 0.0),
        mds_provider_id=root.str_("mds_provider_id"),
        fleet_cap=cap,
        fleet_cap_by_form_factor=by_ff,
        zone_caps=caps,
        zone_floors=floors,
        max_idle=max_idle,
        max_disabled=max_disabled,
        parking=parking,
        prohibited_kinds=tuple(kinds),
        operating_area_zone_ids=area_ids,
        data=data_terms,
        notices=notices,
        penalties_eur=penalties,
        counting=counting,
        legal=legal,
        escalation=escalation,
    )
    root.done()
    problem = permit_problem(permit)  # bounds, finite numbers, zone ids: see rules.checks
    if problem is None:  # what MDS Policy needs to publish it (rules.mds_mapping)
        problem = permit_mds_problem(permit.mds_provider_id, permit.fleet_cap_by_form_factor)
    if problem is not None:
        raise PermitError(problem)
    return permit
