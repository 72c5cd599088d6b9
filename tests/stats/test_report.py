"""The report's figures on the controlled history equal hand-computed values."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from fleet_monitor.stats.methods import MethodParams
from fleet_monitor.stats.periods import parse_period
from fleet_monitor.stats.report import ReportQuery, build_report
from tests.stats import scenario
from tests.stats.history import History, utc
from tests.stats.scenario import Ids

PARAMS = MethodParams()
NOW = utc(2026, 10, 20, 12)


def report(
    engine: Engine,
    period: str = "2026-10-06",
    visible: frozenset[int] | None = None,
    lang: str = "en",
    **kw: Any,
) -> dict[str, Any]:
    query = ReportQuery(parse_period(period, "Europe/Paris"), lang=lang, **kw)
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cur:
            return build_report(cur, query, visible=visible, params=PARAMS, now=NOW)
    finally:
        raw.close()


def by_op(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["operator"]: r for r in rows}


def test_fleet_figures(engine: Engine, aggregated: Ids) -> None:
    rep = report(engine)
    fleet = by_op(rep["sections"]["fleet"]["rows"])
    alpha, beta = fleet["alpha"], fleet["beta"]
    assert alpha["deployed_avg"] == pytest.approx(scenario.ALPHA_AVG, abs=1e-4)
    assert alpha["deployed_max"] == scenario.ALPHA_MAX
    assert alpha["deployed_p95"] == scenario.ALPHA_P95
    assert alpha["disabled_avg"] == pytest.approx(scenario.ALPHA_DISABLED_AVG, abs=1e-4)
    assert alpha["available_avg"] == pytest.approx(
        scenario.ALPHA_AVG - scenario.ALPHA_DISABLED_AVG, abs=1e-4
    )
    # on the hour: 6 hours at 2, 16 at 3 (20:00Z is on the hour: 4), 21:00Z: 3
    assert alpha["hourly_snapshot_avg"] == pytest.approx((6 * 2 + 16 * 3 + 4 + 3) / 24, abs=1e-4)
    assert alpha["samples_expected"] == alpha["samples_observed"] == 288
    assert alpha["coverage"] == 1.0
    assert beta["deployed_avg"] == pytest.approx(scenario.BETA_AVG, abs=1e-4)
    assert (beta["deployed_max"], beta["deployed_p95"]) == (scenario.BETA_MAX, scenario.BETA_P95)
    assert beta["coverage"] == pytest.approx(264 / 288, abs=1e-4)
    assert fleet["*"]["samples_observed"] == 264
    cov = rep["sections"]["fleet"]["coverage"]
    assert cov["statement"] == "264 of 288 5-minute samples observed (91.7 %)"
    hourly = rep["sections"]["fleet"]["hourly"]
    assert len(hourly) == 24 and hourly[0]["hour"] == "2026-10-06T00:00:00+02:00"
    assert rep["period"]["start"] == "2026-10-06T00:00:00+02:00"


def test_filters_by_zone_and_form_factor(engine: Engine, aggregated: Ids) -> None:
    east = by_op(report(engine, zone="east")["sections"]["fleet"]["rows"])
    assert east["alpha"]["deployed_avg"] == pytest.approx(84 / 288, abs=1e-4)
    assert east["alpha"]["deployed_max"] == 1
    scooters = by_op(report(engine, form_factor="scooter_standing")["sections"]["fleet"]["rows"])
    assert scooters["alpha"]["deployed_avg"] == 0
    assert scooters["beta"]["deployed_avg"] == pytest.approx(scenario.BETA_AVG, abs=1e-4)


def test_idle_use_violations_feeds(engine: Engine, aggregated: Ids) -> None:
    sections = report(engine)["sections"]
    idle = by_op(sections["idle"]["rows"])
    assert idle["alpha"]["over_1d"] == 1.0 and idle["alpha"]["over_7d"] == 0.5
    assert idle["alpha"]["over_14d"] == 0.0 and idle["alpha"]["median_h"] == 121.5
    assert idle["beta"]["over_14d"] == 1.0 and idle["beta"]["lower_bounds"] == 1
    assert idle["*"]["vehicles_avg"] == 3
    use = by_op(sections["use"]["rows"])
    assert use["alpha"]["departures"] == 2
    assert use["alpha"]["departures_per_vehicle_day"] == pytest.approx(
        2 / scenario.ALPHA_AVG, abs=1e-4
    )
    assert use["gamma"]["excluded_unconfirmed"] == 2 and use["gamma"]["id_policy"] == "persistent"
    assert "20 %" in sections["use"]["method"]
    viol = by_op(sections["violations"]["rows"])
    assert viol["alpha"] == {
        "operator": "alpha",
        "operator_name": "alpha",
        "opened": 3,
        "uncertain": 1,
        "closed": 1,
        "mean_hours_to_close": 3.0,
    }
    assert viol["*"]["opened"] == 4
    feeds = by_op(sections["feeds"]["rows"])
    assert feeds["beta"]["success_share"] == pytest.approx(1320 / 1440, abs=1e-4)
    assert feeds["beta"]["outage_minutes"] == 120.0
    assert feeds["alpha"]["invalid_share"] == pytest.approx(1 / 11, abs=1e-4)
    assert feeds["beta"]["schema_findings"] == 1200


def test_zones_density(engine: Engine, aggregated: Ids) -> None:
    zones = {z["zone_id"]: z for z in report(engine)["sections"]["zones"]["rows"]}
    assert set(zones) == {"east", "west"}
    # all operators, observed samples (264): alpha's West count is 2 then 3 from 10:00Z
    assert zones["west"]["area_km2"] == pytest.approx(0.776 * 2.2235, rel=0.01)
    assert zones["west"]["violations_opened"] == 2 and zones["east"]["violations_opened"] == 1


def test_operator_sees_only_its_own_figures(engine: Engine, aggregated: Ids) -> None:
    rep = report(engine, visible=frozenset({aggregated.beta}))
    for name in ("fleet", "idle", "use", "violations", "feeds"):
        assert {r["operator"] for r in rep["sections"][name]["rows"]} == {"beta"}, name
    assert [o["slug"] for o in rep["operators"]] == ["beta"]
    # asking for another operator gives nothing
    other = report(engine, visible=frozenset({aggregated.beta}), operator="alpha")
    assert other["sections"]["fleet"]["rows"] == []


def test_declared_fleet_against_observed(engine: Engine, aggregated: Ids, history: History) -> None:
    history.sql(
        "INSERT INTO declared_fleet (operator_id, form_factor, period_start, period_end,"
        " declared, source) VALUES (%s, '*', %s, %s, 4, 'cli')",
        (aggregated.alpha, date(2026, 10, 1), date(2026, 11, 1)),
    )
    (row,) = report(engine, "2026-10")["sections"]["declared"]["rows"]
    assert row["declared"] == 4 and row["observed_max"] == 4
    assert row["ratio"] == pytest.approx(scenario.ALPHA_AVG / 4, abs=1e-4)
    assert row["period_last_day"] == "2026-10-31"


def test_french_texts_and_missing_days(engine: Engine, aggregated: Ids) -> None:
    rep = report(engine, "2026-10", lang="fr")
    assert rep["aggregation"]["aggregated"] == 1 and len(rep["aggregation"]["missing_days"]) == 30
    assert rep["aggregation"]["statement"] == "jours agrégés : 1 sur 31"
    assert "Flotte déployée" in rep["methodology"]["fleet"]
    assert rep["sections"]["fleet"]["title"] == "Flotte déployée"
    assert rep["sections"]["notices"]["available"] in (True, False)


def test_notices_response_times_and_overdue_share(
    engine: Engine, aggregated: Ids, history: History
) -> None:
    """Read from the notices tables when installed (detected at run time)."""
    if not history.sql("SELECT to_regclass('notice') IS NOT NULL")[0][0]:
        pytest.skip("the notices tables are not installed")
    sent = utc(2026, 10, 6, 8)
    for i, (response, after_h, outcome, deadline_h) in enumerate(
        (
            ("acknowledged", 2, "remedied", 12),
            ("disputed", 10, "overdue", 12),
            (None, None, None, 12),  # no response, deadline passed by NOW
        )
    ):
        history.sql(
            "INSERT INTO notice (operator_id, operator_slug, urgent, batch_key, status,"
            " permit_version, created_at, created_by, issued_at, sent_at, deadline_at,"
            " response, responded_at, outcome) VALUES (%(op)s, 'alpha', false, %(k)s,"
            " 'issued', 1, %(at)s, 'test', %(at)s, %(at)s, %(dl)s, %(r)s, %(ra)s, %(o)s)",
            {
                "op": aggregated.alpha,
                "k": f"b{i}",
                "at": sent,
                "dl": sent + timedelta(hours=deadline_h),
                "r": response,
                "ra": None if after_h is None else sent + timedelta(hours=after_h),
                "o": outcome,
            },
        )
    section = report(engine)["sections"]["notices"]
    assert section["available"] is True
    alpha = by_op(section["rows"])["alpha"]
    assert (alpha["issued"], alpha["acknowledged"], alpha["disputed"]) == (3, 1, 1)
    assert (alpha["response_median_h"], alpha["response_p90_h"]) == (2.0, 10.0)
    assert (alpha["with_outcome"], alpha["overdue"], alpha["overdue_share"]) == (2, 1, 0.5)
    assert alpha["past_deadline_without_outcome"] == 1
    assert by_op(section["rows"])["beta"]["issued"] == 0
