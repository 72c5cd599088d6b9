"""The negotiation pack (issue 15), for staff only: ``/stats/pack`` (the page) and
``/stats/pack.pdf`` (the same template printed; each download is recorded in the
audit log as ``stats.export`` with ``format = "pack"``, like the other exports).

Operator accounts get 403: the pack compares every operator against its permit
and is the city's negotiating document.
"""

from __future__ import annotations

from datetime import UTC, datetime

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


def _build(query: PackQuery, now: datetime) -> dict[str, object]:
    try:
        return build_pack(get_engine(), get_settings(), query, now=now)
    except PackError:
        raise unknown_value("operator") from None


@bp.get("/stats/pack")
@require_role(*STAFF_ROLES)
def page() -> str:
    query = read_pack_query()
    context = _build(query, datetime.now(UTC))
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
    now = datetime.now(UTC)
    content = render_pdf_bytes(_build(query, now), created=now)
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


def register(app: Flask) -> None:
    app.register_blueprint(bp)
