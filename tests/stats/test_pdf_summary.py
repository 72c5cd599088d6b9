"""Page one of the statistics report: the period and filters in words, cap breaches
found from the daily maxima, what stands out first."""

from __future__ import annotations

from pathlib import Path

from fleet_monitor.stats.pdf import fmt, to_pdf, when
from fleet_monitor.stats.pdf_summary import (
    cap_breaches,
    filters_words,
    operator_lines,
    period_words,
    stands_out,
)
from tests.notices.pdfcheck import pdf_pages, pdf_text
from tests.stats.test_charts import month_report


def _period(first: str, last: str) -> dict:
    return {"first_day": first, "last_day": last}


def test_periods_and_times_in_words() -> None:
    assert period_words(_period("2026-10-06", "2026-10-06"), "fr") == "mardi 6 octobre 2026"
    assert period_words(_period("2026-10-06", "2026-10-06"), "en") == "Tuesday 6 October 2026"
    assert period_words(_period("2026-11-01", "2026-11-30"), "fr") == "du 1er au 30 novembre 2026"
    assert period_words(_period("2026-09-28", "2026-10-04"), "fr") == (
        "du 28 septembre au 4 octobre 2026"
    )
    assert period_words(_period("2026-12-28", "2027-01-03"), "en") == (
        "28 December 2026 to 3 January 2027"
    )
    assert when("2026-10-05T03:30:00+02:00", "fr") == "05/10/2026 à 03:30"
    assert when("2026-10-05T03:30:00+02:00", "en") == "5 Oct 2026 03:30"
    assert fmt("deployed_avg", 1234.5, "fr") == "1\u202f234,50"
    assert fmt("outage_minutes", 120.0, "fr") == "120"
    assert fmt("disabled_avg", 1.5, "fr") == "1,50" and fmt("coverage", 0.9167, "en") == "91.7 %"
    assert fmt("period_start", "2026-10-01", "fr") == "01/10/2026"
    assert fmt("id_policy", "rotating", "fr") == "renouvelés après location"


def test_filters_in_words() -> None:
    report = {
        "filters": {"operator": "voi", "form_factor": "scooter_standing", "zone": "east"},
        "operators": [{"slug": "voi", "name": "Voi"}],
        "sections": {"zones": {"rows": [{"zone_id": "east", "name": "Le Pâquier"}]}},
    }
    assert filters_words(report, "fr") == "opérateur Voi, trottinettes seulement, zone Le Pâquier"
    report["filters"] = {"operator": "*", "form_factor": "*", "zone": "*"}
    assert filters_words(report, "en") == "all operators, all vehicle types, the whole city"


def test_cap_breach_stands_out_first() -> None:
    """Voi's daily maximum (534) exceeds its cap (525) on 12 November only."""
    report = month_report("fr")
    report["period"].update(first_day="2026-11-01", last_day="2026-11-30")
    report["aggregation"] = {"days": 30, "aggregated": 29}
    [breach] = cap_breaches(report)
    assert breach == {
        "operator": "voi",
        "name": "Voi",
        "days": ["2026-11-12"],
        "top": 534,
        "cap": 525,
    }
    items = stands_out(report)
    assert items[0] == {
        "level": "flag",
        "text": "Voi : jusqu’à 534 véhicules pour un plafond de 525, 1 jour(s) sur 30 (12/11)",
    }
    assert items[-1]["text"] == "1 jour(s) de la période pas encore agrégé(s)"
    lines = {line["operator"]: line for line in operator_lines(report)}
    assert lines["voi"]["days_over_cap"] == 1 and lines["voi"]["cap"] == 525
    assert lines["tier"]["cap"] is None and lines["tier"]["days_over_cap"] is None


def test_a_period_without_data_prints_and_says_so(tmp_path: Path) -> None:
    """No operator, no figure: page one says there is no data (not "nothing stands
    out"), every card shows a dash, and the document still prints."""
    report = {
        "lang": "fr",
        "timezone": "Europe/Paris",
        "generated_at": "2026-10-20T14:00:00+02:00",
        "period": {"first_day": "2026-10-06", "last_day": "2026-10-06", "days": 1},
        "filters": {"operator": "*", "form_factor": "*", "zone": "*"},
        "aggregation": {"days": 1, "aggregated": 0, "statement": "jours agrégés : 0 sur 1"},
        "methodology": {"general": "Les chiffres proviennent des flux GBFS."},
        "operators": [],
        "sections": {
            "fleet": {
                "title": "Flotte déployée",
                "method": "…",
                "rows": [],
                "daily": [],
                "hourly": [],
                "caps": {},
                "coverage": {"statement": "aucune donnée pour cette période"},
            }
        },
    }
    assert stands_out(report)[0]["text"] == "Aucune donnée pour cette période."
    pdf = to_pdf(report, city="Annecy")
    assert len(pdf_pages(pdf, tmp_path, "empty")) == 3  # summary, fleet, methodology
    text = " ".join(pdf_text(pdf, tmp_path).split())
    assert "Aucune donnée pour cette période." in text and "None" not in text

    # residents' reports: their section (by operator, by zone) and a line on page one
    report["sections"]["residents"] = {
        "title": "Signalements d'habitants",
        "method": "…",
        "rows": [
            {"operator": "*", "operator_name": "Tous les opérateurs", "reports": 3,
             "matched": 2, "matched_share": None, "via_page": 2, "via_open311": 1},
        ],
        "by_zone": [
            {"zone_id": "paquier", "name": "Le Pâquier", "kind": "district",
             "kind_label": "Quartier", "reports": 3, "matched": 2},
        ],
        "by_day": [],
        "coverage": {"reports": 3, "matched": 2, "statement": "signalements d'habitants : 3"},
    }  # fmt: skip
    assert {"level": "info", "text": "3 signalement(s) d’habitants, dont 2 rapproché(s) "
            "d’un véhicule"} in stands_out(report)  # fmt: skip
    text = " ".join(pdf_text(to_pdf(report, city="Annecy"), tmp_path).split())
    assert "Signalements d'habitants" in text and "Le Pâquier Quartier 3 2" in text
