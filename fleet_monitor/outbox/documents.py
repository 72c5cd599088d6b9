"""Shared pieces of the documents sent to operators and staff (notices, reports).

Documents are bilingual, French then English: the city works in French, the
operators are international, and one document (one content hash) serves every
recipient. The web UI, in contrast, is translated with Flask-Babel.

PDFs are made with fpdf2 and are deterministic: the same content gives the
same bytes (fixed creation date, no random id), so a regenerated report has
the same hash as the archived one. They use the PDF core fonts with the
Windows-1252 encoding (accents, €, typographic quotes); other characters are
replaced.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace
from jinja2 import Environment, PackageLoader, select_autoescape

from rules import registry


def rule_name(rule: str, lang: str = "fr") -> str:
    """A rule type's name in French or English, as ``rules.registry`` declares it."""
    return registry.rule_label(rule, lang)


def bilingual_rule(rule: str) -> str:
    return f"{rule_name(rule, 'fr')} / {rule_name(rule, 'en')}"


def local_time(value: datetime | None, tz: str, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """``value`` in ``tz`` (e.g. ``02/11/2026 10:00``); an em dash for None."""
    if value is None:
        return "—"
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)


def iso_z(value: datetime | None) -> str | None:
    """UTC ISO 8601 with a ``Z`` (stable text for payloads and CSV)."""
    if value is None:
        return None
    return value.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def duration_text(seconds: float | None) -> str:
    """``3 j 04:05`` style: days, then hours and minutes (bilingual-neutral: d/j)."""
    if seconds is None:
        return "—"
    total = round(seconds / 60)
    days, rest = divmod(total, 24 * 60)
    hours, minutes = divmod(rest, 60)
    core = f"{hours:02d}:{minutes:02d}"
    return f"{days} j/d {core}" if days else core


_ENVS: dict[str, Environment] = {}


def template_env(package: str) -> Environment:
    """Jinja environment for the e-mail templates of ``package`` (autoescaped)."""
    env = _ENVS.get(package)
    if env is None:
        env = Environment(
            loader=PackageLoader(package, "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters["rule"] = bilingual_rule
        env.filters["duration"] = duration_text
        _ENVS[package] = env
    return env


def pdf_text(value: object) -> str:
    """Text the PDF core fonts can show (Windows-1252); other characters become '?'."""
    text = "" if value is None else str(value)
    return text.encode("cp1252", "replace").decode("cp1252")


class DocumentPDF(FPDF):
    """A4 document with a title block and a page footer; deterministic output."""

    def __init__(self, *, title: str, author: str, created: datetime, footer: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.core_fonts_encoding = "windows-1252"
        self._footer_text = pdf_text(footer)
        self.set_creation_date(created)
        self.set_title(pdf_text(title))
        self.set_author(pdf_text(author))
        self.set_creator("fleet-monitor")
        self.set_producer("fleet-monitor (fpdf2)")
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(16, 16, 16)
        self.add_page()

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font("helvetica", size=7)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, f"{self._footer_text} · {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(0, 0, 0)

    def title_block(self, title: str, subtitle: str = "") -> None:
        self.set_font("helvetica", style="B", size=15)
        self.multi_cell(0, 7, pdf_text(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if subtitle:
            self.set_font("helvetica", size=10)
            self.set_text_color(70, 70, 70)
            self.multi_cell(0, 5, pdf_text(subtitle), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_text_color(0, 0, 0)
        self.ln(3)

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font("helvetica", style="B", size=11)
        self.multi_cell(0, 6, pdf_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def paragraph(self, text: str, size: float = 9) -> None:
        self.set_font("helvetica", size=size)
        self.multi_cell(0, 4.6, pdf_text(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def facts(self, rows: Iterable[tuple[str, object]], label_width: float = 70) -> None:
        """Label / value lines; either may wrap, the next line starts below both."""
        line = 4.8
        for label, value in rows:
            y = self.get_y()
            if y + 2 * line > self.page_break_trigger:
                self.add_page()
                y = self.get_y()
            self.set_font("helvetica", style="B", size=9)
            self.multi_cell(
                label_width, line, pdf_text(label), align="L", new_x=XPos.RIGHT, new_y=YPos.NEXT
            )
            label_bottom = self.get_y()
            self.set_xy(self.l_margin + label_width, y)
            self.set_font("helvetica", size=9)
            self.multi_cell(
                0, line, pdf_text(value), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )
            self.set_y(max(self.get_y(), label_bottom))
        self.ln(1)

    def grid(
        self,
        headers: Sequence[str],
        rows: Iterable[Sequence[object]],
        widths: Sequence[float] | None = None,
        size: float = 8,
    ) -> None:
        self.set_font("helvetica", size=size)
        with self.table(
            col_widths=tuple(widths) if widths else None,
            line_height=size * 0.5,
            text_align="LEFT",
            headings_style=FontFace(emphasis="BOLD", fill_color=(226, 232, 238)),
            first_row_as_headings=True,
        ) as table:
            head = table.row()
            for h in headers:
                head.cell(pdf_text(h))
            for values in rows:
                row = table.row()
                for v in values:
                    row.cell(pdf_text(v))
        self.ln(2)

    def render(self) -> bytes:
        return bytes(self.output())
