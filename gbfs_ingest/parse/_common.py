"""Shared machinery of the parsers: findings, parse context, value coercion.

Coercion helpers take the *value* (not the record) plus the JSON-pointer-like
``path`` of the field (array indices written ``*``) and record a finding only
when they had to coerce or reject something, so the happy path stays cheap.
"""

from __future__ import annotations

import gc
import math
import re
import reprlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from gbfs_ingest.model import Finding
from gbfs_ingest.timeutil import MAX_FUTURE_SKEW, MIN_PLAUSIBLE, parse_timestamp

from .boundary import MAX_ID_CHARS, Problem, id_problem, text_problem

ERROR = "error"  # a record was dropped
WARNING = "warning"  # a value was coerced or ignored
INFO = "info"  # worth knowing, nothing was changed

# unambiguous (no nested repetition: linear time), and only tried on short strings
_NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")
_MAX_NUMBER_CHARS = 64
#: The largest integer kept (PostgreSQL ``integer``); larger ones are out of range.
MAX_INT = 2**31 - 1
#: Longest finding message kept (the first occurrence of each kind is the sample).
MAX_MESSAGE_CHARS = 500
_TRUE_STRINGS = frozenset({"true", "1", "yes", "y", "t"})
_FALSE_STRINGS = frozenset({"false", "0", "no", "n", "f", ""})
#: Pause the cyclic GC while parsing arrays at least this long (see gc_paused).
GC_PAUSE_THRESHOLD = 5_000


class ParseError(ValueError):
    """The body is not JSON, or not a GBFS envelope (an object with ``data``)."""


_SHOW = reprlib.Repr()
_SHOW.maxlevel, _SHOW.maxstring, _SHOW.maxother = 2, 60, 60
_SHOW.maxlist = _SHOW.maxtuple = _SHOW.maxdict = _SHOW.maxset = 4


def show(value: Any) -> str:
    """A bounded ``repr`` of an operator's value for a finding message: a few levels
    and a few dozen characters at most, whatever its size or depth (a plain
    ``repr`` of a 1,000-level list raises RecursionError)."""
    return _SHOW.repr(value)


class FindingCollector:
    """Aggregates findings by (code, path): one row per quirk, with a count."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], Finding] = {}

    def add(self, severity: str, code: str, path: str, message: str, count: int = 1) -> None:
        if count <= 0:
            return
        key = (code, path)
        item = self._items.get(key)
        if item is None:
            if len(message) > MAX_MESSAGE_CHARS:
                message = message[: MAX_MESSAGE_CHARS - 1] + "…"
            self._items[key] = Finding(severity, code, message, path, count)
        else:
            item.count += count

    def to_list(self) -> list[Finding]:
        return list(self._items.values())


class Ctx:
    """What every parser of one file needs: version, findings, reference time."""

    __slots__ = (
        "dropped",
        "family",
        "findings",
        "languages",
        "last_updated",
        "plain_text",
        "version",
    )

    def __init__(
        self,
        version: str,
        findings: FindingCollector,
        last_updated: datetime | None,
        languages: Sequence[str] = (),
        plain_text: bool = False,
    ) -> None:
        self.version = version
        self.family = version[0]
        self.findings = findings
        self.last_updated = last_updated
        self.languages = tuple(lang.lower() for lang in languages)
        self.dropped = 0  # records dropped as invalid (the parsers add to it)
        # every string of the body is printable ASCII (boundary.is_plain_json_text):
        # ids then need only their length checked
        self.plain_text = plain_text

    @property
    def v3(self) -> bool:
        return self.family == "3"


class TimestampReader:
    """Converts per-record timestamps with a cache and a plausibility check.

    ``fast_type`` is the type the version publishes (int for 1.x/2.x, str for
    3.x); hot loops do ``good.get(raw)`` for that type and call :meth:`slow` on
    a miss. Implausible values (before 2000, or more than a day after the
    file's ``last_updated``) become None with a warning.
    """

    __slots__ = ("_fc", "_hi", "_path", "_seen", "_v3", "fast_type", "good")

    def __init__(self, ctx: Ctx, path: str) -> None:
        self._fc = ctx.findings
        self._path = path
        self._v3 = ctx.v3
        self._hi = ctx.last_updated + MAX_FUTURE_SKEW if ctx.last_updated is not None else None
        self.fast_type: type = str if ctx.v3 else int
        self.good: dict[Any, datetime] = {}
        # (type, raw) -> (datetime or None, finding code or None, message)
        self._seen: dict[tuple[type, Any], tuple[datetime | None, str | None, str]] = {}

    def slow(self, raw: Any) -> datetime | None:
        if raw is None:
            return None
        raw_type = type(raw)
        fast = raw_type is self.fast_type
        if fast:
            hit = self.good.get(raw)
            if hit is not None:
                return hit
        key: tuple[type, Any] | None = (raw_type, raw)
        try:
            cached = self._seen.get(key)  # type: ignore[arg-type]
        except TypeError:  # unhashable (list, dict)
            key, cached = None, None
        if cached is None:
            cached = self._convert(raw)
            if fast and cached[1] is None and cached[0] is not None:
                self.good[raw] = cached[0]
            elif key is not None:
                self._seen[key] = cached
        dt, code, message = cached
        if code is not None:
            self._fc.add(WARNING, code, self._path, message)
        return dt

    def _convert(self, raw: Any) -> tuple[datetime | None, str | None, str]:
        dt, issue = parse_timestamp(raw)
        if dt is None:
            return None, "time.invalid", f"unparsable timestamp {show(raw)}: ignored"
        if dt < MIN_PLAUSIBLE:
            return (
                None,
                "time.implausible",
                f"timestamp {show(raw)} ({dt:%Y-%m-%dT%H:%M:%SZ}) is before 2000:"
                " sentinel, ignored",
            )
        if self._hi is not None and dt > self._hi:
            return (
                None,
                "time.implausible",
                f"timestamp {show(raw)} ({dt:%Y-%m-%dT%H:%M:%SZ}) is more than 1 day after"
                " the file's last_updated: ignored",
            )
        if issue == "naive":
            return dt, "time.naive", f"timestamp {show(raw)} has no UTC offset: taken as UTC"
        if issue == "milliseconds":
            return (
                dt,
                "time.milliseconds",
                f"timestamp {show(raw)} in milliseconds: divided by 1000",
            )
        if type(raw) is str and not self._v3 and issue is None:
            return (
                dt,
                "time.rfc3339_before_v3",
                f"RFC 3339 time {show(raw)} before GBFS 3.0: accepted",
            )
        if self._v3 and (type(raw) is not str or issue is not None):
            return dt, "time.posix_in_v3", f"POSIX time {show(raw)} in GBFS 3.x: accepted"
        if issue in ("string", "float"):
            return dt, f"coerce.time_{issue}", f"POSIX time given as {issue} ({show(raw)}): coerced"
        return dt, None, ""


# -- value coercion ---------------------------------------------------------


def bool_value(fc: FindingCollector, path: str, value: Any, default: bool | None) -> bool | None:
    """A GBFS boolean; 0/1 and "true"/"false" are coerced with a warning."""
    if value is True or value is False:
        return value
    if value is None:
        return default
    if type(value) is int and value in (0, 1):
        # one row per field, whatever the value: the message names the first one seen
        message = f"boolean given as integer (e.g. {value}), coerced"
        fc.add(WARNING, "coerce.bool_int", path, message)
        return value == 1
    if type(value) is str:
        low = value.strip().lower()
        if low in _TRUE_STRINGS or low in _FALSE_STRINGS:
            message = f"boolean given as string (e.g. {show(value)}), coerced"
            fc.add(WARNING, "coerce.bool_str", path, message)
            return low in _TRUE_STRINGS
    fc.add(WARNING, "value.invalid", path, f"not a boolean: {show(value)}: ignored")
    return default


def bool_int_message(zeros: int, ones: int) -> str:
    """The message of a field's 0/1 booleans, with how many of each (the count is the sum)."""
    values = [f"{n} x {v}" for v, n in ((1, ones), (0, zeros)) if n]
    return f"boolean given as integer ({', '.join(values)}), coerced"


def float_value(
    fc: FindingCollector,
    path: str,
    value: Any,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float | None:
    """A finite number (int or float kept as is); numeric strings coerced with a warning."""
    if value is None:
        return None
    vtype = type(value)
    if vtype is not int and vtype is not float:
        if vtype is str and len(value) <= _MAX_NUMBER_CHARS and _NUMBER.match(value):
            fc.add(
                WARNING, "coerce.number_str", path, f"number given as string {show(value)}: coerced"
            )
            value = float(value)
        else:
            fc.add(WARNING, "value.invalid", path, f"not a number: {show(value)}: ignored")
            return None
    if (
        value != value
        or (type(value) is float and math.isinf(value))
        or (minimum is not None and value < minimum)
        or (maximum is not None and value > maximum)
    ):
        fc.add(WARNING, "value.out_of_range", path, f"value {show(value)} out of range: ignored")
        return None
    return value


def int_value(
    fc: FindingCollector, path: str, value: Any, minimum: int | None = 0, maximum: int = MAX_INT
) -> int | None:
    """An integer within [minimum, maximum]; numeric strings and integral floats
    coerced with a warning. The default maximum is what the database keeps."""
    if type(value) is int:
        if (minimum is not None and value < minimum) or value > maximum:
            fc.add(
                WARNING, "value.out_of_range", path, f"value {show(value)} out of range: ignored"
            )
            return None
        return value
    number = float_value(fc, path, value, minimum, maximum)
    if number is None:
        return None
    if number != int(number):
        fc.add(WARNING, "value.invalid", path, f"not an integer: {show(value)}: ignored")
        return None
    if type(value) is float:
        fc.add(WARNING, "coerce.integral_float", path, f"integer given as float {show(value)}")
    return int(number)


def field_name(path: str) -> str:
    """The field a JSON-pointer-like path ends with (``/data/bikes/*/bike_id`` -> bike_id)."""
    return path.rsplit("/", 1)[-1]


def id_value(fc: FindingCollector, path: str, value: Any) -> str | None:
    """An identifier a record refers to: strings kept, integers turned into strings
    with a warning. Empty strings and anything else (null, float, object) give None,
    and so does a string that fails the boundary (with a warning: the record is
    kept, without this reference)."""
    if type(value) is str:
        if not value or (len(value) <= MAX_ID_CHARS and value.isprintable()):
            return value or None
        code, reason = id_problem(value) or ("value.invalid", "is not an id")
        fc.add(WARNING, code, path, f"{field_name(path)} ignored: {reason}")
        return None
    if type(value) is int:
        message = f"identifier given as integer (e.g. {value}), coerced"
        fc.add(WARNING, "coerce.id_int", path, message)
        return str(value)
    if value is not None:
        fc.add(WARNING, "value.invalid", path, f"not an identifier: {show(value)}: ignored")
    return None


def own_id(fc: FindingCollector, path: str, raw: Any, noun: str) -> str | None:
    """A record's own id, or None with an error finding: the record is then dropped."""
    if type(raw) is str and raw:
        problem = id_problem(raw)
        if problem is None:
            return raw
        code, reason = problem
        fc.add(ERROR, code, path, f"{noun} dropped: {field_name(path)} {reason}")
        return None
    value = id_value(fc, path, raw)
    if value is None:
        fc.add(ERROR, "record.missing_id", path, f"{noun} dropped: {field_name(path)}={show(raw)}")
    return value


def text_field(
    fc: FindingCollector, path: str, raw: Any, languages: Sequence[str] = ()
) -> str | None:
    """A name or description (see :func:`text_value`) within the boundary's text
    rules, else None with a warning (the record is kept without it)."""
    return checked(fc, path, text_value(raw, languages), text_problem)


def checked(
    fc: FindingCollector, path: str, raw: Any, check: Callable[[str], Problem | None]
) -> str | None:
    """A string field checked by one of the boundary's checkers; anything else
    (or a failing string) gives None, with a warning for a failing string."""
    if type(raw) is not str or not raw:
        return None
    problem = check(raw)
    if problem is None:
        return raw
    code, reason = problem
    fc.add(WARNING, code, path, f"{field_name(path)} ignored: {reason}")
    return None


def enum_value(fc: FindingCollector, path: str, value: Any, allowed: frozenset[str]) -> str | None:
    """An enum string; case differences coerced with a warning, unknown -> None."""
    if type(value) is not str:
        if value is not None:
            fc.add(WARNING, "value.invalid", path, f"not an enum string: {show(value)}: ignored")
        return None
    if value in allowed:
        return value
    low = value.strip().lower()
    if low in allowed:
        fc.add(WARNING, "coerce.enum_case", path, f"enum value {show(value)} lower-cased")
        return low
    fc.add(WARNING, "value.unknown_enum", path, f"unknown value {show(value)}")
    return None


def text_value(value: Any, languages: Sequence[str] = ()) -> str | None:
    """A plain string (1.x/2.x) or a 3.x localized list ``[{text, language}]``."""
    if type(value) is str:
        return value if value.strip() else None
    if type(value) is list:
        best: str | None = None
        best_rank = len(languages) + 2
        for item in value:
            if type(item) is not dict or type(item.get("text")) is not str:
                continue
            lang = item.get("language")
            lang = lang.lower() if type(lang) is str else ""
            if lang in languages:
                rank = languages.index(lang)
            elif lang.split("-")[0] == "en":
                rank = len(languages)
            else:
                rank = len(languages) + 1
            if rank < best_rank:
                best, best_rank = item["text"], rank
        return best if best and best.strip() else None
    if type(value) in (int, float):
        return str(value)
    return None


def coords_problem(lat: Any, lon: Any) -> tuple[float | None, float | None, str | None]:
    """Check a position. Returns ``(lat, lon, problem)``; problem is a finding code."""
    if lat is None or lon is None:
        return None, None, "coord.missing"
    try:
        if type(lat) is str or type(lon) is str:
            flat, flon = float(lat), float(lon)
            problem: str | None = "coerce.coord_str"
        elif type(lat) in (int, float) and type(lon) in (int, float):
            flat, flon, problem = float(lat), float(lon), None
        else:
            return None, None, "coord.invalid"
    except ValueError:
        return None, None, "coord.invalid"
    if not (-90.0 <= flat <= 90.0 and -180.0 <= flon <= 180.0):  # also rejects NaN
        return None, None, "coord.out_of_range"
    if -1e-6 < flat < 1e-6 and -1e-6 < flon < 1e-6:
        return None, None, "coord.null_island"
    return flat, flon, problem


COORD_MESSAGES = {
    "coord.missing": "no position (lat/lon missing or null)",
    "coord.invalid": "position is not numeric",
    "coord.out_of_range": "position out of range (lat outside ±90 or lon outside ±180)",
    "coord.null_island": "position (0, 0) 'null island'",
}


def read_envelope(doc: dict[str, Any], ctx: Ctx) -> tuple[datetime | None, int | None]:
    """``last_updated`` (aware UTC) and ``ttl`` of a file, with findings."""
    fc = ctx.findings
    raw = doc.get("last_updated")
    last_updated: datetime | None = None
    if raw is None:
        fc.add(WARNING, "envelope.no_last_updated", "/last_updated", "last_updated missing")
    else:
        last_updated, issue = parse_timestamp(raw)
        if last_updated is None:
            fc.add(WARNING, "time.invalid", "/last_updated", f"unparsable last_updated {show(raw)}")
        elif last_updated < MIN_PLAUSIBLE:
            fc.add(
                WARNING,
                "time.implausible",
                "/last_updated",
                f"last_updated {show(raw)} before 2000",
            )
            last_updated = None
        elif ctx.v3 and (type(raw) is not str or issue is not None):
            fc.add(WARNING, "time.posix_in_v3", "/last_updated", f"POSIX last_updated {show(raw)}")
        elif not ctx.v3 and type(raw) is str and issue is None:
            fc.add(WARNING, "time.rfc3339_before_v3", "/last_updated", f"RFC 3339 {show(raw)}")
        elif issue is not None:
            code = f"coerce.time_{issue}" if issue in ("string", "float") else f"time.{issue}"
            fc.add(WARNING, code, "/last_updated", f"last_updated {show(raw)} ({issue}): coerced")
    ttl = int_value(fc, "/ttl", doc.get("ttl"), minimum=0)
    return last_updated, ttl


def get_array(
    ctx: Ctx, data: dict[str, Any], key: str, alt: str | None = None
) -> tuple[list[Any], str]:
    """The records array ``data[key]`` (or the other version's ``alt`` key) and its path."""
    records = data.get(key)
    if records is None and alt is not None and alt in data:
        ctx.findings.add(
            WARNING, "feed.array_key", f"/data/{alt}", f"records under {alt!r} instead of {key!r}"
        )
        records, key = data[alt], alt
    path = f"/data/{key}"
    if records is None:
        ctx.findings.add(ERROR, "feed.missing_array", path, f"no {key!r} array in data")
        return [], path
    if type(records) is not list:
        ctx.findings.add(ERROR, "feed.missing_array", path, f"{key!r} is not an array")
        return [], path
    if not records:
        ctx.findings.add(INFO, "feed.empty", path, f"{key!r} is empty")
    return records, path


@contextmanager
def gc_paused(size: int) -> Iterator[None]:
    """Pause the cyclic GC while building many objects (it would rescan them all).

    Only for large inputs, and only if the GC is enabled: nested or concurrent
    uses leave it as they found it, at worst re-enabled a little early.
    """
    if size < GC_PAUSE_THRESHOLD or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
