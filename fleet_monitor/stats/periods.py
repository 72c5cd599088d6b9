"""Periods of local days in the city's time zone, and times written with their offset.

A period is a range of whole local days ``[first, end)``: a day (``2026-10-05``),
an ISO week (``2026-W41``), a month (``2026-10``), a quarter (``2026-Q3``), a year
(``2026``) or a custom range of days or of months, both included
(``2026-10-01..2026-10-15``, ``2026-01..2026-10``). Its instants are the
local midnights, so a month that spans a change of summer time has 743 or 745
hours, as the city lives it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_DAYS = 3700

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


class PeriodError(ValueError):
    """A period that cannot be read."""


@dataclass(frozen=True, slots=True)
class Period:
    kind: str  # day | week | month | quarter | year | custom
    label: str
    first: date
    end: date  # exclusive
    timezone: str

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def start(self) -> datetime:
        return local_midnight(self.first, self.tz)

    @property
    def stop(self) -> datetime:
        return local_midnight(self.end, self.tz)

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.end - self.first).days)]

    @property
    def n_days(self) -> int:
        return (self.end - self.first).days

    def as_dict(self) -> dict[str, str | int | None]:
        return {
            "kind": self.kind,
            "label": self.label,
            "first_day": self.first.isoformat(),
            "last_day": self.last.isoformat(),
            "days": self.n_days,
            "start": iso(self.start, self.tz),
            "end": iso(self.stop, self.tz),
            "timezone": self.timezone,
        }


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def day_window(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants of a local day ``[start, end)``."""
    return (
        local_midnight(day, tz).astimezone(UTC),
        local_midnight(day + timedelta(days=1), tz).astimezone(UTC),
    )


def local_day(at: datetime, tz: ZoneInfo) -> date:
    return at.astimezone(tz).date()


def iso(at: datetime | None, tz: ZoneInfo) -> str | None:
    """``2026-10-05T03:30:00+02:00``: local time with its UTC offset."""
    if at is None:
        return None
    return at.astimezone(tz).isoformat(timespec="seconds")


def parse_period(text: str, timezone: str) -> Period:
    """Read a period (see the module docstring); raises PeriodError."""
    text = (text or "").strip()
    try:
        if ".." in text:
            a, b = (part.strip() for part in text.split("..", 1))
            if _MONTH.match(a) and _MONTH.match(b):  # whole months, both included
                first, last = _month(a)[0], _month(b)[1] - timedelta(days=1)
            else:
                first, last = _date(a), _date(b)
            if last < first:
                raise PeriodError(f"period {text!r}: the last day is before the first")
            return _period("custom", text, first, last + timedelta(days=1), timezone)
        if _DAY.match(text):
            d = _date(text)
            return _period("day", text, d, d + timedelta(days=1), timezone)
        if m := _WEEK.match(text):
            first = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
            return _period("week", text, first, first + timedelta(days=7), timezone)
        if _MONTH.match(text):
            return _period("month", text, *_month(text), timezone)
        if m := _QUARTER.match(text):
            y, q = int(m.group(1)), int(m.group(2))
            first = date(y, 3 * q - 2, 1)
            end = date(y + 1, 1, 1) if q == 4 else date(y, 3 * q + 1, 1)
            return _period("quarter", text, first, end, timezone)
        if m := _YEAR.match(text):
            y = int(m.group(1))
            return _period("year", text, date(y, 1, 1), date(y + 1, 1, 1), timezone)
    except ValueError as exc:
        if isinstance(exc, PeriodError):
            raise
        raise PeriodError(f"period {text!r}: {exc}") from None
    raise PeriodError(
        f"period {text!r}: expected YYYY-MM-DD, YYYY-Www, YYYY-MM, YYYY-Qn, YYYY or FIRST..LAST"
    )


def _month(text: str) -> tuple[date, date]:
    """(first day, day after the last) of a month ``YYYY-MM``."""
    y, mo = (int(x) for x in text.split("-"))
    first = date(y, mo, 1)
    return first, date(y + 1, 1, 1) if mo == 12 else date(y, mo + 1, 1)


def _date(text: str) -> date:
    if not _DAY.match(text):
        raise PeriodError(f"{text!r} is not a date (YYYY-MM-DD)")
    return date.fromisoformat(text)


def _period(kind: str, label: str, first: date, end: date, timezone: str) -> Period:
    if (end - first).days > MAX_DAYS:
        raise PeriodError(f"period {label!r} is longer than {MAX_DAYS} days")
    return Period(kind, label, first, end, timezone)


def default_period(now: datetime, timezone: str) -> Period:
    """The current local month."""
    local = now.astimezone(ZoneInfo(timezone))
    return parse_period(f"{local.year:04d}-{local.month:02d}", timezone)


def days_between(first: date, end: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((end - first).days)]
