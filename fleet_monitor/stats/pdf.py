"""The "permit review pack": a PDF of a report for a period (fpdf2), with charts,
tables, the coverage of every figure and the methodology.

Core fonts only (no font file to ship): text is reduced to Latin-1 (a few
typographic signs are replaced by their ASCII look-alikes).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from fleet_monitor.stats import labels
from fleet_monitor.stats.charts import report_chart_images

_REPLACE = {
    "\u2019": "'",
    "\u2018": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u2264": "<=",
    "\u2265": ">=",
    "\u00a0": " ",
    "\u202f": " ",
    "\u0153": "oe",
    "\u00b2": "2",
}

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
        ("hourly_snapshot_avg", "Hourly snap.", "Relevé horaire"),
        ("coverage", "Coverage", "Couverture"),
    ),
    "idle": (
        ("operator_name", "Operator", "Opérateur"),
        ("vehicles_avg", "Vehicles", "Véhicules"),
        ("over_1d", ">= 1 d", ">= 1 j"),
        ("over_3d", ">= 3 d", ">= 3 j"),
        ("over_7d", ">= 7 d", ">= 7 j"),
        ("over_14d", ">= 14 d", ">= 14 j"),
        ("median_h", "Median h", "Médiane h"),
        ("coverage", "Coverage", "Couverture"),
    ),
    "use": (
        ("operator_name", "Operator", "Opérateur"),
        ("departures", "Departures", "Départs"),
        ("vehicle_days", "Vehicle-days", "Véh.-jours"),
        ("departures_per_vehicle_day", "Per veh./day", "Par véh./jour"),
        ("excluded_outage", "Excl. outage", "Excl. panne"),
        ("excluded_unconfirmed", "Excl. unconf.", "Excl. non conf."),
        ("id_policy", "IDs", "Identifiants"),
    ),
    "violations": (
        ("operator_name", "Operator", "Opérateur"),
        ("opened", "Opened", "Ouvertes"),
        ("uncertain", "Uncertain", "Incertaines"),
        ("closed", "Closed", "Closes"),
        ("mean_hours_to_close", "Mean h to close", "Durée moy. h"),
    ),
    "notices": (
        ("operator_name", "Operator", "Opérateur"),
        ("issued", "Issued", "Émis"),
        ("acknowledged", "Acknowledged", "Reconnus"),
        ("disputed", "Disputed", "Contestés"),
        ("response_median_h", "Median h", "Médiane h"),
        ("overdue_share", "Overdue", "Hors délai"),
        ("dispute_rate", "Veh. disputed", "Véh. contestés"),
        ("acceptance_rate", "Upheld", "Acceptées"),
    ),
    "feeds": (
        ("operator_name", "Operator", "Opérateur"),
        ("fetches", "Fetches", "Lectures"),
        ("success_share", "Success", "Succès"),
        ("outage_minutes", "Outage min", "Panne min"),
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
        ("area_km2", "km2", "km2"),
        ("deployed_avg", "Mean", "Moyenne"),
        ("density_per_km2", "Per km2", "Par km2"),
        ("idle_over_3d_share", "Idle > 3 d", "Immob. > 3 j"),
        ("departures", "Departures", "Départs"),
        ("violations_opened", "Violations", "Infractions"),
    ),
}
ORDER = ("fleet", "idle", "use", "violations", "notices", "feeds", "declared", "zones")
CHARTS = {
    "fleet": ("fleet", "comparison"),
    "idle": ("idle",),
    "use": ("use",),
    "violations": ("violations",),
    "feeds": ("feeds",),
}


def latin1(text: object) -> str:
    s = "".join(_REPLACE.get(c, c) for c in str(text))
    return s.encode("latin-1", "replace").decode("latin-1")


def fmt(key: str, value: Any, lang: str) -> str:
    if value is None or value == "":
        return "-"
    if key in SHARE_KEYS and isinstance(value, int | float) and key != "ratio":
        return labels.percent(float(value), lang)
    if isinstance(value, float):
        text = f"{value:.2f}"
        return text.replace(".", ",") if lang == "fr" else text
    return str(value)


class Pack(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = latin1(footer_text)
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(15, 15, 15)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("helvetica", size=7)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, f"{self.footer_text} - {self.page_no()}", align="C")
        self.set_text_color(0, 0, 0)


FILTER_NAMES = {
    "fr": {"operator": "opérateur", "form_factor": "type de véhicule", "zone": "zone"},
    "en": {"operator": "operator", "form_factor": "vehicle type", "zone": "zone"},
}
MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def when(stamp: str | None, lang: str) -> str:
    """A report's local ISO time (``2026-10-05T03:30:00+02:00``) as a reader writes it:
    ``05/10/2026 03:30`` in French, ``5 Oct 2026 03:30`` in English."""
    if not stamp:
        return "-"
    at = datetime.fromisoformat(stamp)
    if lang == "fr":
        return at.strftime("%d/%m/%Y %H:%M")
    return f"{at.day} {MONTHS_EN[at.month - 1]} {at.year} {at:%H:%M}"


def filters_in_words(report: Mapping[str, Any], lang: str) -> str:
    """The report's filters, naming only those that narrow it (``*``: all)."""
    names = FILTER_NAMES.get(lang, FILTER_NAMES["en"])
    operators = {o["slug"]: o["name"] for o in report.get("operators", ())}
    chosen = [
        f"{names.get(k, k)} {operators.get(v, v) if k == 'operator' else v}"
        for k, v in report["filters"].items()
        if v not in (None, "", "*")
    ]
    return ", ".join(chosen) if chosen else labels.title("no_filter", lang)


def to_pdf(report: Mapping[str, Any], *, city: str = "") -> bytes:
    lang = report["lang"]
    period = report["period"]
    pdf = Pack(f"{labels.title('pack', lang)} {city} {period['label']}".strip())
    pdf.set_title(latin1(f"{labels.title('pack', lang)} {period['label']}"))
    pdf.set_creator("fleet-monitor")
    pdf.add_page()
    pdf.set_font("helvetica", "B", 20)
    _para(pdf, 10, latin1(labels.title("pack", lang)))
    pdf.set_font("helvetica", "", 13)
    _para(pdf, 7, latin1(f"{city} - {labels.title('period', lang)} {period['label']}"))
    pdf.set_font("helvetica", "", 10)
    pdf.ln(2)
    lines = [
        f"{when(period['start'], lang)} - {when(period['end'], lang)} ({report['timezone']})",
        f"{labels.title('filters', lang)}: {filters_in_words(report, lang)}",
        f"{labels.title('generated', lang)}: {when(report['generated_at'], lang)}",
        report["aggregation"]["statement"],
    ]
    for line in lines:
        _para(pdf, 5.5, latin1(line))
    pdf.ln(3)
    _heading(pdf, labels.title("coverage", lang), 13)
    for name in ORDER:
        section = report["sections"].get(name)
        if section:
            statement = section.get("coverage", {}).get("statement", "")
            pdf.set_font("helvetica", "B", 9)
            _para(pdf, 5, latin1(section["title"]))
            pdf.set_font("helvetica", "", 9)
            _para(pdf, 5, latin1(statement))
    charts = report_chart_images(report)  # PNG at print resolution
    for name in ORDER:
        section = report["sections"].get(name)
        if not section:
            continue
        pdf.add_page()
        _heading(pdf, section["title"], 15)
        pdf.set_font("helvetica", "I", 9)
        _para(pdf, 5, latin1(section.get("coverage", {}).get("statement", "")))
        pdf.ln(2)
        if name == "notices" and not section.get("available", True):
            pdf.set_font("helvetica", "", 10)
            _para(pdf, 5, latin1(labels.title("not_available", lang)))
        for chart in CHARTS.get(name, ()):
            if chart in charts:
                pdf.image(io.BytesIO(charts[chart]), w=175)
                pdf.ln(2)
        _table(pdf, COLUMNS[name], section.get("rows", []), lang)
        pdf.ln(3)
        pdf.set_font("helvetica", "", 8)
        _para(pdf, 4, latin1(section["method"]))
    pdf.add_page()
    _heading(pdf, labels.title("methodology", lang), 15)
    for name, text in report["methodology"].items():
        pdf.set_font("helvetica", "B", 10)
        _para(pdf, 6, latin1(labels.title(name, lang)))
        pdf.set_font("helvetica", "", 9)
        _para(pdf, 4.5, latin1(text))
        pdf.ln(2)
    return bytes(pdf.output())


def _para(pdf: FPDF, height: float, text: str) -> None:
    pdf.multi_cell(0, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _heading(pdf: FPDF, text: str, size: int) -> None:
    pdf.set_font("helvetica", "B", size)
    _para(pdf, size * 0.5, latin1(text))
    pdf.ln(1)


def _table(
    pdf: FPDF, columns: Sequence[tuple[str, str, str]], rows: Sequence[Mapping[str, Any]], lang: str
) -> None:
    if not rows:
        return
    pdf.set_font("helvetica", "", 8)
    first = 2.2
    widths = (first, *([1.0] * (len(columns) - 1)))
    headings = FontFace(emphasis="BOLD", fill_color=(230, 230, 230))
    with pdf.table(
        col_widths=widths,
        text_align=("LEFT", *(["RIGHT"] * (len(columns) - 1))),
        headings_style=headings,
        line_height=4.5,
    ) as table:
        head = table.row()
        for _key, en, fr in columns:
            head.cell(latin1(fr if lang == "fr" else en))
        for r in rows:
            line = table.row()
            for key, _en, _fr in columns:
                line.cell(latin1(fmt(key, r.get(key), lang)))
