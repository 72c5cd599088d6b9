"""Statistics: the page, its exports and the JSON API, and the declared fleets.

* ``/stats``: figures of a period with charts (SVG made on the server), a
  comparison of operators, a parking density map by district, methodology and
  coverage; selectors for period, operator, zone and vehicle type.
* ``/stats/export.<fmt>``: the same figures as CSV, XLSX, GeoJSON, PDF (the
  statistics report) or JSON; every download is recorded in the audit log.
* ``/api/stats`` (whole report) and ``/api/stats/<section>``: JSON.
* ``/stats/declared``: fleets declared by operators (form and CSV upload).

Operator accounts see their own operator only, on every route (the scope is
applied by the report itself, whatever the query parameters); staff see all.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Flask, Response, abort, jsonify, render_template, request, url_for
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _

from datastore.connection import driver_connection
from fleet_monitor.models.stats import ALL
from fleet_monitor.stats.charts import colours, report_charts
from fleet_monitor.stats.exports import FORMATS
from fleet_monitor.stats.periods import (
    MAX_DAYS,
    Period,
    PeriodError,
    default_period,
    parse_period,
)
from fleet_monitor.stats.report import SECTIONS, ReportQuery
from fleet_monitor.stats.report_sections import zone_geometries
from fleet_monitor.stats.service import make_export, run_report
from fleet_monitor.web.audit import audit
from fleet_monitor.web.basemap import base_layer
from fleet_monitor.web.db import get_engine, get_settings
from fleet_monitor.web.i18n import current_language
from fleet_monitor.web.map import CENTER
from fleet_monitor.web.params import BadParameter, arg_operator, arg_text
from fleet_monitor.web.permissions import current_user, visible_operator_ids
from fleet_monitor.web.security import add_nonce, csp_nonce
from fleet_monitor.web.stats_map import build_density_map

bp = Blueprint("stats", __name__)
api_bp = Blueprint("stats_api", __name__, url_prefix="/api/stats")

MAP_ZOOM = 12
QUERY_PARAMS = ("period", "custom", "operator", "zone", "form_factor")


def visible() -> frozenset[int] | None:
    return visible_operator_ids(current_user())


def read_query() -> ReportQuery:
    """The report asked for by the query string; raises BadParameter."""
    settings = get_settings()
    tz = settings.city.timezone
    name = "custom" if arg_text("custom", max_length=40) else "period"
    text = arg_text(name, max_length=40) or ""
    try:
        period = parse_period(text, tz) if text else default_period(datetime.now(UTC), tz)
    except PeriodError:
        raise BadParameter(
            name,
            _(
                "The period “%(period)s” is not valid: give a day (2026-10-02), an ISO week "
                "(2026-W41), a month (2026-10), a year (2026) or two days FIRST..LAST, "
                "at most %(days)s days.",
                period=text,
                days=MAX_DAYS,
            ),
        ) from None
    operator = arg_operator(also=(ALL,))
    return ReportQuery(
        period=period,
        operator=None if operator == ALL else operator,
        form_factor=arg_text("form_factor", max_length=100) or ALL,
        zone=arg_text("zone", max_length=100) or ALL,
        lang=current_language(),
    )


def period_choices(now: datetime, timezone: str) -> list[tuple[str, str]]:
    """Recent months, ISO weeks and days, most recent first."""
    from zoneinfo import ZoneInfo

    today = now.astimezone(ZoneInfo(timezone)).date()
    out: list[tuple[str, str]] = []
    y, m = today.year, today.month
    for _i in range(13):
        out.append((f"{y:04d}-{m:02d}", f"{y:04d}-{m:02d}"))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    for weeks in range(6):
        iso = (today - timedelta(weeks=weeks)).isocalendar()
        label = f"{iso.year:04d}-W{iso.week:02d}"
        out.append((label, label))
    for days in range(1, 8):
        d = (today - timedelta(days=days)).isoformat()
        out.append((d, d))
    for year in (today.year, today.year - 1):
        out.append((str(year), str(year)))
    return out


def _with_current(choices: list[tuple[str, str]], period: Period) -> list[tuple[str, str]]:
    if period.kind == "custom" or any(v == period.label for v, _l in choices):
        return choices
    return [(period.label, period.label), *choices]


def _choices(period: Period) -> tuple[list[tuple[str, str]], list[str]]:
    settings = get_settings()
    with get_engine().connect() as conn:
        zones = conn.exec_driver_sql(
            "SELECT DISTINCT ON (zone_id) zone_id, name FROM zone WHERE kind = ANY(%(k)s)"
            " AND operator IS NULL ORDER BY zone_id, version DESC",
            {"k": list(settings.stats.zone_kinds)},
        ).all()
        form_factors = conn.exec_driver_sql(
            "SELECT DISTINCT form_factor FROM stats_fleet_day WHERE day >= %(a)s AND day < %(b)s"
            " AND form_factor <> '*' ORDER BY 1",
            {"a": period.first, "b": period.end},
        ).scalars()
        return [(z, n or z) for z, n in zones], list(form_factors)


@bp.get("/stats")
def index() -> Response:
    settings = get_settings()
    query = read_query()
    now = datetime.now(UTC)
    report = run_report(get_engine(), settings, query, visible=visible(), now=now)
    charts = report_charts(report)
    zones, form_factors = _choices(query.period)
    zone_rows = report["sections"]["zones"]["rows"]
    raw = get_engine().raw_connection()
    try:
        with driver_connection(raw).cursor() as cur:
            geometries = zone_geometries(cur, [z["zone_id"] for z in zone_rows], query)
    finally:
        raw.close()
    tiles = (base_layer() or {}).get("tiles") or {}  # remote or local (MBTiles) tiles
    map_parts, legend = build_density_map(
        center=CENTER,
        zoom=MAP_ZOOM,
        tile_url=tiles.get("url", ""),
        attribution=tiles.get("attribution", ""),
        tile_options=tiles.get("options"),
        zones=zone_rows,
        geometries=geometries,
        tooltip=_zone_tooltip,
        static_url=lambda path: url_for("static", filename=path),
    )
    # the report's own parameters only (never url_for's _method, _scheme...)
    args: dict[str, Any] = {k: v for k in QUERY_PARAMS if (v := request.args.get(k))}
    page = render_template(
        "stats/index.html",
        report=report,
        sections=report["sections"],
        charts=charts,
        query=query,
        period_choices=_with_current(period_choices(now, settings.city.timezone), query.period),
        zones=zones,
        form_factors=form_factors,
        operators=report["operators"],
        colours=colours([o["slug"] for o in report["operators"]] + [ALL]),
        map_parts=map_parts,
        legend=legend,
        export_links=[(fmt, url_for("stats.export", fmt=fmt, **args)) for fmt in FORMATS],
        api_url=url_for("stats_api.report", **args),
        can_declare=_can_declare(),
    )
    return Response(add_nonce(page, csp_nonce()), mimetype="text/html")


def _zone_tooltip(z: Mapping[str, Any]) -> str:
    density = z.get("density_per_km2")
    return _("%(zone)s: %(avg)s vehicles on average, %(density)s per km²") % {
        "zone": z.get("name") or z["zone_id"],
        "avg": "-" if z.get("deployed_avg") is None else f"{z['deployed_avg']:.1f}",
        "density": "-" if density is None else f"{density:.0f}",
    }


def _can_declare() -> bool:
    user = current_user()
    return user is not None and user.role in ("supervisor", "admin", "operator")


@bp.get("/stats/export.<fmt>")
def export(fmt: str) -> Response:
    if fmt not in FORMATS:
        abort(404)
    query = read_query()
    result = make_export(get_engine(), get_settings(), query, fmt, visible=visible())
    operator_id = next(
        (o["id"] for o in result.report["operators"] if o["slug"] == query.operator), None
    )
    audit(
        "stats.export",
        operator_id=operator_id,
        format=fmt,
        period=query.period.label,
        operator=query.operator or ALL,
        zone=query.zone,
        form_factor=query.form_factor,
        bytes=len(result.content),
        via="web",
    )
    response = Response(result.content, mimetype=result.media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    return response


@api_bp.get("")
def report() -> Response:
    return _api(SECTIONS)


@api_bp.get("/<section>")
def section(section: str) -> Response:
    if section not in SECTIONS:
        abort(404)
    return _api((section,))


def _api(sections: tuple[str, ...]) -> Response:
    query = read_query()
    data = run_report(get_engine(), get_settings(), query, visible=visible(), sections=sections)
    if len(sections) == 1:
        data = {k: v for k, v in data.items() if k != "sections"} | {
            "section": data["sections"][sections[0]]
        }
    return jsonify(data)


@bp.app_template_filter("stat_number")
def stat_number(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return format_decimal(value, format="#,##0")
    if isinstance(value, float):
        return format_decimal(value, format="#,##0.##")
    return str(value)


@bp.app_template_filter("stat_share")
def stat_share(value: Any) -> str:
    if value is None:
        return "—"
    return format_percent(value, format="#,##0.0 %")


def register(app: Flask) -> None:
    """Register the statistics page, its API and the declared fleets."""
    from fleet_monitor.web.stats_declared import bp as declared_bp

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(declared_bp)
