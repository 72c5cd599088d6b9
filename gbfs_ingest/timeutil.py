"""Timestamps as GBFS publishes them, turned into timezone-aware UTC datetimes.

GBFS 1.x/2.x use POSIX seconds (sometimes as strings, floats or milliseconds);
3.x uses RFC 3339 strings with mixed offsets (``Z``, ``+00:00``, ``+02:00``)
and sometimes 7-9 fractional digits. Nothing here reads the clock.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

__all__ = [
    "MAX_FUTURE_SKEW",
    "MIN_PLAUSIBLE",
    "MIN_PLAUSIBLE_POSIX",
    "UTC",
    "coerce_posix",
    "parse_rfc3339",
    "parse_timestamp",
    "posix_to_datetime",
]

#: Anything before this is a sentinel (0, 86400, ...) rather than a real report.
MIN_PLAUSIBLE = datetime(2000, 1, 1, tzinfo=UTC)
MIN_PLAUSIBLE_POSIX = 946_684_800
#: A per-record time this far after the file's own ``last_updated`` is implausible.
MAX_FUTURE_SKEW = timedelta(days=1)
#: POSIX values above this are taken as milliseconds (year 5138 in seconds).
_MILLIS_THRESHOLD = 100_000_000_000

#: Longer strings are not timestamps (RFC 3339 with nanoseconds is 35 characters);
#: and ``int()`` refuses numeric strings of more than 4,300 digits.
_MAX_CHARS = 64
_FRACTION = re.compile(r"(\d{2}:\d{2}:\d{2})[.,](\d+)")
_NUMERIC = re.compile(r"^\s*-?\d+(\.\d+)?\s*$")


def posix_to_datetime(seconds: float) -> datetime:
    """POSIX seconds -> aware UTC datetime (no plausibility check)."""
    return datetime.fromtimestamp(seconds, UTC)


def coerce_posix(value: object) -> tuple[float | None, str | None]:
    """Read a POSIX timestamp as published.

    Returns ``(seconds, issue)``: ``issue`` is None for a plain int, else one of
    ``"float"``, ``"string"``, ``"milliseconds"`` (value divided by 1000) or
    ``"invalid"`` (seconds is then None).
    """
    issue: str | None = None
    if type(value) is int:
        seconds: float = value
    elif type(value) is float:
        if value != value or value in (float("inf"), float("-inf")):
            return None, "invalid"
        seconds = value
        issue = "float"
    elif type(value) is str and _NUMERIC.match(value):
        seconds = float(value) if "." in value else int(value)
        issue = "string"
    else:
        return None, "invalid"
    if seconds > _MILLIS_THRESHOLD:
        return seconds / 1000, "milliseconds"
    return seconds, issue


def parse_rfc3339(value: str) -> tuple[datetime | None, str | None]:
    """Parse an RFC 3339 / ISO 8601 string into an aware UTC datetime.

    Fractions beyond microseconds are truncated. Returns ``(dt, issue)`` where
    ``issue`` is None, ``"naive"`` (no offset: taken as UTC) or ``"invalid"``.
    """
    text = value.strip()
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        # Older Pythons reject more than 6 fractional digits: truncate them.
        fixed = _FRACTION.sub(lambda m: f"{m.group(1)}.{m.group(2)[:6].ljust(6, '0')}", text)
        if fixed.endswith(("Z", "z")):
            fixed = fixed[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(fixed)
        except ValueError:
            return None, "invalid"
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC), "naive"
    try:
        return dt.astimezone(UTC), None
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        return None, "invalid"


def parse_timestamp(value: object) -> tuple[datetime | None, str | None]:
    """Parse either representation (POSIX number/string or RFC 3339 string).

    Returns ``(dt, issue)`` with the issue codes of :func:`coerce_posix` and
    :func:`parse_rfc3339`. Which representation a version expects is the
    caller's business (it can compare ``type(value)``).
    """
    if type(value) is str and len(value) > _MAX_CHARS:
        return None, "invalid"
    if type(value) is str and not _NUMERIC.match(value):
        return parse_rfc3339(value)
    seconds, issue = coerce_posix(value)
    if seconds is None:
        return None, issue
    try:
        return posix_to_datetime(seconds), issue
    except (OverflowError, OSError, ValueError):
        return None, "invalid"
