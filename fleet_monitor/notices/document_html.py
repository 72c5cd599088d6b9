"""A notice's document in HTML: the printed act (PDF), the e-mail body and the act
as the web pages show it, from the same partials (``templates/notice_parts/``), so
they cannot disagree.

All are built from the stored payload only (``document.build_payload``): the
PDF is printed with WeasyPrint (``fleet_monitor.printing.html_pdf``), so the
same payload (and logo) gives the same bytes, whose SHA-256 is stored.

The partials are written once for three media, ``medium``: ``"pdf"``,
``"email"`` and ``"page"``. ``css(name)`` adds an inline ``style`` attribute
in the e-mail only (mail clients drop classes and most ``<style>``); the PDF
is styled by ``printing/static/print.css`` and ``notice.css``, the page by the
web stylesheet (its CSP forbids inline styles). The e-mail and the page show
plain tables and paragraphs; the PDF adds the city's logo, a location map per
vehicle (``thumbnail.situation_png`` as a ``data:image/png`` URI), the map key
and a QR code of the respond link (segno, SVG).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import segno
from jinja2 import Environment
from markupsafe import Markup, escape

from fleet_monitor.notices import thumbnail
from fleet_monitor.outbox.documents import bilingual_rule, local_time, template_env
from fleet_monitor.printing.html_pdf import PRINT_CSS, STATIC_DIR, logo_roots, logo_url
from fleet_monitor.printing.html_pdf import render_pdf as print_pdf

NOTICE_CSS = STATIC_DIR / "notice.css"

#: inline styles of the e-mail, by the name the partials give ``css()``
EMAIL_STYLES: dict[str, str] = {
    "body": "font-family: Arial, Helvetica, sans-serif; font-size: 14px; color: #1a1a1a;",
    "head": "border-collapse: collapse; width: 100%; margin: 0 0 12px;",
    "head-td": "vertical-align: top; padding: 0;",
    "authority": "color: #1e3c6e; font-weight: bold; font-size: 16px;",
    "title": "font-size: 18px; color: #0f2a4f; margin: 12px 0 4px;",
    "urgent": "color: #a1001a;",
    "h2": "font-size: 15px; color: #0f2a4f; margin: 16px 0 6px;",
    "facts": "border-collapse: collapse; margin-bottom: 12px;",
    "facts-th": "text-align: left; vertical-align: top; padding: 2px 12px 2px 0;",
    "facts-td": "vertical-align: top; padding: 2px 0;",
    "grid": "border-collapse: collapse; margin-bottom: 8px;",
    "grid-th": "border: 1px solid #b8c2cc; background: #e2e8ee; padding: 4px; text-align: left;"
    " vertical-align: top;",
    "grid-td": "border: 1px solid #b8c2cc; padding: 4px; vertical-align: top;",
    "num": "border: 1px solid #b8c2cc; padding: 4px; vertical-align: top; text-align: right;"
    " white-space: nowrap;",
    "hash": "border: 1px solid #b8c2cc; padding: 4px; font-family: monospace; font-size: 12px;"
    " word-break: break-all;",
    "total": "font-weight: bold; text-align: right; margin: 4px 0 12px;",
    "quote": "margin: 0 0 8px 16px; font-style: italic;",
    "en": "color: #3a4550;",
    "link": "word-break: break-all;",
    "muted": "color: #5a6570; font-size: 12px;",
    "signature": "margin: 16px 0 8px;",
}


def eur(value: object) -> str:
    """``1 250,00 €`` (French format, no-break spaces, one before the euro sign); an em
    dash for no amount (none, or a key an older payload lacks)."""
    if not isinstance(value, int | float):
        return "—"
    text = f"{value:,.2f}".replace(",", "\u00a0").replace(".", ",")
    return f"{text}\u00a0€"


def _env() -> Environment:
    env = template_env("fleet_monitor.notices")
    env.filters["eur"] = eur
    env.filters["rule"] = bilingual_rule
    return env


def _styler(medium: str) -> Any:
    def css(name: str) -> Markup:
        if medium != "email":
            return Markup("")
        return Markup(' style="{}"').format(escape(EMAIL_STYLES[name]))

    return css


def _when(value: str | None, tz: str, fmt: str = "%d/%m/%Y %H:%M") -> str:
    return local_time(datetime.fromisoformat(value) if value else None, tz, fmt)


def _clauses(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """The permit's clauses the vehicles breach, each once, in the vehicles' order."""
    seen: dict[str, str] = {}
    for it in payload["items"]:
        c = it.get("legal_clause")
        if c and c.get("text"):
            seen.setdefault(c.get("article") or it["rule_type"], c["text"])
    return list(seen.items())


def notice_context(
    payload: dict[str, Any], medium: str, *, logo_url: str | None = None
) -> dict[str, Any]:
    """What the templates show, computed from the payload alone."""
    tz = payload["timezone"]
    title = payload.get("title") or {"fr": "Avis de manquement", "en": "Notice of breach"}
    head = payload.get("letterhead") or {}
    maps: dict[int, str] = {}
    kinds: set[str] = set()
    link = (payload.get("respond") or {}).get("link")
    qr = None
    if medium == "pdf" and link:  # a printed act is answered by scanning it
        qr = segno.make(link, error="m").svg_data_uri(scale=1, border=2, nl=False)
    if medium == "pdf":
        for it in payload["items"]:
            if it.get("map"):
                maps[it["violation_id"]] = thumbnail.situation_data_uri(it["map"])
                kinds.update(sh.get("kind") for sh in it["map"].get("shapes", []))
    return {
        "p": payload,
        "medium": medium,
        # a page shows the act inside a card: its headings sit two levels lower
        "h_title": "h3" if medium == "page" else "h1",
        "h_section": "h4" if medium == "page" else "h2",
        "css": _styler(medium),
        "kind": payload.get("kind") or "breach",
        "title": title,
        "head": head,
        "authority": head.get("authority") or payload["city"],
        "logo_url": logo_url,
        "issued": _when(payload["issued_at"], tz),
        "issued_day": _when(payload["issued_at"], tz, "%d/%m/%Y"),
        "deadline": _when(payload.get("deadline_at"), tz),
        "since": {it["violation_id"]: _when(it.get("since"), tz) for it in payload["items"]},
        "link_until": _when((payload.get("respond") or {}).get("link_expires_at"), tz),
        "clauses": _clauses(payload),
        "maps": maps,
        "respond_qr": qr,
        "legend": [entry for entry in thumbnail.LEGEND if entry[0] in kinds],
        "vehicle_colour": thumbnail.VEHICLE_COLOUR,
        "legend_colours": {k: v[0] or v[1] for k, v in thumbnail.STYLE.items()},
    }


def email_html(payload: dict[str, Any]) -> str:
    """The e-mail's HTML body (the PDF is attached)."""
    return _env().get_template("notice_email.html").render(**notice_context(payload, "email"))


def page_html(payload: dict[str, Any]) -> Markup:
    """The act as a fragment of a web page (no image, no inline style: the page's CSP)."""
    html = _env().get_template("notice_page.html").render(**notice_context(payload, "page"))
    return Markup(html)  # rendered by the autoescaping environment above


def email_text(payload: dict[str, Any]) -> str:
    """The e-mail's plain-text body."""
    return _env().get_template("notice_email.txt").render(**notice_context(payload, "text"))


def document_html(payload: dict[str, Any], logo_path: str | None = None) -> str:
    """The printed act as HTML (what ``render_notice_pdf`` prints)."""
    context = notice_context(payload, "pdf", logo_url=logo_url(logo_path))
    return _env().get_template("notice_document.html").render(**context)


def render_notice_pdf(payload: dict[str, Any], logo_path: str | None = None) -> bytes:
    """The notice's PDF: deterministic for a payload and logo (see the module docstring)."""
    return print_pdf(
        document_html(payload, logo_path),
        created=datetime.fromisoformat(payload["issued_at"]),
        extra_roots=logo_roots(logo_path),
        stylesheets=(PRINT_CSS, NOTICE_CSS),
    )
