"""When a time-bounded zone applies: recurring weekly windows and one-off events.

A ``Schedule`` is written in the city's local time, because that is how a
market or a festival is announced ("Tuesday, Friday and Sunday 06:00-14:00";
"1 August 2026, 12:00 to 02:00 the next day"), and is turned into UTC
instants for a given day with ``zoneinfo``, so that the windows follow the
clocks across daylight-saving changes (06:00 is 05:00 UTC in winter and 04:00
UTC in summer). One-off events are stored as UTC instants once parsed.
A window whose end is not after its start ends the next day.

``lead`` is the operators' notice before each window: during the lead time the
zone is *upcoming* (shown, exported, and vehicles inside are reported as to be
cleared), from the start it is *active* (vehicles inside are in breach).

Input (GeoJSON ``properties.schedule`` or a table of a TOML file)::

    {"timezone": "Europe/Paris", "lead": "1h",
     "recurring": [{"days": ["tue", "fri", "sun"], "start": "06:00", "end": "14:00"}],
     "events": [{"date": "2026-08-01", "start": "12:00", "end": "02:00"}]}

Every problem is a ``ScheduleError`` naming the offending key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_LEAD = timedelta(days=7)
MAX_EVENT = timedelta(days=31)
MAX_WINDOWS = 200
_LEAD = re.compile(r"(\d{1,5})([mhd])")
_LEAD_UNITS = {"m": 60, "h": 3600, "d": 86400}
Phase = Literal["active", "upcoming"]


class ScheduleError(ValueError):
    """An unusable schedule; the message starts with the offending key."""


@dataclass(frozen=True, slots=True)
class Weekly:
    """Every week on ``days`` (0 = Monday), from ``start`` to ``end`` local time."""

    days: tuple[int, ...]
    start: time
    end: time


@dataclass(frozen=True, slots=True)
class Schedule:
    timezone: str = "Europe/Paris"
    weekly: tuple[Weekly, ...] = ()
    events: tuple[tuple[datetime, datetime], ...] = ()  # UTC
    lead: timedelta = timedelta(hours=1)

    def windows(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The UTC windows overlapping [start, end), in order."""
        tz = ZoneInfo(self.timezone)
        out = [(a, b) for a, b in self.events if a < end and b > start]
        first = start.astimezone(tz).date() - timedelta(days=1)
        last = end.astimezone(tz).date()
        day = first
        while day <= last:
            for w in self.weekly:
                if day.weekday() in w.days:
                    a, b = _local_window(day, w.start, w.end, tz)
                    if a < end and b > start:
                        out.append((a, b))
            day += timedelta(days=1)
        return sorted(set(out))

    def phase_at(self, at: datetime) -> tuple[Phase, datetime, datetime] | None:
        """``active`` (inside a window) or ``upcoming`` (within the lead time before one),
        with that window; None otherwise. Active wins over upcoming."""
        near = self.windows(at, at + self.lead + timedelta(seconds=1))
        for a, b in near:
            if a <= at < b:
                return ("active", a, b)
        for a, b in near:
            if a - self.lead <= at < a:
                return ("upcoming", a, b)
        return None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (weekly windows in local time, events as UTC instants)."""
        return {
            "timezone": self.timezone,
            "lead": f"{int(self.lead.total_seconds() // 60)}m",
            "recurring": [
                {
                    "days": [DAYS[d] for d in w.days],
                    "start": w.start.strftime("%H:%M"),
                    "end": w.end.strftime("%H:%M"),
                }
                for w in self.weekly
            ],
            "events": [{"start": a.isoformat(), "end": b.isoformat()} for a, b in self.events],
        }

    def describe(self, lang: str) -> str:
        """A short statement of the schedule, e.g. ``mar., ven., dim. 06:00-14:00``."""
        names = _DAY_NAMES.get(lang, _DAY_NAMES["en"])
        tz = ZoneInfo(self.timezone)
        parts = [
            f"{', '.join(names[d] for d in w.days)} {w.start:%H:%M}–{w.end:%H:%M}"
            for w in self.weekly
        ]
        for a, b in self.events:
            la, lb = a.astimezone(tz), b.astimezone(tz)
            parts.append(
                f"{la:%d/%m/%Y %H:%M}–{lb:%H:%M}"
                if lb.date() == la.date()
                else f"{la:%d/%m/%Y %H:%M}–{lb:%d/%m %H:%M}"
            )
        return "; ".join(parts)


_DAY_NAMES = {
    "fr": ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}


def _local_window(day: date, start: time, end: time, tz: ZoneInfo) -> tuple[datetime, datetime]:
    end_day = day if end > start else day + timedelta(days=1)
    return _utc(day, start, tz), _utc(end_day, end, tz)


def _utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """A local wall-clock time as UTC. A time skipped by the spring change (02:30)
    is read with the offset before it, i.e. as the instant the clocks show 03:30."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


# --------------------------------------------------------------------------- parsing


def parse_schedule(raw: Any, where: str = "schedule", default_tz: str = "Europe/Paris") -> Schedule:
    """A ``Schedule`` from plain data (see the module docstring)."""
    if isinstance(raw, Schedule):
        return raw
    if not isinstance(raw, Mapping):
        raise ScheduleError(f"{where}: expected an object")
    unknown = set(raw) - {"timezone", "lead", "recurring", "events"}
    if unknown:
        raise ScheduleError(f"{where}.{sorted(unknown)[0]}: unknown key")
    tz_name = raw.get("timezone", default_tz)
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ScheduleError(f"{where}.timezone: unknown time zone {tz_name!r}") from None
    weekly = tuple(
        _weekly(w, f"{where}.recurring[{i}]") for i, w in enumerate(_list(raw, "recurring", where))
    )
    events = tuple(
        _event(e, f"{where}.events[{i}]", tz) for i, e in enumerate(_list(raw, "events", where))
    )
    if not weekly and not events:
        raise ScheduleError(f"{where}: no recurring window and no event")
    if len(weekly) + len(events) > MAX_WINDOWS:
        raise ScheduleError(f"{where}: more than {MAX_WINDOWS} windows")
    return Schedule(tz_name, weekly, events, _lead(raw.get("lead", "1h"), f"{where}.lead"))


def _list(raw: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        raise ScheduleError(f"{where}.{key}: expected a list")
    return value


def _time(value: Any, where: str) -> time:
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    if not isinstance(value, str) or not re.fullmatch(r"\d{2}:\d{2}", value):
        raise ScheduleError(f'{where}: expected a time of day such as "06:00", got {value!r}')
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ScheduleError(f"{where}: {value!r} is not a time of day") from None


def _weekly(raw: Any, where: str) -> Weekly:
    if not isinstance(raw, Mapping) or set(raw) - {"days", "start", "end"}:
        raise ScheduleError(f"{where}: expected {{days, start, end}}")
    days = raw.get("days")
    if not isinstance(days, list) or not days or not all(d in DAYS for d in days):
        raise ScheduleError(f"{where}.days: expected a list of {list(DAYS)}, got {days!r}")
    start, end = _time(raw.get("start"), f"{where}.start"), _time(raw.get("end"), f"{where}.end")
    if start == end:
        raise ScheduleError(f"{where}.end: the window is empty")
    return Weekly(tuple(sorted({DAYS.index(d) for d in days})), start, end)


def _event(raw: Any, where: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    if not isinstance(raw, Mapping):
        raise ScheduleError(f"{where}: expected an object")
    if "date" in raw:  # {"date", "start", "end"} in local time
        if set(raw) - {"date", "start", "end"}:
            raise ScheduleError(f"{where}: expected {{date, start, end}}")
        try:
            day = raw["date"] if isinstance(raw["date"], date) else date.fromisoformat(raw["date"])
        except (TypeError, ValueError):
            raise ScheduleError(f"{where}.date: expected a date such as 2026-08-01") from None
        a, b = _local_window(
            day,
            _time(raw.get("start"), f"{where}.start"),
            _time(raw.get("end"), f"{where}.end"),
            tz,
        )
    else:  # {"start", "end"} as instants (local when without an offset)
        if set(raw) - {"start", "end"}:
            raise ScheduleError(f"{where}: expected {{start, end}} or {{date, start, end}}")
        a, b = (
            _instant(raw.get("start"), f"{where}.start", tz),
            _instant(raw.get("end"), f"{where}.end", tz),
        )
    if not a < b <= a + MAX_EVENT:
        raise ScheduleError(f"{where}.end: expected after the start, within {MAX_EVENT.days} days")
    if not 2000 <= a.year <= 2099:
        raise ScheduleError(f"{where}.start: expected a year in 2000-2099")
    return a, b


def _instant(value: Any, where: str, tz: ZoneInfo) -> datetime:
    try:
        v = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ScheduleError(f"{where}: expected a date and time, got {value!r}") from None
    return (v if v.tzinfo is not None else v.replace(tzinfo=tz)).astimezone(UTC)


def _lead(value: Any, where: str) -> timedelta:
    m = _LEAD.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        raise ScheduleError(f'{where}: expected a duration such as "30m", "1h", "1d"')
    lead = timedelta(seconds=int(m.group(1)) * _LEAD_UNITS[m.group(2)])
    if lead > MAX_LEAD:
        raise ScheduleError(f"{where}: at most {MAX_LEAD.days} days")
    return lead


def schedules_from_toml(text: str) -> dict[str, Schedule]:
    """Schedules by zone id from a small TOML file::

    timezone = "Europe/Paris"          # default of every zone below
    lead = "1h"

    [zones."market:vieille-ville"]
    recurring = [{days = ["tue", "fri", "sun"], start = "06:00", end = "14:00"}]

    [zones."event:fete-du-lac"]
    lead = "3h"
    events = [{date = 2026-08-01, start = "12:00", end = "02:00"}]
    """
    import tomllib

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScheduleError(f"schedules: invalid TOML: {exc}") from None
    unknown = set(doc) - {"timezone", "lead", "zones"}
    if unknown:
        raise ScheduleError(f"{sorted(unknown)[0]}: unknown key")
    zones = doc.get("zones", {})
    if not isinstance(zones, dict) or not zones:
        raise ScheduleError("zones: expected a table of zone ids")
    defaults = {k: doc[k] for k in ("timezone", "lead") if k in doc}
    return {
        zid: parse_schedule({**defaults, **body}, f"zones.{zid}")
        if isinstance(body, dict)
        else parse_schedule(body, f"zones.{zid}")
        for zid, body in zones.items()
    }
