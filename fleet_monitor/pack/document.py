"""The negotiation pack of a period: figures gathered once, then one Jinja template
(``templates/pack/body.html``) for the staff page and for the PDF.

:func:`build_pack` reads everything (statistics report, permits, trends, hexagon
grid) on one connection; :func:`render_pdf_bytes` prints it with the shared
printer (WeasyPrint, deterministic, offline). The document is in French: it is
the city's, for its elected officials and its mobility department.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from datastore.connection import driver_connection
from fleet_monitor.history.feed_health import operator_feed_health
from fleet_monitor.history.operators import operator_rows
from fleet_monitor.pack import fmt
from fleet_monitor.pack.charts import (
    hex_map,
    operator_fleet_chart,
    operator_quarters_chart,
    scoped,
    violations_chart,
)
from fleet_monitor.pack.hexgrid import build_hexgrid
from fleet_monitor.pack.scorecard import Scorecard, scorecard
from fleet_monitor.pack.summary import kpis, summary_sentences
from fleet_monitor.pack.trends import build_trend, month_buckets, quarter_buckets, window
from fleet_monitor.settings import Settings
from fleet_monitor.stats.caps import permits_in_force
from fleet_monitor.stats.periods import Period
from fleet_monitor.stats.report import ReportQuery
from fleet_monitor.stats.service import run_report

TEMPLATES = Path(__file__).parent / "templates"
PACK_CSS = Path(__file__).parent / "static" / "pack.css"
SECTIONS = ("fleet", "idle", "violations", "notices", "feeds")


class PackError(ValueError):
    """A pack that cannot be made (an unknown operator...)."""


@dataclass(frozen=True, slots=True)
class PackQuery:
    period: Period
    operator: str | None = None  # a slug; None = every operator


def build_pack(
    engine: Engine, settings: Settings, query: PackQuery, *, now: datetime | None = None
) -> dict[str, Any]:
    """Everything the template shows (plain values, French strings)."""
    now = now or datetime.now(UTC)
    period, tz = query.period, query.period.tz
    raw = engine.raw_connection()
    try:
        with driver_connection(raw).cursor() as cur:
            operators = [
                (i, s, n)
                for i, s, n in operator_rows(cur)
                if query.operator is None or s == query.operator
            ]
            if not operators:
                raise PackError(f"unknown operator {query.operator!r}")
            report = run_report(
                engine,
                settings,
                ReportQuery(period, operator=query.operator, lang="fr"),
                visible=None,
                now=now,
                sections=SECTIONS,
                cur=cur,
            )
            # the version in force at noon of the period's last day (as for the daily caps)
            noon = datetime.combine(period.last, time(12), tzinfo=tz)
            permits = permits_in_force(cur, [s for _i, s, _n in operators], noon)
            months = [b for b in month_buckets(period.first.replace(day=1), period.end)]
            cards: list[Scorecard] = []
            cur.execute(
                "SELECT DISTINCT ON (zone_id) zone_id, coalesce(name, zone_id) FROM zone"
                " WHERE kind = ANY(%s) AND operator IS NULL ORDER BY zone_id, version DESC",
                (list(settings.stats.zone_kinds),),
            )
            stats_zones = dict(cur.fetchall())
            for op_id, slug, name in operators:
                monthly = []
                for b in months:
                    a, z = max(b.first, period.first), min(b.end, period.end)
                    w = Period("custom", "", a, z, period.timezone)
                    health = operator_feed_health(cur, op_id, w.start, w.stop)
                    monthly.append(
                        (b.first, health.availability((w.stop - w.start).total_seconds()))
                    )
                permit = permits.get(slug)
                zone_daily = _zone_daily(
                    engine, settings, cur, period, slug, permit, stats_zones, now
                )
                cards.append(
                    scorecard(report, slug, name, permit, monthly, zone_daily, stats_zones)
                )
            first, end = window(period, now.astimezone(tz).date())
            trend_ops = [(i, s, n) for i, s, n in operators]
            monthly_trend = build_trend(
                engine,
                settings,
                cur,
                "month",
                month_buckets(first, end),
                trend_ops,
                query.operator,
                now,
            )
            quarterly_trend = build_trend(
                engine,
                settings,
                cur,
                "quarter",
                quarter_buckets(first, end),
                trend_ops,
                query.operator,
                now,
            )
            grid = build_hexgrid(cur, period, [(i, s) for i, s, _n in operators])
    finally:
        raw.close()
    coverage = next(
        (r for r in report["sections"]["fleet"]["rows"] if r["operator"] == "*"),
        report["sections"]["fleet"]["rows"][0] if report["sections"]["fleet"]["rows"] else {},
    )
    names = [n for _i, _s, n in operators]
    return {
        "city": settings.city.name,
        "authority": settings.letterhead.authority,
        "department": settings.letterhead.department,
        # the city's logo, on the printed cover only (the page never links a server file)
        "logo_path": settings.letterhead.logo_path,
        "title": "Dossier de négociation des permis",
        "period_label": period_words(period),
        "period_dates": f"du {fmt.day(period.first)} au {fmt.day(period.last)}",
        "days": period.n_days,
        "operators": names,
        "generated": fmt.moment(now, tz),
        "generated_at": now,
        "footer": f"{settings.letterhead.authority} – dossier de négociation,"
        f" {period_words(period)}",
        "kpis": kpis(cards, report),
        "summary": summary_sentences(period, names, cards, report, coverage),
        "scorecards": cards,
        "trends": _trend_context(monthly_trend, quarterly_trend),
        "hexgrid": _hex_context(grid, fmt.clock(settings.stats.idle_sample_time)),
        "coverage": {
            "samples": fmt.pct(coverage.get("coverage")),
            "aggregated": report["aggregation"]["aggregated"],
            "days": report["aggregation"]["days"],
            "rules_runs": fmt.num(report["sections"]["violations"]["coverage"]["rules_runs"]),
        },
        "methods": _methods(report, settings),
    }


def _zone_daily(
    engine: Engine,
    settings: Settings,
    cur: Any,
    period: Period,
    slug: str,
    permit: Any,
    stats_zones: dict[str, str],
    now: datetime,
) -> dict[str, list[dict[str, Any]]]:
    """Per capped zone that is a statistics zone: the operator's daily fleet figures in
    it (the statistics report filtered on the zone). Other capped zones are judged on
    the rules engine's findings only."""
    out: dict[str, list[dict[str, Any]]] = {}
    for zone in sorted(permit.zone_caps if permit is not None else ()):
        if zone not in stats_zones:
            continue
        query = ReportQuery(period, operator=slug, zone=zone, lang="fr")
        report = run_report(
            engine, settings, query, visible=None, now=now, sections=("fleet",), cur=cur
        )
        out[zone] = [d for d in report["sections"]["fleet"]["daily"] if d["operator"] == slug]
    return out


def period_words(period: Period) -> str:
    """``octobre 2026``, ``3e trimestre 2026``, ``du 01/01/2026 au 31/10/2026``."""
    if period.kind == "month":
        return fmt.month(period.first)
    if period.kind == "quarter":
        return fmt.quarter(period.first)
    if period.kind == "year":
        return f"année {period.first.year}"
    if period.kind == "day":
        return f"le {fmt.day(period.first)}"
    if period.first.day == 1 and period.end.day == 1:  # whole months
        last = period.last
        if (period.first.year, period.first.month) == (last.year, last.month):
            return fmt.month(period.first)
        if period.first.year == last.year:
            return f"{fmt.MONTHS[period.first.month - 1]} à {fmt.month(last)}"
        return f"{fmt.month(period.first)} à {fmt.month(last)}"
    return f"du {fmt.day(period.first)} au {fmt.day(period.last)}"


def _trend_context(monthly: Any, quarterly: Any) -> dict[str, Any]:
    def table(trend: Any) -> list[dict[str, Any]]:
        rows = []
        for op in trend.operators:
            for i, b in enumerate(trend.buckets):
                if op.deployed_max[i] is None:  # nothing aggregated for it: one line says so
                    rows.append({"operator": op.name, "bucket": b.long_label, "empty": True})
                    continue
                rows.append(
                    {
                        "operator": op.name,
                        "bucket": b.long_label,
                        "mean": fmt.num(op.deployed_avg[i], 1),
                        "max": fmt.num(op.deployed_max[i]),
                        "cap": fmt.num(op.cap[i]),
                        "over": op.cap[i] is not None
                        and op.deployed_max[i] is not None
                        and op.deployed_max[i] > op.cap[i],
                        "days_over": fmt.num(op.days_over_cap[i]),
                        "violations": fmt.num(op.violations[i]),
                        "availability": fmt.pct(op.availability[i], 2),
                        "response": fmt.hours(op.response_median_h[i]),
                        "empty": False,
                    }
                )
        return rows

    return {
        "first": monthly.buckets[0].long_label if monthly.buckets else "",
        "last": monthly.buckets[-1].long_label if monthly.buckets else "",
        "monthly_charts": [
            scoped(operator_fleet_chart(monthly, op), f"m{i}")
            for i, op in enumerate(monthly.operators)
        ],
        "violations_chart": scoped(violations_chart(monthly), "v"),
        "quarterly_charts": [
            scoped(operator_quarters_chart(quarterly, op), f"q{i}")
            for i, op in enumerate(quarterly.operators)
        ],
        "quarterly_table": table(quarterly),
        "has_partial": any(b.partial for b in quarterly.buckets),
    }


def _hex_context(grid: Any, at: str) -> dict[str, Any]:
    return {
        "density_map": scoped(
            hex_map(
                grid,
                grid.density,
                title=f"Véhicules stationnés à {at} (moyenne)",
                legend="véhicules stationnés (moyenne quotidienne)",
                cmap="YlGnBu",
            ),
            "hd",
        ),
        "violations_map": scoped(
            hex_map(
                grid,
                {k: float(v) for k, v in grid.violations.items()},
                title="Infractions constatées",
                legend="constats ouverts dans la période",
                cmap="OrRd",
                counts=True,
            ),
            "hv",
        ),
        "cells_density": fmt.num(sum(1 for v in grid.density.values() if v > 0)),
        "cells_violations": fmt.num(len(grid.violations)),
        "samples": fmt.num(grid.samples),
        "sample_days": fmt.plural(grid.sample_days, "jour"),
        "positions": fmt.num(grid.positions),
        "violation_points": fmt.num(grid.violation_points),
        "area": fmt.num(grid.cell_area_km2, 2),
        "edge": fmt.num(round(grid.cell_edge_m)),
        "resolution": grid.resolution,
        "at": at,
    }


def _methods(report: dict[str, Any], settings: Settings) -> list[tuple[str, str]]:
    names = {
        "fleet": "Flotte déployée",
        "idle": "Immobilisation",
        "violations": "Infractions",
        "notices": "Avis et contestations",
        "feeds": "Flux de données",
    }
    out = [(names[k], report["methodology"][k]) for k in names if k in report["methodology"]]
    out.append(
        (
            "Tableau de conformité",
            "Plafond de flotte : maximum journalier des échantillons observés comparé au plafond"
            " en vigueur ce jour-là (version du permis en vigueur à midi). Plafonds par zone,"
            " immobilisation, hors service, stationnement : constats du moteur de règles ouverts"
            " dans la période, hors constats incertains. Disponibilité du flux : 1 − durée des"
            " pannes enregistrées / durée du mois, mois par mois. Contestations : véhicules"
            " contestés / véhicules notifiés ; acceptation : contestations admises / décidées.",
        )
    )
    out.append(
        (
            "Tendances et cartes",
            "Chaque mois et chaque trimestre sont calculés comme la page des statistiques pour"
            " cette période (mêmes agrégats journaliers). Cartes : grille hexagonale H3"
            " (résolution 9) ; véhicules déployés au relevé quotidien de"
            f" {fmt.clock(settings.stats.idle_sample_time)}, comptés par hexagone lors de"
            " l'agrégation de chaque jour (relevés observés seulement), moyenne par opérateur ;"
            " constats du moteur de règles à la position du véhicule.",
        )
    )
    return out


# --------------------------------------------------------------------------- rendering


def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_print_html(context: dict[str, Any]) -> str:
    from fleet_monitor.printing.html_pdf import logo_url

    template = _environment().get_template("pack/print.html")
    return str(template.render(**context, logo_url=logo_url(context.get("logo_path"))))


def render_pdf_bytes(context: dict[str, Any], *, created: datetime) -> bytes:
    from fleet_monitor.printing.html_pdf import PRINT_CSS, logo_roots, render_pdf

    return render_pdf(
        render_print_html(context),
        created=created,
        extra_roots=logo_roots(context.get("logo_path")),
        stylesheets=(PRINT_CSS, PACK_CSS),
    )


def filename(query: PackQuery) -> str:
    label = query.period.label.replace("..", "_")
    return f"dossier-negociation-{label}-{query.operator or 'tous'}.pdf"
