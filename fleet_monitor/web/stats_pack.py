"""The negotiation pack (issue 15), for staff only: ``/stats/pack`` (the page) and
``/stats/pack.pdf`` (the same template printed; each download is recorded in the
audit log as ``stats.export`` with ``format = "pack"``, like the other exports).

Operator accounts get 403: the pack compares every operator against its permit
and is the city's negotiating document.

Built packs are kept for ``CACHE_SECONDS`` per (period, operator): one pack
runs about 17 statistics reports and prints 8 pages (about 6 s), and officers
open the page, then download the PDF, often several times while preparing a
meeting. The pack covers whole past months, so five minutes of staleness
changes nothing in practice; the page and the PDF say when they were computed
("édité le ..."). Only staff can reach it, and staff see every operator, so
one cache serves every caller.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import Blueprint, Flask, Response, render_template, request, url_for
from flask_babel import gettext as _

from fleet_monitor.pack.document import (
    TEMPLATES,
    PackError,
    PackQuery,
    build_pack,
    filename,
    render_pdf_bytes,
)
from fleet_monitor.stats.periods import MAX_DAYS, PeriodError, default_period, parse_period
from fleet_monitor.users import STAFF_ROLES
from fleet_monitor.web.audit import audit
from fleet_monitor.web.db import get_engine, get_settings
from fleet_monitor.web.params import BadParameter, arg_operator, arg_text, unknown_value
from fleet_monitor.web.permissions import require_role

bp = Blueprint("stats_pack", __name__, template_folder=str(TEMPLATES))


def read_pack_query() -> PackQuery:
    """The pack asked for by the query string; raises BadParameter."""
    tz = get_settings().city.timezone
    text = arg_text("period", max_length=40) or ""
    try:
        period = parse_period(text, tz) if text else default_period(datetime.now(UTC), tz)
    except PeriodError:
        raise BadParameter(
            "period",
            _(
                "The period “%(period)s” is not valid: give a month (2026-10), a quarter "
                "(2026-Q3), a year (2026), months FIRST..LAST (2026-01..2026-10) or days "
                "FIRST..LAST, at most %(days)s days.",
                period=text,
                days=MAX_DAYS,
            ),
        ) from None
    return PackQuery(period=period, operator=arg_operator())


CACHE_SECONDS = 300.0
CACHE_ENTRIES = 16
T = TypeVar("T")


class PackCache:
    """Recently built packs and their PDFs, per (what, period, operator), for a while."""

    def __init__(self, ttl_s: float = CACHE_SECONDS, entries: int = CACHE_ENTRIES) -> None:
        self._ttl, self._entries = ttl_s, entries
        self._items: OrderedDict[tuple[str, ...], tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, key: tuple[str, ...], build: Callable[[], T]) -> T:
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] > now:
                self._items.move_to_end(key)
                return hit[1]
        value = build()  # outside the lock: two callers may build once each, never wait
        with self._lock:
            self._items[key] = (time.monotonic() + self._ttl, value)
            self._items.move_to_end(key)
            while len(self._items) > self._entries:
                self._items.popitem(last=False)
        return value


def _cache() -> PackCache:
    from flask import current_app

    cache: PackCache = current_app.extensions["pack_cache"]
    return cache


def _key(what: str, query: PackQuery) -> tuple[str, ...]:
    return (what, query.period.label, str(query.period.start), query.operator or "")


def _build(query: PackQuery) -> dict[str, Any]:
    def build() -> dict[str, Any]:
        try:
            return build_pack(get_engine(), get_settings(), query, now=datetime.now(UTC))
        except PackError:
            raise unknown_value("operator") from None

    return _cache().get_or_build(_key("context", query), build)


@bp.get("/stats/pack")
@require_role(*STAFF_ROLES)
def page() -> str:
    query = read_pack_query()
    context = _build(query)
    args = {k: v for k in ("period", "operator") if (v := request.args.get(k))}
    return render_template(
        "stats/pack.html",
        query=query,
        pdf_url=url_for("stats_pack.pdf", **args),  # type: ignore[arg-type]
        operator_choices=_operators(),
        **context,
    )


@bp.get("/stats/pack.pdf")
@require_role(*STAFF_ROLES)
def pdf() -> Response:
    query = read_pack_query()
    context = _build(query)
    content = _cache().get_or_build(
        _key("pdf", query),
        lambda: render_pdf_bytes(context, created=_created(context)),
    )
    audit(
        "stats.export",
        format="pack",
        period=query.period.label,
        operator=query.operator or "*",
        bytes=len(content),
        via="web",
    )
    response = Response(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename(query)}"'
    return response


def _operators() -> list[tuple[str, str]]:
    from fleet_monitor.history.operators import operator_list

    with get_engine().connect() as conn:
        return [(slug, name) for _i, slug, name in operator_list(conn)]


def _created(context: dict[str, Any]) -> datetime:
    """The PDF's date: when its figures were computed (the context's own time)."""
    value = context.get("generated_at")
    return value if isinstance(value, datetime) else datetime.now(UTC)


def register(app: Flask) -> None:
    app.extensions["pack_cache"] = PackCache()
    app.register_blueprint(bp)
