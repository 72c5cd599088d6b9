"""The negotiation pack over two months of history (tests/pack/scenario.py): the
scorecard's statuses, the trends' limit line, the H3 cells, the PDF's pages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import h3
import pytest
from sqlalchemy import Engine

from fleet_monitor.pack.document import PackQuery, build_pack, render_pdf_bytes
from fleet_monitor.pack.hexgrid import build_hexgrid
from fleet_monitor.settings import CitySettings, Settings
from fleet_monitor.stats.periods import parse_period
from tests.notices.pdfcheck import pdf_image_pages, pdf_pages, pdf_text, tiny_png
from tests.pack import scenario

SETTINGS = Settings(city=CitySettings(name="Annecy"))
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}(T|\s\d{2}:)")


def pack(engine: Engine, period: str = "2026-08..2026-09", operator: str | None = None) -> Any:
    query = PackQuery(parse_period(period, "Europe/Paris"), operator)
    return build_pack(engine, SETTINGS, query, now=scenario.NOW)


def row(context: dict[str, Any], slug: str, key: str) -> Any:
    card = next(c for c in context["scorecards"] if c.slug == slug)
    return next(r for r in card.rows if r.key == key)


def test_scorecard_statuses(pack_db: tuple[str, Engine, scenario.World]) -> None:
    _url, engine, _world = pack_db
    context = pack(engine)
    fleet = row(context, "alpha", "fleet_cap")
    assert fleet.status == "depasse" and fleet.status_label == "dépassé"
    assert fleet.limit == "13 véhicules"
    assert "maximum journalier 15 (le 10/08/2026)" in fleet.measured
    assert "au-dessus du plafond 3 j sur 61" in fleet.measured
    assert row(context, "beta", "fleet_cap").status == "respecte"
    zones = row(context, "alpha", "zone_cap")  # the statistics' samples in the zone
    assert (zones.status, zones.limit) == ("depasse", "Annecy : 14")
    assert zones.measured == (
        "Annecy : maximum journalier 15, au-dessus du plafond 3 j sur 61 ; aucun constat"
    )
    assert row(context, "beta", "zone_cap").status == "non_prevu"
    idle = row(context, "alpha", "idle_too_long")
    assert (idle.status, idle.article, idle.limit) == ("depasse", "Article 8.1", "24\u00a0h")
    assert idle.measured == "3 constats (+ 1 incertain)"  # the uncertain one never counts
    assert row(context, "beta", "idle_too_long").status == "respecte"
    assert row(context, "beta", "in_water").status == "depasse"
    assert row(context, "beta", "in_water").article == "Article 7.3"
    availability = row(context, "beta", "monthly_availability")
    assert availability.status == "depasse"  # 12 h of outage in September: 98,33 %
    assert "98,33\u00a0% (septembre 2026)" in availability.measured
    assert row(context, "alpha", "monthly_availability").status == "respecte"
    notices = row(context, "alpha", "notices")
    assert notices.status == "depasse"  # one deadline of two missed
    assert "2 avis ; délais tenus 1 sur 2 ; réponse médiane 1\u00a0h" in notices.measured
    assert row(context, "beta", "notices").status == "sans_donnees"  # no notice issued
    disputes = row(context, "alpha", "disputes")
    assert disputes.status == "information"
    assert disputes.measured == (
        "taux de contestation 33,3\u00a0% (1 sur 3 véhicules) ;"
        " acceptées par la ville 100\u00a0% (1 sur 1)"
    )
    assert row(context, "beta", "disputes").status == "sans_donnees"
    # one operator only
    only = pack(engine, "2026-Q3", "beta")
    assert [c.slug for c in only["scorecards"]] == ["beta"]
    assert row(only, "beta", "fleet_cap").status == "respecte"


def test_summary_sentences_and_cards(pack_db: tuple[str, Engine, scenario.World]) -> None:
    _url, engine, _world = pack_db
    context = pack(engine)
    summary = context["summary"]
    assert 4 <= len(summary) <= 6
    assert (
        "Alpha Vélos a dépassé son plafond de 13 véhicules 3 jours sur 61"
        " (maximum 15 le 10/08/2026)." in summary
    )
    assert any("Beta Trott a été disponible moins" in s for s in summary)
    assert summary[0] == (
        "Période : août à septembre 2026 (61 jours) ; opérateurs suivis : Alpha Vélos,"
        " Beta Trott ; 99,2\u00a0% des relevés de flotte (toutes les 5 minutes) disponibles,"
        " 61 jours calculés sur 61."
    )
    assert "Beta Trott (plafond 20, maximum 8) est resté sous son plafond" in summary[2]
    cards = {k["label"]: k for k in context["kpis"]}
    assert cards["infractions confirmées"]["value"] == "4"
    days_over = next(k for k in context["kpis"] if k["label"].startswith("jours au-dessus"))
    assert days_over["value"] == "3" and days_over["flag"]


def test_trends_draw_the_permit_limit(pack_db: tuple[str, Engine, scenario.World]) -> None:
    _url, engine, _world = pack_db
    trends = pack(engine)["trends"]
    alpha_chart, beta_chart = trends["monthly_charts"]
    for svg in (alpha_chart, beta_chart):
        assert "plafond du permis" in svg and "<script" not in svg and "style=" not in svg
        assert "oct. 2025" in svg and "juil. 2026" in svg  # twelve months (ticks thinned)
    assert "maximum au-dessus du plafond" in alpha_chart  # August over the cap, flagged
    assert "maximum au-dessus du plafond" not in beta_chart
    quarters = [r for r in trends["quarterly_table"] if not r["empty"]]
    alpha_q3 = next(r for r in quarters if r["operator"] == "Alpha Vélos")
    assert (alpha_q3["bucket"], alpha_q3["max"], alpha_q3["cap"]) == (
        "3e trimestre 2026",
        "15",
        "13",
    )
    assert alpha_q3["over"] and alpha_q3["days_over"] == "3"
    assert all("plafond du permis" in svg for svg in trends["quarterly_charts"])


def test_h3_cells_count_the_positions(pack_db: tuple[str, Engine, scenario.World]) -> None:
    _url, engine, world = pack_db
    period = parse_period("2026-08..2026-09", "Europe/Paris")
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cur:
            grid = build_hexgrid(cur, period, [(world.alpha, "alpha"), (world.beta, "beta")])
    finally:
        raw.close()
    # every vehicle is parked at the 03:30 sample on each of the 61 days: alpha's 12,
    # beta's 8 (August places, then September places); alpha's extra vehicles are out
    # only by day
    assert (grid.samples, grid.sample_days) == (2 * 61, 61)
    assert grid.positions == (scenario.ALPHA_BASE + scenario.BETA_N) * 61
    expected: dict[str, float] = {}
    for _slug, lat, lon in world.positions:  # long stays: present every sampled day
        cell = h3.latlng_to_cell(lat, lon, 9)
        expected[cell] = expected.get(cell, 0.0) + (1.0 if _slug == "alpha" else 31 / 61)
    assert set(expected) <= set(grid.density)
    assert sum(grid.density.values()) == pytest.approx(scenario.ALPHA_BASE + scenario.BETA_N)
    for cell, value in expected.items():
        if cell in grid.density and value >= 1.0:
            assert grid.density[cell] >= value - 1e-9
    assert grid.violation_points == 4  # 3 idle findings + 1 in the lake, the uncertain left out
    assert sum(grid.violations.values()) == 4
    lake = h3.latlng_to_cell(*scenario.LAKE_POINT, 9)
    assert grid.violations[lake] == 1
    assert {name for name, _g in grid.layers.water} >= {"Lac d'Annecy"}
    assert len(grid.layers.districts) == 6


def _grid(cur: Any, world: scenario.World, resolution: int = 9) -> Any:
    period = parse_period("2026-08..2026-09", "Europe/Paris")
    return build_hexgrid(cur, period, [(world.alpha, "alpha"), (world.beta, "beta")], resolution)


def test_the_day_job_counts_the_sample_per_cell(
    pack_db: tuple[str, Engine, scenario.World],
) -> None:
    """One day's rows of ``stats_parked_cell_day``: alpha's long stays, cell by cell."""
    _url, engine, world = pack_db
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cur:
            cur.execute(
                "SELECT cell, vehicles FROM stats_parked_cell_day"
                " WHERE day = '2026-08-11' AND operator_id = %s",
                (world.alpha,),
            )
            stored = {h3.int_to_str(c): n for c, n in cur.fetchall()}
    finally:
        raw.close()
    expected: dict[str, int] = {}
    for slug, lat, lon in world.positions:
        if slug == "alpha":  # the extra vehicles are out only by day, not at 03:30
            cell = h3.latlng_to_cell(lat, lon, 9)
            expected[cell] = expected.get(cell, 0) + 1
    assert stored == expected


def test_density_outlives_the_positions_and_coarsens(
    pack_db: tuple[str, Engine, scenario.World],
) -> None:
    """The map reads the day job's counts, not the stays: erasing every position (what
    the data-protection job may do to old ones) changes nothing; a coarser grid adds
    the children up."""
    _url, engine, world = pack_db
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cur:
            before = _grid(cur, world)
            cur.execute("UPDATE dwell SET geom = NULL")
            assert cur.rowcount > 0
            after = _grid(cur, world)
            coarse = _grid(cur, world, 7)
            with pytest.raises(ValueError, match="at most"):
                _grid(cur, world, 10)
        raw.driver_connection.rollback()
    finally:
        raw.close()
    assert before.positions > 0 and after.density == before.density
    assert after.positions == before.positions
    parents: dict[str, float] = {}
    for cell, value in before.density.items():
        parent = h3.cell_to_parent(cell, 7)
        parents[parent] = parents.get(parent, 0.0) + value
    assert coarse.density == pytest.approx(parents)
    assert all(h3.get_resolution(c) == 7 for c in coarse.density)


def test_pdf_pages_summary_first(
    pack_db: tuple[str, Engine, scenario.World], tmp_path: Path
) -> None:
    _url, engine, _world = pack_db
    context = pack(engine)
    pdf = render_pdf_bytes(context, created=scenario.NOW)
    assert pdf == render_pdf_bytes(context, created=scenario.NOW)  # deterministic
    pages = pdf_pages(pdf, tmp_path)  # every page shows something
    # cover, 2 scorecards, monthly trends, quarterly trends, 2 maps, methods
    assert len(pages) == 8
    text = pdf_text(pdf, tmp_path)
    first = text.split("\f")[0]
    flat = " ".join(first.split())
    assert "Dossier de négociation des permis – août à septembre 2026" in flat
    assert "Synthèse" in flat
    assert "Alpha Vélos a dépassé son plafond de 13 véhicules 3 jours sur 61" in flat
    assert "· 1/8" in flat
    everything = " ".join(text.split())
    assert "Tableau de conformité – Beta Trott" in everything
    assert "Où stationnent les véhicules" in everything
    assert not ISO_TIME.search(text), ISO_TIME.search(text)
    # the maps: the city's own layers, a legend and a scale in metres, no tiles
    density = context["hexgrid"]["density_map"]
    for label in ("Lac d'Annecy", "Annecy-le-Vieux", "véhicules stationnés (moyenne", "1 km"):
        assert f"{label}" in density, label
    assert "http" not in density.replace("http://www.w3.org", "")
    assert "constats ouverts dans la période" in context["hexgrid"]["violations_map"]
    for debug in (r"\bNone\b", r"\bnan\b", r"\{\{", r"operator = \*", "Traceback"):
        assert not re.search(debug, text), debug
    # the city's logo on the cover, in the PDF only (the page never links a server file)
    assert 1 not in pdf_image_pages(pdf, tmp_path)  # (the maps on pages 6-7 hold images)
    (tmp_path / "logo").mkdir()
    logo = tiny_png(tmp_path / "logo" / "logo.png")
    with_logo = render_pdf_bytes({**context, "logo_path": str(logo)}, created=scenario.NOW)
    assert pdf_image_pages(with_logo, tmp_path).count(1) == 1
