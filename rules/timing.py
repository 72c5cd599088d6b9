"""Local-time helpers: operating hours, the sample grid, notice deadlines, months.

Pure functions of their arguments (no clock). Permits state times of day in
the city's local time (``Permit.timezone``, Europe/Paris by default); inputs
and outputs are timezone-aware datetimes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rules.inputs import CountingMethod, Permit


def _tz(permit: Permit) -> ZoneInfo:
    return ZoneInfo(permit.timezone)


def in_daily_window(local: time, start: time, end: time) -> bool:
    """``start <= local < end``; a window with ``end <= start`` spans midnight."""
    if start < end:
        return start <= local < end
    return local >= start or local < end


def in_operating_hours(permit: Permit, at: datetime) -> bool:
    hours = permit.counting.operating_hours
    if hours is None:
        return True
    local = at.astimezone(_tz(permit)).time()
    return in_daily_window(local, hours[0], hours[1])


def describe_method(permit: Permit) -> str:
    """Human-readable counting method, stated in every count finding."""
    c: CountingMethod = permit.counting
    minutes = c.sample_interval.total_seconds() / 60
    if c.operating_hours is None:
        hours = "around the clock"
    else:
        hours = (
            f"during operating hours {c.operating_hours[0]:%H:%M}-{c.operating_hours[1]:%H:%M} "
            f"({permit.timezone})"
        )
    return (
        f"{minutes:g}-minute samples {hours}; deployed = available + reserved + disabled "
        "vehicles listed in the feed inside the operating area"
    )


def sample_times(permit: Permit, start: datetime, end: datetime) -> Iterator[datetime]:
    """The sample grid in ``[start, end)``: multiples of the interval since the Unix
    epoch, kept when within operating hours. Grid times are UTC."""
    step = permit.counting.sample_interval.total_seconds()
    if step <= 0:
        raise ValueError("sample_interval must be positive")
    first = -(-start.timestamp() // step) * step
    t = first
    stop = end.timestamp()
    while t < stop:
        at = datetime.fromtimestamp(t, tz=UTC)
        if in_operating_hours(permit, at):
            yield at
        t += step


def notice_deadline(permit: Permit, sent_at: datetime) -> datetime:
    """When an operator must have acted on a notice sent at ``sent_at``.

    The deadline is the day deadline when the notice is sent during the
    permit's day hours (local time), the night deadline otherwise.
    """
    n = permit.notices
    local = sent_at.astimezone(_tz(permit)).time()
    day = in_daily_window(local, n.day_start, n.day_end)
    return sent_at + (n.day_deadline if day else n.night_deadline)


def month_bounds(permit: Permit, at: datetime, months_back: int = 0) -> tuple[datetime, datetime]:
    """Start and end (exclusive) of the local calendar month containing ``at``,
    or ``months_back`` months before it."""
    tz = _tz(permit)
    local = at.astimezone(tz)
    year, month = local.year, local.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    start = datetime(year, month, 1, tzinfo=tz)
    ny, nm = (year + 1, 1) if month == 12 else (year, month + 1)
    return start, datetime(ny, nm, 1, tzinfo=tz)


def overlap(a0: datetime, a1: datetime, b0: datetime, b1: datetime) -> timedelta:
    lo, hi = max(a0, b0), min(a1, b1)
    return hi - lo if hi > lo else timedelta(0)
