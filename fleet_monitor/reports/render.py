"""A report's files: HTML (the e-mail body), PDF and CSV, from its figures.

The e-mail body and the PDF are made from the same Jinja partials
(``templates/_figures.html``: the figures' tables and the list of what needs
attention), so they cannot disagree; the PDF wraps them in a print layout
(``*_print.html``) printed by WeasyPrint (:mod:`fleet_monitor.printing`). The
city's PDF is a one-page summary: key figures as cards, one line per operator,
what needs attention.

Deterministic: the same figures give the same bytes (the PDF's creation date
is the end of the reported day; nothing depends on when it is rendered).
The CSV is long-form (``section,metric,key,value``), one figure per line, so
that spreadsheets and scripts read it without knowing the layout.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from fleet_monitor.notices import dispute_figures
from fleet_monitor.outbox.documents import template_env
from fleet_monitor.printing.html_pdf import PRINT_CSS, STATIC_DIR, logo_roots, logo_url
from fleet_monitor.printing.html_pdf import render_pdf as print_pdf
from fleet_monitor.reports.attention import attention, over_cap
from fleet_monitor.reports.formats import FILTERS
from fleet_monitor.settings import LetterheadSettings

REPORT_CSS = STATIC_DIR / "reports.css"
# the city's one-page summary lists at most this many points needing attention, with
# up to 4 operators; each operator more takes a table row, so one point fewer (at
# least 2): the page holds 8 operators (tested), the rest of the points are counted
CITY_ATTENTION_LIMIT = 6
CITY_ATTENTION_MIN = 2


def city_attention_limit(n_operators: int) -> int:
    return max(CITY_ATTENTION_MIN, CITY_ATTENTION_LIMIT - max(0, n_operators - 4))


IDLE_LABELS = {
    "lt_1d": "< 1 j/d",
    "1d_3d": "1–3 j/d",
    "3d_7d": "3–7 j/d",
    "7d_14d": "7–14 j/d",
    "ge_14d": "≥ 14 j/d",
}


def operator_row(r: dict[str, Any]) -> dict[str, Any]:
    """One operator's line of the city summary, from its report's figures."""
    violations, notices = r["violations"], r["notices"]
    disputes = dispute_figures.rates(notices.get("disputes") or {})
    permit = r.get("permit") or {}
    return {
        "slug": r["operator"]["slug"],
        "name": r["operator"]["name"],
        "cap": r["fleet"]["cap"],
        "deployed_mean": r["fleet"]["deployed_mean"],
        "deployed_max": r["fleet"]["deployed_max"],
        "samples_over_cap": r["fleet"]["samples_over_cap"],
        "sample_coverage": r["fleet"]["sample_coverage"],
        "violations_opened": sum(v["opened"] for v in violations),
        "violations_closed": sum(v["closed"] for v in violations),
        "open_at_end": sum(v["open_at_end"] for v in violations),
        "overdue": sum(v["overdue"] for v in violations),
        "availability": r["feed"]["availability"],
        "min_availability": permit.get("min_availability"),
        "notices_issued": notices["issued"],
        "notices_acknowledged": notices["acknowledged"],
        "notices_disputed": notices["disputed"],
        "penalties": notices["penalties"],
        "penalties_eur": notices["penalties_eur"],
        "vehicles_noticed": disputes["vehicles"],
        "disputed": disputes["disputed"],
        "upheld": disputes["upheld"],
        "rejected": disputes["rejected"],
        "dispute_rate": disputes["dispute_rate"],
        "acceptance_rate": disputes["acceptance_rate"],
    }


def city_summary(
    day: str, tz: str, city: str, period: dict[str, str], reports: list[dict[str, Any]]
) -> dict[str, Any]:
    """The staff's city-wide summary: one line per operator, and totals."""
    rows = [operator_row(r) for r in reports]
    keys = (
        "violations_opened",
        "violations_closed",
        "open_at_end",
        "overdue",
        "notices_issued",
        "penalties",
    )
    totals: dict[str, Any] = {k: sum(row[k] or 0 for row in rows) for k in keys}
    totals["penalties_eur"] = round(sum(row["penalties_eur"] or 0 for row in rows), 2)
    totals["deployed_mean"] = round(sum(row["deployed_mean"] or 0 for row in rows), 2)
    caps = [row["cap"] for row in rows]
    totals["caps"] = sum(caps) if caps and None not in caps else None
    totals["operators_over_cap"] = sum(1 for row in rows if over_cap(row))
    disputes = dispute_figures.rates(
        {
            "vehicles": sum(row["vehicles_noticed"] for row in rows),
            **{k: sum(row[k] for row in rows) for k in ("disputed", "upheld", "rejected")},
        }
    )
    totals.update(
        {
            "vehicles_noticed": disputes["vehicles"],
            "disputed": disputes["disputed"],
            "upheld": disputes["upheld"],
            "rejected": disputes["rejected"],
            "dispute_rate": disputes["dispute_rate"],
            "acceptance_rate": disputes["acceptance_rate"],
        }
    )
    return {
        "type": "city",
        "day": day,
        "timezone": tz,
        "period": period,
        "city": city,
        "operators": rows,
        "totals": totals,
    }


def lowest_availability(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The operator whose feed was least available (the city summary's feed card)."""
    known = [r for r in rows if r["availability"] is not None]
    return min(known, key=lambda r: (r["availability"], r["slug"])) if known else None


def _env() -> Any:
    env = template_env("fleet_monitor.reports")
    env.filters.update(FILTERS)
    return env


def _context(data: dict[str, Any], city: str) -> dict[str, Any]:
    if data["type"] == "city":
        rows = data["operators"]
        return {
            "d": data,
            "city": city,
            "attention": attention(rows, city_attention_limit(len(rows))),
            "lowest": lowest_availability(rows),
            "over_cap": [r for r in rows if over_cap(r)],
            "idle_labels": IDLE_LABELS,
        }
    return {
        "d": data,
        "city": city,
        "attention": attention([operator_row(data)]),
        "row": operator_row(data),
        "idle_labels": IDLE_LABELS,
    }


def render_html(data: dict[str, Any], city: str) -> str:
    """The e-mail body."""
    name = "city_report.html" if data["type"] == "city" else "operator_report.html"
    return _env().get_template(name).render(**_context(data, city))


def render_print_html(
    data: dict[str, Any], city: str, letterhead: LetterheadSettings | None = None
) -> str:
    """The PDF's HTML: the same partials as the e-mail, in a print layout."""
    name = "city_report_print.html" if data["type"] == "city" else "operator_report_print.html"
    head = letterhead or LetterheadSettings(authority=city, department="", address=())
    return (
        _env()
        .get_template(name)
        .render(
            **_context(data, city),
            letterhead=head,
            logo_url=logo_url(head.logo_path),
        )
    )


def render_pdf(
    data: dict[str, Any], city: str, letterhead: LetterheadSettings | None = None
) -> bytes:
    html = render_print_html(data, city, letterhead)
    return print_pdf(
        html,
        created=datetime.fromisoformat(data["period"]["end"]),
        extra_roots=logo_roots(letterhead.logo_path if letterhead else None),
        stylesheets=(PRINT_CSS, REPORT_CSS),
    )


def render_text(data: dict[str, Any], city: str) -> str:
    who = data["operator"]["name"] if data["type"] == "operator" else city
    return (
        f"Rapport quotidien de conformité / Daily compliance report\n{who} – {data['day']}"
        f" ({data['timezone']})\n\nLe rapport est joint en PDF et CSV."
        " / The report is attached as PDF and CSV.\n"
    )


def csv_rows(data: dict[str, Any]) -> Iterator[tuple[str, str, str, Any]]:
    if data["type"] == "city":
        for row in data["operators"]:
            for k, v in row.items():
                if k not in ("slug", "name"):
                    yield ("operators", k, row["slug"], v)
        for k, v in data["totals"].items():
            yield ("totals", k, "", v)
        return
    for k, v in data["fleet"].items():
        if k != "methods_recorded":
            yield ("fleet", k, "", v)
    for row in data["violations"]:
        for k, v in row.items():
            if k != "rule_type":
                yield ("violations", k, row["rule_type"], v)
    idle = data["idle"]
    for bucket, n in idle["buckets"].items():
        yield ("idle", "vehicles", bucket, n)
    for k in ("vehicles", "median_s", "p90_s", "lower_bound_share"):
        yield ("idle", k, "", idle[k])
    for k, v in data["feed"].items():
        if isinstance(v, dict):
            for kk, vv in v.items():
                yield ("feed", k, kk, vv)
        else:
            yield ("feed", k, "", v)
    for k, v in data["notices"].items():
        if isinstance(v, dict):
            for kk, vv in v.items():
                yield ("notices", k, kk, vv)
        else:
            yield ("notices", k, "", v)


def render_csv(data: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["day", "subject", "section", "metric", "key", "value"])
    subject = data["operator"]["slug"] if data["type"] == "operator" else "*"
    for section, metric, key, value in csv_rows(data):
        writer.writerow(
            [data["day"], subject, section, metric, key, "" if value is None else value]
        )
    return out.getvalue().encode("utf-8")
