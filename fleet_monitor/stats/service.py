"""Entry points shared by the web app and the CLI: reports and exports of a period."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from datastore.connection import driver_connection
from fleet_monitor.settings import Settings
from fleet_monitor.stats import exports
from fleet_monitor.stats.methods import MethodParams
from fleet_monitor.stats.report import SECTIONS, ReportQuery, build_report
from fleet_monitor.stats.report_sections import zone_geometries


class ExportError(ValueError):
    """An export that cannot be made (unknown format...)."""


def method_params(settings: Settings) -> MethodParams:
    s = settings.stats
    return MethodParams(
        step_min=s.sample_interval_s / 60,
        max_age_min=s.observation_max_age_s / 60,
        idle_time=s.idle_sample_time,
        noise_m=settings.ingest.gps_noise_m,
        reappear_h=s.reappear_window_s / 3600,
        timezone=settings.city.timezone,
        zone_kinds=tuple(s.zone_kinds),
    )


def run_report(
    engine: Engine,
    settings: Settings,
    query: ReportQuery,
    *,
    visible: frozenset[int] | None,
    now: datetime | None = None,
    sections: tuple[str, ...] = SECTIONS,
    cur: Any = None,
) -> dict[str, Any]:
    """The report of ``query`` as ``visible`` may see it (None: every operator)."""
    params = method_params(settings)
    if cur is not None:
        return build_report(cur, query, visible=visible, params=params, now=now, sections=sections)
    raw = engine.raw_connection()
    try:
        with driver_connection(raw).cursor() as c:
            return build_report(
                c, query, visible=visible, params=params, now=now, sections=sections
            )
    finally:
        raw.close()


@dataclass(frozen=True, slots=True)
class Export:
    content: bytes
    media_type: str
    filename: str
    report: dict[str, Any]


def filename(query: ReportQuery, fmt: str) -> str:
    parts = ["statistics", query.period.label, query.operator or "all"]
    if query.zone != "*":
        parts.append(query.zone)
    if query.form_factor != "*":
        parts.append(query.form_factor)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(parts))
    return f"{stem}.{fmt}"


def make_export(
    engine: Engine,
    settings: Settings,
    query: ReportQuery,
    fmt: str,
    *,
    visible: frozenset[int] | None,
    now: datetime | None = None,
) -> Export:
    if fmt not in exports.FORMATS:
        raise ExportError(f"unknown format {fmt!r} (one of {', '.join(exports.FORMATS)})")
    now = now or datetime.now(UTC)
    raw = engine.raw_connection()
    try:
        with driver_connection(raw).cursor() as cur:
            report = run_report(engine, settings, query, visible=visible, now=now, cur=cur)
            geometries: dict[str, str] = {}
            if fmt == "geojson":
                ids = [z["zone_id"] for z in report["sections"]["zones"]["rows"]]
                geometries = zone_geometries(cur, ids, query)
    finally:
        raw.close()
    if fmt == "json":
        content = exports.to_json(report)
    elif fmt == "csv":
        content = exports.to_csv(report)
    elif fmt == "xlsx":
        content = exports.to_xlsx(report)
    elif fmt == "geojson":
        content = exports.to_geojson(report, geometries)
    else:
        from fleet_monitor.stats.pdf import to_pdf

        content = to_pdf(report, city=settings.city.name, letterhead=settings.letterhead)
    return Export(content, exports.MEDIA_TYPES[fmt], filename(query, fmt), report)
