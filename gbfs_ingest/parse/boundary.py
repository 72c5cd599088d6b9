"""The boundary for operators' strings: every id, name, URL and code of a feed
is checked here where it enters, before anything stores or shows it.

Operators are the party the city regulates, so their feeds are hostile input.
The limits (also in docs/ingest.md, "Hostile input"):

* **ids** (vehicle, station, vehicle type, region, pricing plan, system ids and
  every id a record refers to): 1 to :data:`MAX_ID_CHARS` characters, all
  printable (``str.isprintable``: letters, marks, digits, punctuation, symbols
  and the ASCII space; no control, formatting, line or paragraph separator,
  other space, private-use, unassigned or surrogate character).
* **text** (names, descriptions, the operator's name): at most
  :data:`MAX_TEXT_CHARS` characters; no control character other than tab, line
  feed and carriage return (real station names end with a line feed), no
  bidirectional override, embedding or isolate control (they reorder what an
  officer reads), no surrogate and no non-character. Quotes, backticks,
  ``${}``, ``</script>`` and U+2028/U+2029 are data: stored as published, and
  encoded by whoever shows them.
* **URLs** (feed URLs of discovery files, manifest and version lists, rental
  links, the system's web site): at most :data:`MAX_URL_CHARS` characters,
  printable without spaces, absolute ``http``/``https`` with a host, no
  ``user:password@`` credentials, a valid port.
* **codes**: language tags (letters, digits and ``-``, at most 16 characters,
  the database column), time zone names (at most 64 characters of letters,
  digits, ``_+-`` and ``/``), ISO 4217 currencies (3 letters), e-mail addresses
  (printable, no spaces, at most 254 characters).

A checker returns None for a good value, else ``(finding code, reason)``; the
caller decides what fails: a record whose own id fails is dropped (an error
finding), an optional field that fails is ignored and its record kept (a
warning finding), so that a bad attribute can never hide a vehicle from
oversight.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "MAX_ID_CHARS",
    "MAX_TEXT_CHARS",
    "MAX_URL_CHARS",
    "Problem",
    "code_problem",
    "email_problem",
    "id_problem",
    "is_plain_json_text",
    "language_problem",
    "text_problem",
    "timezone_problem",
    "url_problem",
]

MAX_ID_CHARS = 256
MAX_TEXT_CHARS = 1_000
MAX_URL_CHARS = 2_048
MAX_LANGUAGE_CHARS = 16
MAX_TIMEZONE_CHARS = 64
MAX_EMAIL_CHARS = 254

TOO_LONG = "value.too_long"
BAD_CHARACTER = "value.bad_character"
BAD_URL = "value.bad_url"
BAD_CODE = "value.bad_code"

Problem = tuple[str, str]  # (finding code, reason)

_CATEGORY_NAMES = {
    "Cc": "a control character",
    "Cf": "an invisible formatting character",
    "Cs": "a surrogate",
    "Co": "a private-use character",
    "Cn": "an unassigned code point",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
    "Zs": "a space other than U+0020",
}
# Text: C0 controls but tab, LF, CR; DEL and C1; bidi embeddings, overrides and
# isolates; surrogates; the non-characters U+FFFE and U+FFFF.
_BAD_TEXT = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
_LANGUAGE = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")
_TIMEZONE = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*")
_CURRENCY = re.compile(r"[A-Za-z]{3}")
# In JSON text, a string holds a non-printable character only through an escape
# (raw control characters are invalid JSON), a non-ASCII byte or a raw DEL.
_NON_PRINTABLE_ESCAPE = re.compile(rb"\\[bfnrtu]")


def _char_name(char: str) -> str:
    category = unicodedata.category(char)
    kind = _CATEGORY_NAMES.get(category, "a character not allowed here")
    return f"U+{ord(char):04X} ({kind})"


def _too_long(value: str, limit: int) -> Problem:
    return TOO_LONG, f"is {len(value)} characters long (limit {limit})"


def id_problem(value: str) -> Problem | None:
    """None for a good id; checked by callers that already know it is a ``str``."""
    if not value:
        return BAD_CHARACTER, "is empty"
    if len(value) > MAX_ID_CHARS:
        return _too_long(value, MAX_ID_CHARS)
    if value.isprintable():
        return None
    bad = next(c for c in value if not c.isprintable())
    return BAD_CHARACTER, f"contains {_char_name(bad)}"


def id_ok(value: Any) -> bool:
    """The quick test of a well-formed id (a non-empty printable ``str`` within the limit)."""
    return type(value) is str and 0 < len(value) <= MAX_ID_CHARS and value.isprintable()


def text_problem(value: str, limit: int = MAX_TEXT_CHARS) -> Problem | None:
    if len(value) > limit:
        return _too_long(value, limit)
    bad = _BAD_TEXT.search(value)
    if bad is None:
        return None
    return BAD_CHARACTER, f"contains {_char_name(bad.group())}"


def url_problem(value: str) -> Problem | None:
    """None for an absolute http(s) URL with a host and no credentials."""
    if len(value) > MAX_URL_CHARS:
        return _too_long(value, MAX_URL_CHARS)
    for char in value:
        if char == " " or not char.isprintable():
            return BAD_URL, f"contains {_char_name(char)}"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return BAD_URL, "is not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        shown = f"{parts.scheme[:20]!r}" if parts.scheme else "none (not an absolute URL)"
        return BAD_URL, f"has scheme {shown}: only http and https are allowed"
    if "@" in parts.netloc:
        return BAD_URL, "contains credentials (user:password@)"
    if not parts.hostname:
        return BAD_URL, "has no host"
    return None


def _code_problem(value: str, pattern: re.Pattern[str], limit: int, what: str) -> Problem | None:
    if len(value) > limit:
        return _too_long(value, limit)
    if pattern.fullmatch(value) is None:
        return BAD_CODE, f"is not {what}"
    return None


def language_problem(value: str) -> Problem | None:
    return _code_problem(value, _LANGUAGE, MAX_LANGUAGE_CHARS, "a language tag")


def timezone_problem(value: str) -> Problem | None:
    return _code_problem(value, _TIMEZONE, MAX_TIMEZONE_CHARS, "a time zone name")


def code_problem(value: str) -> Problem | None:
    """An ISO 4217 currency code (3 letters)."""
    return _code_problem(value, _CURRENCY, 3, "a 3-letter currency code")


def email_problem(value: str) -> Problem | None:
    if len(value) > MAX_EMAIL_CHARS:
        return _too_long(value, MAX_EMAIL_CHARS)
    for char in value:
        if char == " " or not char.isprintable():
            return BAD_CHARACTER, f"contains {_char_name(char)}"
    return None


def is_plain_json_text(raw: bytes) -> bool:
    """True when every string in this JSON text is printable ASCII.

    JSON forbids raw control characters in strings, so a string can only hold a
    character that :func:`id_problem` refuses through a non-ASCII byte, a raw
    DEL or an escape other than ``\\"``, ``\\\\`` and ``\\/``. When none occurs,
    ids need only their length checked (a few GB/s: most bodies pass). A
    ``\\\\u`` after an escaped backslash is a false alarm, which only costs the
    per-string check.
    """
    return (
        raw.isascii()
        and b"\x7f" not in raw
        and (b"\\" not in raw or _NON_PRINTABLE_ESCAPE.search(raw) is None)
    )
