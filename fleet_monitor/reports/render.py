"""A report's files: HTML (the e-mail body), PDF and CSV, from its figures.

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

from fleet_monitor.outbox.documents import (
    DocumentPDF,
    bilingual_rule,
    duration_text,
    template_env,
)

IDLE_LABELS = {
    "lt_1d": "< 1 j/d",
    "1d_3d": "1–3 j/d",
    "3d_7d": "3–7 j/d",
    "7d_14d": "7–14 j/d",
    "ge_14d": ">= 14 j/d",
}


def city_summary(
    day: str, tz: str, city: str, period: dict[str, str], reports: list[dict[str, Any]]
) -> dict[str, Any]:
    """The staff's city-wide summary: one line per operator, and totals."""
    rows = []
    for r in reports:
        violations = r["violations"]
        rows.append(
            {
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
                "notices_issued": r["notices"]["issued"],
                "penalties_eur": r["notices"]["penalties_eur"],
            }
        )
    keys = ("violations_opened", "violations_closed", "open_at_end", "overdue", "notices_issued")
    totals: dict[str, Any] = {k: sum(row[k] or 0 for row in rows) for k in keys}
    totals["penalties_eur"] = round(sum(row["penalties_eur"] or 0 for row in rows), 2)
    return {
        "type": "city",
        "day": day,
        "timezone": tz,
        "period": period,
        "city": city,
        "operators": rows,
        "totals": totals,
    }


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def render_html(data: dict[str, Any], city: str) -> str:
    env = template_env("fleet_monitor.reports")
    env.filters.setdefault("pct", _pct)
    env.filters.setdefault("num", _num)
    name = "city_report.html" if data["type"] == "city" else "operator_report.html"
    return env.get_template(name).render(d=data, city=city, idle_labels=IDLE_LABELS)


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


def render_pdf(data: dict[str, Any], city: str) -> bytes:
    created = datetime.fromisoformat(data["period"]["end"])
    who = data["operator"]["name"] if data["type"] == "operator" else city
    pdf = DocumentPDF(
        title=f"Rapport quotidien / Daily report – {who} – {data['day']}",
        author=city,
        created=created,
        footer=" · ".join(dict.fromkeys((city, who, f"{data['day']} ({data['timezone']})"))),
    )
    pdf.title_block(
        "Rapport quotidien de conformité / Daily compliance report",
        f"{who} · {data['day']} ({data['timezone']})",
    )
    if data["type"] == "city":
        _city_pdf(pdf, data)
    else:
        _operator_pdf(pdf, data)
    return pdf.render()


def _operator_pdf(pdf: DocumentPDF, d: dict[str, Any]) -> None:
    fleet = d["fleet"]
    pdf.heading("Flotte et plafond / Fleet against the cap")
    pdf.facts(
        [
            ("Plafond / Cap", f"{_num(fleet['cap'])} ({fleet['cap_clause'] or '—'})"),
            ("Déployés moyenne / Mean deployed", _num(fleet["deployed_mean"])),
            ("Déployés max / Max deployed", _num(fleet["deployed_max"])),
            ("Échantillons au-dessus / Samples over cap", _num(fleet["samples_over_cap"])),
            (
                "Échantillons / Samples",
                f"{fleet['samples']} / {_num(fleet['samples_expected'])}"
                f" ({_pct(fleet['sample_coverage'])})",
            ),
            ("Couverture des données / Data coverage", _pct(fleet["data_coverage_mean"])),
            ("Méthode / Counting method", fleet["method"] or "—"),
        ]
    )
    pdf.heading("Infractions / Violations")
    rows = [
        [
            bilingual_rule(v["rule_type"]),
            v["opened"],
            v["opened_uncertain"],
            v["closed"],
            v["open_at_end"],
            v["overdue"],
        ]
        for v in d["violations"]
    ] or [["—", 0, 0, 0, 0, 0]]
    pdf.grid(
        [
            "Règle / Rule",
            "Ouvertes / Opened",
            "Incertaines / Uncertain",
            "Closes / Closed",
            "En cours / Open at end",
            "Hors délai / Overdue",
        ],
        rows,
        widths=(60, 22, 24, 20, 26, 26),
    )
    idle = d["idle"]
    pdf.heading("Durée d’immobilisation / Idle time (échantillon quotidien / daily sample, CROW)")
    pdf.grid(
        list(IDLE_LABELS.values()),
        [[idle["buckets"][k] for k in IDLE_LABELS]],
    )
    pdf.facts(
        [
            ("Véhicules / Vehicles", idle["vehicles"]),
            ("Médiane / Median", duration_text(idle["median_s"])),
            ("90e centile / 90th percentile", duration_text(idle["p90_s"])),
            ("Début minoré / Start is a lower bound", _pct(idle["lower_bound_share"])),
        ]
    )
    feed = d["feed"]
    pdf.heading("Flux et qualité des données / Feed availability and data quality")
    outages = ", ".join(f"{k}: {duration_text(v)}" for k, v in feed["outage_s"].items()) or "—"
    failures = ", ".join(f"{k}: {v}" for k, v in feed["failures"].items()) or "—"
    pdf.facts(
        [
            ("Disponibilité / Availability", _pct(feed["availability"])),
            (
                "Requêtes réussies / Successful fetches",
                f"{feed['fetches_ok']} / {feed['fetches']} ({_pct(feed['fetch_success'])})",
            ),
            ("Échecs / Failures", failures),
            ("Pannes / Outages", outages),
            ("Enregistrements invalides / Invalid records", feed["invalid_records"]),
            ("Erreurs de schéma / Schema errors", feed["schema_errors"]),
            ("Latence médiane / Median latency", f"{_num(feed['latency_median_ms'])} ms"),
        ]
    )
    n = d["notices"]
    outcomes = ", ".join(f"{k}: {v}" for k, v in n["outcomes"].items()) or "—"
    pdf.heading("Avis et délais de réponse / Notices and response times")
    pdf.facts(
        [
            ("Avis émis / Notices issued", f"{n['issued']} (urgent: {n['urgent']})"),
            ("Véhicules / Vehicles", n["vehicles"]),
            ("Accusés / Acknowledged", n["acknowledged"]),
            ("Contestés / Disputed", n["disputed"]),
            ("Réponse médiane / Median response", duration_text(n["response_median_s"])),
            ("Réponse max / Longest response", duration_text(n["response_max_s"])),
            ("Vérifications / Outcomes", outcomes),
            ("Pénalités / Penalties", f"{n['penalties']} – {n['penalties_eur']:.2f} €"),
            ("Contestations / Disputes", _disputes_text(n.get("disputes"))),
        ]
    )


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def _disputes_text(d: dict[str, Any] | None) -> str:
    """Vehicles disputed (dispute rate) and disputes upheld (acceptance rate)."""
    if not d:
        return "—"
    return (
        f"{d['disputed']}/{d['vehicles']} véhicules contestés / vehicles disputed "
        f"({_share(d['dispute_rate'])}) · acceptées / upheld {d['upheld']}, "
        f"rejetées / rejected {d['rejected']} (taux d’acceptation / acceptance rate "
        f"{_share(d['acceptance_rate'])})"
    )


def _city_pdf(pdf: DocumentPDF, d: dict[str, Any]) -> None:
    pdf.heading("Opérateurs / Operators")
    pdf.grid(
        [
            "Opérateur / Operator",
            "Plafond / Cap",
            "Moy. / Mean",
            "Max",
            "Ouvertes / Opened",
            "En cours / Open",
            "Hors délai / Overdue",
            "Dispo. / Avail.",
            "Avis / Notices",
            "Pénalités / Penalties",
        ],
        [
            [
                r["name"],
                _num(r["cap"]),
                _num(r["deployed_mean"]),
                _num(r["deployed_max"]),
                r["violations_opened"],
                r["open_at_end"],
                r["overdue"],
                _pct(r["availability"]),
                r["notices_issued"],
                f"{r['penalties_eur']:.2f} €",
            ]
            for r in d["operators"]
        ],
        size=7,
    )
    t = d["totals"]
    pdf.facts(
        [
            ("Infractions ouvertes / Violations opened", t["violations_opened"]),
            ("Closes / Closed", t["violations_closed"]),
            ("En cours / Open at end", t["open_at_end"]),
            ("Hors délai / Overdue", t["overdue"]),
            ("Avis émis / Notices issued", t["notices_issued"]),
            ("Pénalités / Penalties", f"{t['penalties_eur']:.2f} €"),
        ]
    )
