"""The statistics report (PDF): page one sums the period up (the period and filters
in words, key figures, one line per operator, what stands out: cap breaches
first), then one section per theme with its charts, table, coverage and method,
and the methodology.

Printed from HTML (``templates/statistics_report.html``) by WeasyPrint
(:mod:`fleet_monitor.printing`), with the page's charts (matplotlib SVG, as data:
URIs). Texts in the report's language, French number and date formats in French;
no ISO timestamps. Deterministic: the same report gives the same bytes (the
PDF's date is the report's ``generated_at``).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from fleet_monitor.models.stats import ALL
from fleet_monitor.outbox.documents import template_env
from fleet_monitor.printing.calendar_words import MONTHS_EN_SHORT
from fleet_monitor.printing.html_pdf import PRINT_CSS, STATIC_DIR, render_pdf
from fleet_monitor.settings import LetterheadSettings
from fleet_monitor.stats import labels, pdf_summary
from fleet_monitor.stats.chart_render import number
from fleet_monitor.stats.charts import report_charts
from rules.registry import rule_label

REPORT_CSS = STATIC_DIR / "reports.css"

SHARE_KEYS = {
    "coverage",
    "over_1d",
    "over_3d",
    "over_7d",
    "over_14d",
    "success_share",
    "invalid_share",
    "overdue_share",
    "dispute_rate",
    "acceptance_rate",
    "idle_over_3d_share",
    "matched_share",
    "ratio",
}

COLUMNS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "fleet": (
        ("operator_name", "Operator", "Opérateur"),
        ("deployed_avg", "Mean", "Moyenne"),
        ("deployed_p95", "P95", "P95"),
        ("deployed_max", "Max", "Max"),
        ("available_avg", "Available", "Disponibles"),
        ("disabled_avg", "Disabled", "Hors service"),
        ("hourly_snapshot_avg", "Hourly snapshot", "Relevé horaire"),
        ("coverage", "Coverage", "Couverture"),
    ),
    "idle": (
        ("operator_name", "Operator", "Opérateur"),
        ("vehicles_avg", "Vehicles", "Véhicules"),
        ("over_1d", "≥ 1 d", "≥ 1 j"),
        ("over_3d", "≥ 3 d", "≥ 3 j"),
        ("over_7d", "≥ 7 d", "≥ 7 j"),
        ("over_14d", "≥ 14 d", "≥ 14 j"),
        ("median_h", "Median (h)", "Médiane (h)"),
        ("coverage", "Coverage", "Couverture"),
    ),
    "use": (
        ("operator_name", "Operator", "Opérateur"),
        ("departures", "Departures", "Départs"),
        ("vehicle_days", "Vehicle-days", "Véh.-jours"),
        ("departures_per_vehicle_day", "Per veh./day", "Par véh./jour"),
        ("excluded_outage", "Not counted: outage", "Non comptés : panne"),
        ("excluded_unconfirmed", "Not counted: not seen again", "Non comptés : non revus"),
        ("id_policy", "IDs", "Identifiants"),
    ),
    "violations": (
        ("operator_name", "Operator", "Opérateur"),
        ("opened", "Opened", "Ouvertes"),
        ("uncertain", "Uncertain", "Incertaines"),
        ("closed", "Closed", "Closes"),
        ("mean_hours_to_close", "Mean time to close (h)", "Durée moyenne (h)"),
    ),
    "notices": (
        ("operator_name", "Operator", "Opérateur"),
        ("issued", "Issued", "Émis"),
        ("acknowledged", "Acknowledged", "Accusés"),
        ("disputed", "Disputed", "Contestés"),
        ("response_median_h", "Median response (h)", "Réponse médiane (h)"),
        ("overdue_share", "Overdue", "Hors délai"),
        ("dispute_rate", "Veh. disputed", "Véh. contestés"),
        ("acceptance_rate", "Upheld", "Acceptées"),
    ),
    "feeds": (
        ("operator_name", "Operator", "Opérateur"),
        ("fetches", "Fetches", "Lectures"),
        ("success_share", "Success", "Succès"),
        ("outage_minutes", "Outage (min)", "Panne (min)"),
        ("invalid_share", "Invalid", "Invalides"),
        ("schema_findings", "Schema", "Schéma"),
    ),
    "declared": (
        ("operator_name", "Operator", "Opérateur"),
        ("form_factor", "Type", "Type"),
        ("period_start", "From", "Du"),
        ("period_last_day", "To", "Au"),
        ("declared", "Declared", "Déclarée"),
        ("observed_avg", "Obs. mean", "Moy. obs."),
        ("observed_max", "Obs. max", "Max obs."),
        ("ratio", "Ratio", "Ratio"),
    ),
    "zones": (
        ("name", "Zone", "Zone"),
        ("area_km2", "km²", "km²"),
        ("deployed_avg", "Mean", "Moyenne"),
        ("density_per_km2", "Per km²", "Par km²"),
        ("idle_over_3d_share", "Idle > 3 d", "Immob. > 3 j"),
        ("departures", "Departures", "Départs"),
        ("violations_opened", "Violations", "Infractions"),
    ),
    "residents": (
        ("operator_name", "Operator", "Opérateur"),
        ("reports", "Reports", "Signalements"),
        ("matched", "Matched to a vehicle", "Rapprochés d'un véhicule"),
        ("matched_share", "Share matched", "Part rapprochée"),
        ("via_page", "Public page", "Page publique"),
        ("via_open311", "Open311", "Open311"),
    ),
}
ORDER = (
    "fleet",
    "idle",
    "use",
    "violations",
    "notices",
    "feeds",
    "declared",
    "zones",
    "residents",
)
CHARTS = {
    "fleet": ("fleet", "comparison"),
    "idle": ("idle",),
    "use": ("use",),
    "violations": ("violations",),
    "feeds": ("feeds",),
}
# decimals of a column (default 2): the same for every line
DECIMALS = {
    "outage_minutes": 0,
    "median_h": 1,
    "mean_hours_to_close": 1,
    "response_median_h": 1,
    "vehicle_days": 1,
}
DATE_KEYS = {"period_start", "period_last_day"}
WORDS = {
    "fr": {"rotating": "renouvelés après location", "persistent": "fixes"},
    "en": {"rotating": "rotated after trips", "persistent": "kept"},
}
TEXT = {
    "fr": {
        "doc": "Rapport statistique",
        "subject": "Vélos et trottinettes en libre-service",
        "scope": "Périmètre",
        "period": "Période",
        "generated": "Établi le",
        "key": "Chiffres clés",
        "stands_out": "Ce qui ressort",
        "by_operator": "Par opérateur",
        "deployed": "Flotte déployée (moyenne)",
        "deployed_sub": "maximum {max} · 95e centile {p95}",
        "over_cap": "Au-dessus du plafond : {names}",
        "violations": "Infractions ouvertes",
        "violations_sub": "closes {closed}",
        "notices": "Avis émis",
        "notices_sub": "hors délai {overdue}",
        "feeds": "Lectures du flux réussies",
        "feeds_sub": "la plus basse : {name} {share}",
        "idle": "Stationnés depuis plus de 3 jours",
        "idle_sub": "au relevé quotidien · médiane {median} h",
        "use": "Départs par véhicule et par jour",
        "use_sub": "estimation à ±20 %",
        "operator": "Opérateur",
        "mean": "Moyenne",
        "max": "Max",
        "cap": "Plafond",
        "days_over": "Jours > plafond",
        "viol": "Infractions",
        "success": "Flux réussi",
        "over_3d": "> 3 jours",
        "departures": "Départs / véh. / jour",
        "coverage": "Couverture",
        "coverage_colon": "Couverture :",
        "not_available": "Non disponible",
        "by_rule": "Par règle",
        "by_zone": "Par zone",
        "zone": "Zone",
        "kind": "Type de zone",
        "rule": "Règle",
        "methodology": "Méthodologie",
        "none": "Aucune donnée pour cette période.",
    },
    "en": {
        "doc": "Statistics report",
        "subject": "Shared bikes and scooters",
        "scope": "Scope",
        "period": "Period",
        "generated": "Issued on",
        "key": "Key figures",
        "stands_out": "What stands out",
        "by_operator": "By operator",
        "deployed": "Deployed fleet (mean)",
        "deployed_sub": "maximum {max} · 95th percentile {p95}",
        "over_cap": "Over the cap: {names}",
        "violations": "Violations opened",
        "violations_sub": "closed {closed}",
        "notices": "Notices issued",
        "notices_sub": "overdue {overdue}",
        "feeds": "Successful feed fetches",
        "feeds_sub": "lowest: {name} {share}",
        "idle": "Parked for more than 3 days",
        "idle_sub": "at the daily sample · median {median} h",
        "use": "Departures per vehicle per day",
        "use_sub": "estimate, ±20 %",
        "operator": "Operator",
        "mean": "Mean",
        "max": "Max",
        "cap": "Cap",
        "days_over": "Days > cap",
        "viol": "Violations",
        "success": "Feed success",
        "over_3d": "> 3 days",
        "departures": "Departures / veh. / day",
        "coverage": "Coverage",
        "coverage_colon": "Coverage:",
        "not_available": "Not available",
        "by_rule": "By rule",
        "by_zone": "By zone",
        "zone": "Zone",
        "kind": "Zone kind",
        "rule": "Rule",
        "methodology": "Methodology",
        "none": "No data for this period.",
    },
}


def fmt(key: str, value: Any, lang: str) -> str:
    """A table cell in the report's language: shares in %, numbers with the language's
    separators, dates as a reader writes them, codes in words."""
    if value is None or value == "":
        return "–"
    if key in SHARE_KEYS and key != "ratio" and isinstance(value, int | float):
        return labels.percent(float(value), lang)
    if key in DATE_KEYS:
        d = date.fromisoformat(str(value)[:10])
        return (
            f"{d:%d/%m/%Y}" if lang == "fr" else f"{d.day} {MONTHS_EN_SHORT[d.month - 1]} {d.year}"
        )
    if key == "id_policy":
        return WORDS["fr" if lang == "fr" else "en"].get(str(value), str(value))
    if key == "form_factor":
        lang_ = "fr" if lang == "fr" else "en"
        return pdf_summary.FORM_FACTORS[lang_].get(str(value), str(value).replace("_", " "))
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return number(value, lang, 0)
    if isinstance(value, float):
        return fixed(value, DECIMALS.get(key, 2), lang)
    return str(value)


def fixed(value: float, decimals: int, lang: str) -> str:
    """A column's numbers with the same decimals: ``1,50`` under ``1,29``."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u202f").replace(".", ",") if lang == "fr" else text


def when(stamp: str | None, lang: str) -> str:
    """A report's local ISO time (``2026-10-05T03:30:00+02:00``) as a reader writes it:
    ``05/10/2026 à 03:30`` in French, ``5 Oct 2026 03:30`` in English."""
    if not stamp:
        return "–"
    at = datetime.fromisoformat(stamp)
    if lang == "fr":
        return at.strftime("%d/%m/%Y à %H:%M")
    return f"{at.day} {MONTHS_EN_SHORT[at.month - 1]} {at.year} {at:%H:%M}"


def _svg_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def key_figures(report: Mapping[str, Any], lang: str) -> list[dict[str, Any]]:
    """The six cards of page one, about the all-operators row (or the only operator)."""
    t = TEXT[lang]
    s = report["sections"]
    focus = pdf_summary.focus_slug(report)
    row = {k: pdf_summary.row_of(s.get(k), focus or "") for k in ORDER}
    fleet, viol, notices, idle, use = (
        row[k] for k in ("fleet", "violations", "notices", "idle", "use")
    )
    feeds = [r for r in (s.get("feeds") or {}).get("rows") or [] if r["operator"] != ALL]
    known = [r for r in feeds if r.get("success_share") is not None]
    low = min(known, key=lambda r: (r["success_share"], r["operator"])) if known else None
    notices_ok = (s.get("notices") or {}).get("available", True)
    breaches = pdf_summary.cap_breaches(report)
    flagged = ", ".join(b["name"] for b in breaches)
    return [
        {
            "label": t["deployed"],
            "value": fmt("deployed_avg", fleet.get("deployed_avg"), lang),
            "sub": t["deployed_sub"].format(
                max=fmt("deployed_max", fleet.get("deployed_max"), lang),
                p95=fmt("deployed_p95", fleet.get("deployed_p95"), lang),
            ),
            "flag": bool(flagged),
            "note": t["over_cap"].format(names=flagged) if flagged else "",
        },
        {
            "label": t["violations"],
            "value": fmt("opened", viol.get("opened"), lang),
            "sub": t["violations_sub"].format(closed=fmt("closed", viol.get("closed"), lang)),
            "flag": False,
        },
        {
            "label": t["notices"],
            "value": fmt("issued", notices.get("issued"), lang) if notices_ok else "–",
            "sub": t["notices_sub"].format(
                overdue=fmt("overdue_share", notices.get("overdue_share"), lang)
            )
            if notices_ok
            else t["not_available"],
            "flag": bool(notices.get("overdue_share")),
        },
        {
            "label": t["feeds"],
            "value": fmt(
                "success_share",
                pdf_summary.row_of(s.get("feeds"), focus or "").get("success_share"),
                lang,
            ),
            "sub": t["feeds_sub"].format(
                name=low["operator_name"], share=fmt("success_share", low["success_share"], lang)
            )
            if low
            else "",
            "flag": bool(low and low["success_share"] < pdf_summary.FEED_TARGET),
        },
        {
            "label": t["idle"],
            "value": fmt("over_3d", idle.get("over_3d"), lang),
            "sub": t["idle_sub"].format(median=fmt("median_h", idle.get("median_h"), lang)),
            "flag": False,
        },
        {
            "label": t["use"],
            "value": fmt("departures_per_vehicle_day", use.get("departures_per_vehicle_day"), lang),
            "sub": t["use_sub"],
            "flag": False,
        },
    ]


def print_html(
    report: Mapping[str, Any], *, city: str = "", letterhead: LetterheadSettings | None = None
) -> str:
    """The report's printable HTML (what :func:`to_pdf` prints)."""
    lang = "fr" if report["lang"] == "fr" else "en"
    env = template_env("fleet_monitor.stats")
    charts = report_charts(report)
    sections = []
    for name in ORDER:
        section = report["sections"].get(name)
        if not section:
            continue
        sections.append(
            {
                "name": name,
                "section": section,
                "charts": [_svg_uri(charts[c]) for c in CHARTS.get(name, ()) if c in charts],
                "chart_titles": [c for c in CHARTS.get(name, ()) if c in charts],
                "columns": [(k, fr if lang == "fr" else en) for k, en, fr in COLUMNS[name]],
            }
        )
    methodology = [(labels.title(name, lang), text) for name, text in report["methodology"].items()]
    return env.get_template("statistics_report.html").render(
        r=report,
        lang=lang,
        t=TEXT[lang],
        city=city,
        authority=letterhead.authority if letterhead else city,
        department=letterhead.department if letterhead else "",
        period_words=pdf_summary.period_words(report["period"], lang),
        filters_words=pdf_summary.filters_words(report, lang),
        generated=when(report["generated_at"], lang),
        cards=key_figures(report, lang),
        lines=pdf_summary.operator_lines(report),
        stands_out=pdf_summary.stands_out(report),
        sections=sections,
        methodology=methodology,
        fmt=lambda key, value: fmt(key, value, lang),
        rule_name=lambda rule: rule_label(rule, lang),
        ALL=ALL,
    )


def to_pdf(
    report: Mapping[str, Any], *, city: str = "", letterhead: LetterheadSettings | None = None
) -> bytes:
    """The report printed; ``letterhead``: who issues it (the city's authority and
    department, as on the notices and daily reports)."""
    return render_pdf(
        print_html(report, city=city, letterhead=letterhead),
        created=datetime.fromisoformat(report["generated_at"]),
        stylesheets=(PRINT_CSS, REPORT_CSS),
    )
