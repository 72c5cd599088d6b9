"""The daily reports' PDFs printed from HTML (WeasyPrint), checked with poppler: the
city's summary fits one A4 page, both are bilingual, deterministic, and show what
needs attention; the e-mail body shows the same figures from the same partials.

FLEET_SCREENSHOTS keeps the pages (PNG) to look at."""

from __future__ import annotations

import copy
import hashlib
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from fleet_monitor.reports.attention import attention, operator_items
from fleet_monitor.reports.render import (
    city_summary,
    operator_row,
    render_html,
    render_pdf,
    render_print_html,
)
from fleet_monitor.settings import LetterheadSettings
from tests.notices.pdfcheck import pdf_pages, pdf_text, tiny_png
from tests.reports.sample_figures import DAY, PERIOD, four_operators, operator_day

HEAD = LetterheadSettings()


def _flat(text: str) -> str:
    return " ".join(text.replace("\u202f", " ").split())


def _keep(pages: list[Path], tmp_path: Path) -> None:
    out = os.environ.get("FLEET_SCREENSHOTS")
    if out:
        for p in pages:
            (Path(out) / p.name).write_bytes(p.read_bytes())


def city() -> dict:
    return city_summary(DAY, "Europe/Paris", "Annecy", PERIOD, four_operators())


def test_city_summary_is_one_page_with_cards_table_and_attention(tmp_path: Path) -> None:
    data = city()
    pdf = render_pdf(data, "Annecy", HEAD)
    pages = pdf_pages(pdf, tmp_path, "report-city")
    _keep(pages, tmp_path)
    assert len(pages) == 1  # the one-page summary
    with Image.open(pages[0]) as img:
        assert img.size[0] < img.size[1]  # A4 portrait
    text = _flat(pdf_text(pdf, tmp_path))
    # letterhead, title, the day in words, French then English
    assert "Ville d'Annecy" in text and "Synthèse quotidienne / Daily summary" in text
    assert "lundi 2 novembre 2026" in text and "Monday 2 November 2026" in text
    assert "2026-11-02" not in text and "T23:00" not in text  # no ISO dates
    # the cards: deployed against the caps, the operators over theirs named
    assert "Véhicules déployés (moyenne)" in text and "Vehicles deployed (mean)" in text
    assert "1 649,8" in text and "plafonds / caps 1 825" in text
    assert "Voi Technology (534 > 525)" in text and "(401 > 400)" in text
    assert "Hors délai / Overdue" in text
    assert "97,1 %" in text and "TIER Dott · minimum 99 %" in text
    assert "pénalités / penalties 3 · 105,00 €" in text
    assert "Véhicules contestés / Vehicles disputed" in text and "9 %" in text
    assert "3 / 32 véhicules" in text and "upheld 50 % (1 / 2)" in text
    # what needs attention, most serious first, cut to fit with the rest counted
    assert "À surveiller / Needs attention" in text
    first = text.index("jusqu’à 534 véhicules pour un plafond de 525")
    assert first < text.index("flux disponible à 97,1 %, sous le minimum de 99 %")
    assert "et 7 autre(s) point(s)" in text
    # one line per operator, then the totals
    for name in ("Voi Technology", "TIER Dott", "Vélo Léman", "Bird Rides"):
        assert name in text
    assert "Total 1 825 1 649,8 53 · 42 · 17 3 10 · 105,00 € 9 % · 50 %" in text


def test_city_summary_stays_one_page_with_long_names_and_every_warning(tmp_path: Path) -> None:
    ops = four_operators()
    for r in ops:
        r["operator"]["name"] += " — Trottinettes électriques du Lac et des Montagnes"
        r["fleet"]["sample_coverage"] = 0.5
        r["feed"]["availability"] = 0.9
    data = city_summary(DAY, "Europe/Paris", "Annecy", PERIOD, ops)
    pages = pdf_pages(render_pdf(data, "Annecy", HEAD), tmp_path, "report-city-long")
    assert len(pages) == 1


def test_city_summary_holds_eight_operators_on_one_page(tmp_path: Path) -> None:
    """Each operator over 4 takes a table row: the list of points needing attention
    gives up one place each (at least 2 remain), the rest counted."""
    ops = four_operators()
    more = copy.deepcopy(ops)
    for i, r in enumerate(more):
        r["operator"]["name"] += f" Grand Annecy {i}"
        r["operator"]["slug"] = f"{r['operator']['slug']}-{i}"
    data = city_summary(DAY, "Europe/Paris", "Annecy", PERIOD, ops + more)
    pdf = render_pdf(data, "Annecy", HEAD)
    pages = pdf_pages(pdf, tmp_path, "report-city-eight")
    _keep(pages, tmp_path)
    assert len(pages) == 1
    text = _flat(pdf_text(pdf, tmp_path))
    assert "8 opérateurs" in text and "Grand Annecy 3" in text  # (the names wrap in their cells)
    assert "et 24 autre(s) point(s)" in text  # 2 listed, all the rest counted


def test_same_figures_same_bytes_and_the_logo(tmp_path: Path) -> None:
    data = city()
    assert render_pdf(data, "Annecy", HEAD) == render_pdf(city(), "Annecy", HEAD)
    logo = tiny_png(tmp_path / "logo.png")
    head = LetterheadSettings(logo_path=str(logo))
    assert 'src="file://' in render_print_html(data, "Annecy", head)
    with_logo = render_pdf(data, "Annecy", head)
    assert with_logo != render_pdf(data, "Annecy", HEAD)
    assert len(pdf_pages(with_logo, tmp_path, "with-logo")) == 1


def test_operator_report_is_bilingual_and_readable(tmp_path: Path) -> None:
    data = four_operators()[0]
    pdf = render_pdf(data, "Annecy", HEAD)
    pages = pdf_pages(pdf, tmp_path, "report-operator")
    _keep(pages, tmp_path)
    assert 1 <= len(pages) <= 2
    text = _flat(pdf_text(pdf, tmp_path))
    assert "Rapport quotidien de conformité / Daily compliance report" in text
    assert "Voi Technology" in text and "lundi 2 novembre 2026" in text
    assert "Déployés, max / Deployed, max 534" in text
    assert "Plafond / Cap 525 (autorisation / permit v3)" in text
    assert "permit:" not in text  # no internal clause reference
    assert "Dans l’eau / In water" in text
    assert "traité / remedied : 4" in text and "hors délai / overdue : 2" in text
    assert "flux indisponible / feed" in text
    assert "2/12 véhicules contestés" in text
    assert "2026-11-02" not in text


def test_email_and_pdf_show_the_same_figures() -> None:
    """The e-mail body and the PDF are made from the same partials."""
    data = four_operators()[0]
    mail, printed = render_html(data, "Annecy"), render_print_html(data, "Annecy", HEAD)
    for fragment in (
        'data-field="deployed_mean" data-value="498.35">498,35<',
        'data-field="deployed_max" data-value="534">534<',
        'data-bucket="3d_7d">35<',
        "jusqu’à 534 véhicules pour un plafond de 525",
    ):
        assert fragment in mail and fragment in printed, fragment
    summary = city()
    mail, printed = render_html(summary, "Annecy"), render_print_html(summary, "Annecy", HEAD)
    row = '<tr data-operator="voi" class="over">'
    assert row in mail and row in printed


def test_hostile_names_are_text(tmp_path: Path) -> None:
    data = four_operators()
    data[1]["operator"]["name"] = '<img src="http://tracker.example/x.png">Evil & Co'
    summary = city_summary(DAY, "Europe/Paris", "Annecy", PERIOD, data)
    html = render_print_html(summary, "Annecy", HEAD)
    assert '<img src="http' not in html and "&lt;img src=" in html
    text = _flat(pdf_text(render_pdf(summary, "Annecy", HEAD), tmp_path))
    assert '<img src="http://tracker.' in text  # cut to fit the summary's table
    text = _flat(pdf_text(render_pdf(data[1], "Annecy", HEAD), tmp_path))
    assert '<img src="http://tracker.example/x.png">Evil & Co' in text


def test_attention_items() -> None:
    clean = operator_row(operator_day("velo", "Vélo", cap=300, mean=210.0, top=244, open_end=0))
    clean.update(notices_issued=0)
    assert operator_items(clean) == []
    assert attention([clean]) == {"items": [], "more": 0}
    over = operator_row(operator_day("voi", "Voi", cap=5, mean=6.0, top=6, over=11))
    [item, *_] = operator_items(over)
    assert item.level == "flag" and item.fr.startswith("jusqu’à 6 véhicules pour un plafond de 5")
    # no cap: never over it; availability only against the permit's minimum
    nocap = operator_row(operator_day("x", "X", cap=None, mean=9.0, top=12, availability=0.5))
    nocap["min_availability"] = None
    assert all("plafond" not in i.fr and "flux" not in i.fr for i in operator_items(nocap))
    rows = [operator_row(r) for r in four_operators()]
    cut = attention(rows, 3)
    assert len(cut["items"]) == 3 and cut["more"] > 0
    assert [i.level for i in cut["items"]] == ["flag", "flag", "flag"]


def test_same_bytes_in_another_process() -> None:
    """The archive's content hash holds when a day is regenerated by another process
    (another hash seed: set and dict orders, font subsets)."""
    code = (
        "import hashlib, sys\n"
        "from tests.reports.test_report_pdf import HEAD, city\n"
        "from fleet_monitor.reports.render import render_pdf\n"
        "sys.stdout.write(hashlib.sha256(render_pdf(city(), 'Annecy', HEAD)).hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    root = Path(__file__).resolve().parents[2]
    other = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, check=True
    ).stdout.decode()
    assert other == hashlib.sha256(render_pdf(city(), "Annecy", HEAD)).hexdigest()


def test_no_hand_laid_pdf_left() -> None:
    """Every document is printed from HTML (fleet_monitor.printing): fpdf2 is
    imported nowhere any more."""
    root = Path(__file__).resolve().parents[2] / "fleet_monitor"
    for source in root.rglob("*.py"):
        assert "import fpdf" not in source.read_text(encoding="utf-8"), source
        assert "from fpdf" not in source.read_text(encoding="utf-8"), source
