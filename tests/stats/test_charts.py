"""The statistics charts (matplotlib): safe to inline under the page's CSP, in the
report's language and number formats, deterministic, with the permit's fleet cap
drawn and the samples above it flagged."""

from __future__ import annotations

import io
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fleet_monitor.settings import CitySettings, Settings
from fleet_monitor.stats.chart_render import PALETTE, Chart, Series, _figure, number
from fleet_monitor.stats.charts import report_chart_images, report_charts
from fleet_monitor.stats.periods import parse_period
from fleet_monitor.stats.report import ReportQuery
from fleet_monitor.stats.service import make_export, run_report
from fleet_monitor.violations import import_permit
from tests.notices.pdfcheck import pdf_pages, pdf_text
from tests.stats.history import utc
from tests.stats.scenario import Ids

SETTINGS = Settings(city=CitySettings(name="Annecy"))
NOW = utc(2026, 10, 20, 12)
PERMIT = """
operator = "alpha"
version = 1
effective_from = 2026-01-01T00:00:00+01:00
[fleet]
cap = 3
"""
DAYS = [f"2026-11-{d:02d}" for d in range(1, 31)]


def month_report(lang: str) -> dict[str, Any]:
    """A 30-day report of two operators, large figures, one with a cap of 525 that
    its daily maximum exceeds on 12 November (534)."""
    daily = []
    for day in DAYS:
        daily.append(_day("voi", "Voi", day, 480.5, 534 if day.endswith("12") else 510))
        daily.append(_day("tier", "Tier <&> $x$", day, 1180.25, 1300))
    rows = [
        {"operator": "voi", "operator_name": "Voi", "deployed_avg": 480.5},
        {"operator": "tier", "operator_name": "Tier <&> $x$", "deployed_avg": 1180.25},
    ]
    for r in rows:
        r.update(deployed_p95=1250.5, deployed_max=1300)
    fleet = {"rows": rows, "daily": daily, "hourly": [], "caps": {"voi": dict.fromkeys(DAYS, 525)}}
    return {"lang": lang, "period": {"days": 30}, "sections": {"fleet": fleet}}


def _day(slug: str, name: str, day: str, avg: float, top: int) -> dict[str, Any]:
    return {
        "operator": slug,
        "operator_name": name,
        "day": day,
        "deployed_avg": avg,
        "deployed_max": top,
    }


def texts(svg: str) -> list[str]:
    return [
        "".join(t.itertext()) for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")
    ]


def test_svg_is_safe_to_inline_under_a_strict_csp() -> None:
    for svg in report_charts(month_report("en")).values():
        root = ET.fromstring(svg)  # well-formed, names escaped
        assert "<script" not in svg.lower() and "<style" not in svg and "style=" not in svg
        attributes = [name for el in root.iter() for name in el.attrib]
        assert not [a for a in attributes if a.lower().startswith("on")]
        assert not re.search(r"javascript:|<foreignObject|<\?xml|<!DOCTYPE", svg)
        assert root.find("{http://www.w3.org/2000/svg}title") is not None
    fleet = report_charts(month_report("en"))["fleet"]
    assert "Tier <&> $x$" in texts(fleet)  # a name is text, never markup nor a formula


def test_french_labels_numbers_and_dates() -> None:
    fr = report_charts(month_report("fr"))
    labels = texts(fr["fleet"]) + texts(fr["comparison"])
    assert "Flotte déployée moyenne par jour" in labels and "véhicules" in labels
    assert "1\u202f000" in labels  # thousands with a narrow no-break space
    assert "1\u202f180,2" in labels or "1\u202f180,25" in labels  # decimal comma (bar value)
    assert "01/11" in labels and "2026-11-01" not in fr["fleet"]  # dd/mm
    assert "Moyenne, 95e centile et maximum" in labels
    en = texts(report_charts(month_report("en"))["fleet"])
    assert "1,000" in en and "1 Nov" in en and "Mean deployed fleet per day" in en
    assert number(1234.5, "fr") == "1\u202f234,5" and number(0.25, "en") == "0.25"


def test_time_axis_is_thinned() -> None:
    fleet = texts(report_charts(month_report("fr"))["fleet"])
    shown = [t for t in fleet if re.fullmatch(r"\d\d/11", t)]
    assert 5 <= len(shown) <= 12  # 30 days, at most 12 labels: none overlap


def test_cap_line_and_flags() -> None:
    fr = report_charts(month_report("fr"))["fleet"]
    labels = texts(fr)
    assert "Plafond du permis Voi : 525" in labels
    assert "Voi : maximum au-dessus du plafond" in labels  # the flagged points' legend
    comparison = texts(report_charts(month_report("fr"))["comparison"])
    assert "plafond du permis" in comparison  # the cap line's legend
    voi = comparison.index("Voi")
    assert comparison[voi + 1] == "plafond 525"  # Voi's cap, under its name
    assert sum("525" in t for t in comparison) == 1  # Tier has none
    report = month_report("en")
    report["sections"]["fleet"]["daily"] = [
        {**d, "deployed_max": 500} for d in report["sections"]["fleet"]["daily"]
    ]
    below = texts(report_charts(report)["fleet"])
    assert "Voi permit cap: 525" in below and not any("above the cap" in t for t in below)


def test_deterministic_and_printable() -> None:
    assert report_charts(month_report("fr")) == report_charts(month_report("fr"))
    png = report_chart_images(month_report("fr"), dpi=200)["fleet"]
    assert png == report_chart_images(month_report("fr"), dpi=200)["fleet"]
    width, height = Image.open(io.BytesIO(png)).size
    assert width >= 1300 and height >= 650  # 6.6 x 3.3 in at 200 dpi


def test_cap_from_the_stored_permit(engine: Engine, aggregated: Ids) -> None:
    """End to end: alpha's permit caps it at 3; alpha deploys 4 from 20:00Z to 21:00Z."""
    with Session(engine) as s, s.begin():
        import_permit(s, PERMIT, default_tolerance_m=10, source="test")
    query = ReportQuery(parse_period("2026-10-06", "Europe/Paris"), lang="fr", operator="alpha")
    report = run_report(engine, SETTINGS, query, visible=None, now=NOW)
    assert report["sections"]["fleet"]["caps"] == {"alpha": {"2026-10-06": 3}}
    labels = texts(report_charts(report)["fleet"])
    assert any(t.startswith("Plafond du permis") and t.endswith(": 3") for t in labels)
    assert any("maximum au-dessus du plafond" in t for t in labels)
    assert "06/10" in labels and "04 h" in labels and "20 h" in labels  # local hours, thinned
    zoned = ReportQuery(
        parse_period("2026-10-06", "Europe/Paris"), lang="fr", operator="alpha", zone="east"
    )
    in_zone = run_report(engine, SETTINGS, zoned, visible=None, now=NOW)
    assert in_zone["sections"]["fleet"]["caps"] == {}  # a city-wide cap: no line on a zone


def test_pdf_statistics_report_with_charts_renders(
    engine: Engine, aggregated: Ids, tmp_path: Path
) -> None:
    """The statistics report prints the page's charts (SVG, drawn by WeasyPrint: their
    texts are text in the PDF), the cap line and its flag; every page renders and
    none is blank; page one says the cap was exceeded. FLEET_SCREENSHOTS keeps the
    pages to look at."""
    with Session(engine) as s, s.begin():
        import_permit(s, PERMIT, default_tolerance_m=10, source="test")
    query = ReportQuery(parse_period("2026-10-06", "Europe/Paris"), lang="fr")
    pdf = make_export(engine, SETTINGS, query, "pdf", visible=None, now=NOW).content
    out = Path(os.environ.get("FLEET_SCREENSHOTS", tmp_path))
    pages = pdf_pages(pdf, out, "stats-report")
    assert 3 <= len(pages) <= 8
    text = " ".join(pdf_text(pdf, tmp_path).replace("\u202f", " ").split())
    first = text[: text.index("Flotte déployée par heure")]  # page one, before the charts
    assert "alpha : jusqu’à 4 véhicules pour un plafond de 3" in first
    assert "Au-dessus du plafond : alpha" in first
    for title in (
        "Flotte déployée par heure (moyenne)",
        "Moyenne, 95e centile et maximum",
        "Part stationnée depuis plus de 1, 3, 7, 14 jours",
        "Infractions ouvertes par règle",
        "Lectures réussies du flux des véhicules",
    ):
        assert title in text, title
    assert "plafond du permis" in text  # the cap across alpha's bars (the comparison)


def test_long_and_hostile_names_fit() -> None:
    """A feed's name may be anything: one line, cut to fit, the layout still holds
    (warnings are errors in the tests)."""
    report = month_report("en")
    hostile = "<svg/onload=alert(1)>\n\u2028" + "Trottinettes Électriques " * 20
    for row in report["sections"]["fleet"]["rows"] + report["sections"]["fleet"]["daily"]:
        if row["operator"] == "tier":
            row["operator_name"] = hostile
    charts = report_charts(report)
    labels = texts(charts["fleet"]) + texts(charts["comparison"])
    assert "<svg/onload=alert(1)> Tro\u2026" in labels  # one line, 26 characters
    assert all(len(t) <= 40 for t in labels)
    assert "<svg/onload" not in charts["fleet"]  # escaped
    report_chart_images(report, dpi=100)


@pytest.mark.parametrize("kind", ["bar", "barh"])
def test_no_label_overlaps_another_on_a_capped_bar_chart(kind: str) -> None:
    """Caps close to the bars' values: the bars' value labels and the caps (under
    the operators' names) never touch (the cap's number once sat on the next bar's)."""
    chart = Chart(
        "Comparaison",
        ["Voi", "Tier", "Dott", "Lime"],
        [
            Series("moyenne", [480.5, 510, 300, 520], PALETTE[0]),
            Series("p95", [520, 530, 320, 527], PALETTE[4]),
            Series("max", [534, 545, 330, 531], PALETTE[1]),
        ],
        "véhicules",
        "fr",
        integer=True,
        caps=[525, 540, None, 525],
        cap_label="plafond du permis",
        cap_tick="plafond {cap}",
    )
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = _figure(chart, kind)
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    [ax] = fig.axes
    ticks = ax.get_yticklabels() if kind == "barh" else ax.get_xticklabels()
    texts_on_chart = [t for t in [*ax.texts, *ticks] if t.get_text()]
    assert len(texts_on_chart) == 12 + 4  # 12 bar values, 4 operators
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts_on_chart]
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1 :]:
            assert not box_a.padded(1.5).overlaps(box_b), (a, b)  # not even touching


def _fleet_chart(value: float) -> Chart:
    return Chart(
        "Flotte",
        ["août", "sept."],
        [Series("Voi", [520.0, value])],
        lang="fr",
        integer=True,
    )


def test_the_same_chart_is_drawn_once_and_a_changed_one_again() -> None:
    from fleet_monitor.stats.chart_render import SvgCache, draw_svg

    cache = SvgCache(entries=2)
    first = cache.get_or_draw(_fleet_chart(534), "line")
    assert first == draw_svg(_fleet_chart(534), "line")  # the cache adds nothing
    assert cache.get_or_draw(_fleet_chart(534), "line") is first  # not drawn again
    changed = cache.get_or_draw(_fleet_chart(541), "line")
    assert changed != first and "541" in changed
    assert cache.get_or_draw(_fleet_chart(534), "bar") != first  # the kind is in the key
    assert len(cache) == 2  # bounded: the oldest left
    again = cache.get_or_draw(_fleet_chart(534), "line")
    assert again == first and again is not first  # drawn again, same bytes
