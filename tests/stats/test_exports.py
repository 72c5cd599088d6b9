"""Every export parses back with the same figures, and states methodology and coverage."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from fleet_monitor.settings import CitySettings, Settings
from fleet_monitor.stats.periods import parse_period
from fleet_monitor.stats.report import ReportQuery
from fleet_monitor.stats.service import Export, ExportError, make_export
from tests.notices.pdfcheck import pdf_pages, pdf_text
from tests.stats import scenario
from tests.stats.history import utc
from tests.stats.scenario import Ids

SETTINGS = Settings(city=CitySettings(name="Annecy"))
NOW = utc(2026, 10, 20, 12)


def export(engine: Engine, fmt: str, lang: str = "en", **kw: Any) -> Export:
    query = ReportQuery(parse_period("2026-10-06", "Europe/Paris"), lang=lang, **kw)
    return make_export(engine, SETTINGS, query, fmt, visible=None, now=NOW)


def fleet_row(report: dict[str, Any], slug: str) -> dict[str, Any]:
    return next(r for r in report["sections"]["fleet"]["rows"] if r["operator"] == slug)


def test_json_round_trip(engine: Engine, aggregated: Ids) -> None:
    out = export(engine, "json")
    doc = json.loads(out.content)
    assert doc == json.loads(json.dumps(out.report))
    assert fleet_row(doc, "alpha")["deployed_avg"] == pytest.approx(scenario.ALPHA_AVG, abs=1e-4)
    assert doc["generated_at"] == "2026-10-20T14:00:00+02:00"
    assert set(doc["methodology"]) >= {"general", "fleet", "idle", "use", "feeds"}
    assert out.filename == "statistics-2026-10-06-all.json"


def test_csv_round_trip(engine: Engine, aggregated: Ids) -> None:
    out = export(engine, "csv")
    text = out.content.decode("utf-8-sig")
    lines = list(csv.DictReader(io.StringIO(text)))
    figures = {
        (r["table"], r["operator"], r["key"], r["metric"]): r["value"]
        for r in lines
        if r["table"] not in ("meta", "methodology")
    }
    report = out.report
    for row in report["sections"]["fleet"]["rows"]:
        for metric in ("deployed_avg", "deployed_max", "deployed_p95", "coverage"):
            assert figures[("fleet", row["operator"], "", metric)] == str(row[metric])
    assert float(figures[("fleet", "beta", "", "deployed_avg")]) == pytest.approx(
        scenario.BETA_AVG, abs=1e-4
    )
    assert figures[("fleet_daily", "alpha", "2026-10-06", "deployed_max")] == "4"
    assert figures[("idle", "alpha", "", "buckets.7d_14d")] == "1"
    meta = {r["metric"]: r["value"] for r in lines if r["table"] == "meta"}
    assert meta["period_start"] == "2026-10-06T00:00:00+02:00"
    assert meta["coverage.fleet"] == "264 of 288 5-minute samples observed (91.7 %)"
    methods = {r["metric"]: r["value"] for r in lines if r["table"] == "methodology"}
    assert "nearest rank" in methods["fleet"] and "20 %" in methods["use"]


def test_xlsx_round_trip(engine: Engine, aggregated: Ids) -> None:
    out = export(engine, "xlsx")
    wb = load_workbook(io.BytesIO(out.content))
    assert {"summary", "methodology", "fleet", "idle", "use", "feeds"} <= set(wb.sheetnames)
    sheet = wb["fleet"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, [c.value for c in r], strict=True)) for r in sheet.iter_rows(2)]
    got = {r["operator"]: r for r in rows}
    for row in out.report["sections"]["fleet"]["rows"]:
        assert got[row["operator"]]["deployed_avg"] == row["deployed_avg"]
        assert got[row["operator"]]["deployed_p95"] == row["deployed_p95"]
    summary = {r[0].value: r[1].value for r in wb["summary"].iter_rows(2) if len(r) > 1}
    assert summary["coverage.fleet"].startswith("264 of 288")
    assert summary["timezone"] == "Europe/Paris"
    methods = {r[0].value: r[2].value for r in wb["methodology"].iter_rows(2)}
    assert "observed samples" in methods["fleet"]


def test_geojson_zones_with_figures(engine: Engine, aggregated: Ids) -> None:
    out = export(engine, "geojson")
    doc = json.loads(out.content)
    assert doc["type"] == "FeatureCollection"
    features = {f["id"]: f for f in doc["features"]}
    assert set(features) == {"east", "west"}
    assert features["west"]["geometry"]["type"] == "Polygon"
    zones = {z["zone_id"]: z for z in out.report["sections"]["zones"]["rows"]}
    assert features["east"]["properties"] == zones["east"]
    assert "zones" in doc["methodology"] and doc["coverage"]["fleet"].startswith("264 of 288")
    assert doc["period"]["end"] == "2026-10-07T00:00:00+02:00"


def _text(pdf: bytes, tmp: Path) -> str:
    return " ".join(pdf_text(pdf, tmp).replace("\u202f", " ").split())


def test_pdf_statistics_report_text(engine: Engine, aggregated: Ids, tmp_path: Path) -> None:
    """Page one sums up in words; no ISO timestamps, no debug strings; both languages."""
    out = export(engine, "pdf")
    pages = pdf_pages(out.content, tmp_path, "stats-en")
    assert 3 <= len(pages) <= 8
    flat = _text(out.content, tmp_path)
    assert "Statistics report · Tuesday 6 October 2026" in flat
    assert "permit review pack" not in flat.lower()
    assert "Scope all operators, all vehicle types, the whole city" in flat
    assert "264 of 288 5-minute samples observed (91.7 %)" in flat
    assert "Issued on 20 Oct 2026 14:00" in flat
    assert "Key figures" in flat and "What stands out" in flat
    alpha = fleet_row(out.report, "alpha")
    assert f"{alpha['deployed_avg']:.2f}" in flat  # 2.79
    assert "beta: 91.7 % of the feed's fetches succeeded (120 min of outage)" in flat
    assert "Methodology" in flat and "nearest rank" in flat
    # no ISO times, no filters as code
    assert not re.search(r"\d{4}-\d{2}-\d{2}|T\d{2}:\d{2}|[+-]0\d:00", flat), flat[:400]
    assert "= *" not in flat and "operator =" not in flat and "None" not in flat

    french = export(engine, "pdf", lang="fr")
    flat_fr = _text(french.content, tmp_path)
    assert "Rapport statistique · mardi 6 octobre 2026" in flat_fr
    assert "Ville d'Annecy" in flat_fr  # the letterhead, as on the notices and reports
    assert "Méthodologie" in flat_fr and "2,79" in flat_fr
    assert "Périmètre tous les opérateurs, tous les types de véhicules, toute la ville" in flat_fr
    assert "Établi le 20/10/2026 à 14:00" in flat_fr
    assert "Ce qui ressort" in flat_fr and "Chiffres clés" in flat_fr
    assert "beta : 91,7 % de lectures du flux réussies (120 min de panne)" in flat_fr
    assert not re.search(r"\d{4}-\d{2}-\d{2}|T\d{2}:\d{2}", flat_fr)
    beta = export(engine, "pdf", operator="beta")
    flat_beta = _text(beta.content, tmp_path)
    assert "Scope operator beta" in flat_beta and "= *" not in flat_beta


def test_pdf_statistics_report_is_deterministic(engine: Engine, aggregated: Ids) -> None:
    assert export(engine, "pdf", lang="fr").content == export(engine, "pdf", lang="fr").content


def test_unknown_format(engine: Engine, aggregated: Ids) -> None:
    with pytest.raises(ExportError):
        export(engine, "docx")
