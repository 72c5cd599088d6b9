"""Checked request parameters: a wrong one is a 400 with a clear message, never a 500.

Two layers:

* :func:`init_app` rejects, before any view or database access, a request whose
  query string, form fields or URL path values hold a control character (NUL
  among them: PostgreSQL refuses it in text), or a query value longer than
  ``MAX_ARG_LENGTH``. Form fields may hold tabs and line breaks (comments).
* Views read their parameters with the typed getters below (whole numbers
  within a range, ISO dates, values from a fixed list, slugs, bounded text),
  which raise :class:`BadParameter`.

:class:`BadParameter` is a ``BadRequest``: the app's error handler shows its
message in the user's language on pages and as ``{"error", "parameter"}`` JSON
on the API (see :mod:`fleet_monitor.web.errors`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from flask import Flask, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

MAX_ARG_LENGTH = 500
MAX_INT = 2**63 - 1  # PostgreSQL bigint
MAX_OFFSET = 1_000_000
SLUG_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DIGITS = re.compile(r"^[0-9]{1,19}$")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# C0 controls and DEL; form fields may hold tab, line feed and carriage return
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FORM_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class BadParameter(BadRequest):
    """A request parameter (query string, form field, path) that cannot be used."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(description=message)
        self.parameter = name


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` path values fit in a bigint: a longer number matches no route (404)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_INT)
        super().__init__(map, *args, **kwargs)


def has_control(value: str, *, form: bool = False) -> bool:
    return (_FORM_CONTROL if form else _CONTROL).search(value) is not None


def _invalid(name: str, problem: str) -> BadParameter:
    return BadParameter(
        name, _("The parameter “%(name)s” is not valid: %(problem)s", name=name, problem=problem)
    )


def control_character(name: str) -> BadParameter:
    return _invalid(_printable(name), _("it contains a control character."))


def too_long(name: str, max_length: int) -> BadParameter:
    return _invalid(name, _("it is too long (at most %(n)s characters).", n=max_length))


def printable(value: str) -> str:
    """``value`` with its control characters shown as ``?`` (for logs and records)."""
    return _CONTROL.sub("?", value)


def _printable(name: str) -> str:
    return printable(name)[:60]


def check_request_strings(
    args: Mapping[str, Any], form: Mapping[str, Any], view_args: Mapping[str, Any]
) -> None:
    """Raise :class:`BadParameter` for a control character or an over-long query value."""
    for key, values in _lists(args):
        if has_control(key):
            raise control_character(key)
        for value in values:
            if has_control(value):
                raise control_character(key)
            if len(value) > MAX_ARG_LENGTH:
                raise too_long(key, MAX_ARG_LENGTH)
    for key, values in _lists(form):
        if has_control(key) or any(has_control(v, form=True) for v in values):
            raise control_character(key)
    for key, value in view_args.items():
        if isinstance(value, str) and has_control(value):
            raise control_character(key)


def _lists(multi: Mapping[str, Any]) -> Iterable[tuple[str, list[str]]]:
    if hasattr(multi, "lists"):
        return multi.lists()
    return ((k, [v]) for k, v in multi.items())


# --------------------------------------------------------------------------- getters


def arg_text(name: str, *, max_length: int = 200) -> str | None:
    """A text parameter (stripped), None when absent or empty."""
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    if has_control(value):
        raise control_character(name)
    if len(value) > max_length:
        raise too_long(name, max_length)
    return value


def arg_int(name: str, *, default: int, minimum: int = 0, maximum: int = MAX_INT) -> int:
    """A whole number within [minimum, maximum] (ASCII digits only), ``default`` when absent."""
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return default
    if not _DIGITS.match(raw) or not minimum <= int(raw) <= maximum:
        raise _invalid(
            name,
            _(
                "it must be a whole number from %(minimum)s to %(maximum)s.",
                minimum=minimum,
                maximum=maximum,
            ),
        )
    return int(raw)


def arg_offset(name: str = "offset") -> int:
    return arg_int(name, default=0, minimum=0, maximum=MAX_OFFSET)


def arg_choice(name: str, choices: Iterable[str]) -> str | None:
    """One of ``choices``, None when absent or empty."""
    value = arg_text(name)
    allowed = list(choices)
    if value is not None and value not in allowed:
        raise _invalid(name, _("it must be one of: %(values)s.", values=", ".join(allowed)))
    return value


def arg_flag(name: str) -> bool:
    """``1`` (or ``true``...) is True; absent, empty or ``0`` is False; anything else: 400."""
    value = (arg_text(name) or "0").lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise _invalid(name, _("it must be 1 or 0."))


def arg_date(name: str) -> date | None:
    """An ISO date (YYYY-MM-DD), None when absent or empty."""
    value = arg_text(name, max_length=10)
    if value is None:
        return None
    try:
        if not _ISO_DATE.match(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise _invalid(name, _("it must be a date such as 2026-11-02.")) from None


def arg_slug(name: str) -> str | None:
    """An operator slug (letters, digits, ``-``, ``_``), None when absent or empty."""
    value = arg_text(name, max_length=64)
    if value is not None and not SLUG_RE.match(value):
        raise _invalid(name, _("it must be an operator's short name (letters, digits, - and _)."))
    return value


def arg_operator(name: str = "operator", *, also: Iterable[str] = ()) -> str | None:
    """The slug of an operator the account may see (or one of ``also``), None when absent.

    An operator that does not exist and one the account may not see get the same
    answer: its existence is not disclosed.
    """
    from fleet_monitor.web.permissions import visible_operator_slugs

    raw = arg_text(name, max_length=64)
    if raw is None or raw in set(also):
        return raw
    value = arg_slug(name)
    if value not in visible_operator_slugs():
        raise unknown_value(name)
    return value


def unknown_value(name: str) -> BadParameter:
    """For a well-formed value that names nothing the account may see."""
    return _invalid(name, _("no such value."))


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedIntConverter

    @app.before_request
    def _reject_control_characters() -> None:
        if request.endpoint == "static":
            return
        check_request_strings(request.args, request.form, request.view_args or {})
