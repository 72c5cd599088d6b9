"""Pure parts: periods, percentiles, charts, CSV of declared fleets, coverage masks."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date

import numpy as np
import pytest

from fleet_monitor.history.stays import VehicleFeed
from fleet_monitor.stats.chart_render import Chart, Series, render_svg
from fleet_monitor.stats.dayfleet import nearest_rank, observed_mask
from fleet_monitor.stats.declared import parse_csv
from fleet_monitor.stats.periods import PeriodError, parse_period

TZ = "Europe/Paris"


def test_periods() -> None:
    day = parse_period("2026-10-06", TZ)
    assert (day.kind, day.first, day.end) == ("day", date(2026, 10, 6), date(2026, 10, 7))
    assert day.as_dict()["start"] == "2026-10-06T00:00:00+02:00"
    week = parse_period("2026-W41", TZ)
    assert (week.first, week.n_days) == (date(2026, 10, 5), 7)
    october = parse_period("2026-10", TZ)
    # summer time ends on 25 October: the local month has 745 hours
    hours = (october.stop.astimezone(UTC) - october.start.astimezone(UTC)).total_seconds() / 3600
    assert hours == 745
    assert october.as_dict()["end"] == "2026-11-01T00:00:00+01:00"
    assert parse_period("2026", TZ).n_days == 365
    custom = parse_period("2026-10-01..2026-10-15", TZ)
    assert (custom.kind, custom.n_days, custom.last) == ("custom", 15, date(2026, 10, 15))
    for bad in ("", "2026-13", "2026-W60", "2026-10-15..2026-10-01", "last month", "2026-02-30"):
        with pytest.raises(PeriodError):
            parse_period(bad, TZ)


def test_nearest_rank() -> None:
    values = np.sort(np.asarray([1] * 72 + [2] * 204 + [3] * 12, dtype=float))
    assert nearest_rank(values, 0.95) == 2  # rank 274 of 288
    assert nearest_rank(np.asarray([5.0]), 0.95) == 5
    assert nearest_rank(np.asarray([]), 0.5) is None
    assert nearest_rank(np.asarray([1.0, 2.0, 3.0, 4.0]), 0.5) == 2


def test_observed_mask() -> None:
    times = np.arange(0, 3600, 300, dtype=float)  # 12 samples
    feed = VehicleFeed(1, 1, "x", True, first_ok=600.0, last_fetch=None)
    fetches = np.arange(600, 3600, 60, dtype=float)
    expected, observed = observed_mask(times, feed, fetches, [(1200.0, 1800.0)], 600.0)
    assert expected.tolist() == [False, False] + [True] * 10
    assert observed.tolist() == [False, False, True, True] + [False] * 2 + [True] * 6


def test_charts_are_well_formed_and_escaped() -> None:
    chart = Chart("Flotte <déployée> & co", ["a", "b", "c"], unit="véh.")
    chart.series = [Series("Vélo & <co>", [1.0, None, 3.5]), Series("x", [2.0, 2.0, 0.0])]
    for svg in (render_svg(chart, "line"), render_svg(chart, "bar"), render_svg(chart, "barh")):
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg")
        assert "Vélo & <co>" in "".join(root.itertext())
        assert "<script" not in svg and "style=" not in svg
    empty = render_svg(Chart("Rien", [], []), "line")
    ET.fromstring(empty)


def test_declared_csv() -> None:
    ops = {"trotti": 1, "velomax": 2}
    text = (
        "\ufeffOperator;Period;Declared;Form_factor\n"
        "trotti;2026-10;400;scooter_standing\nvelomax;2026-W41;600;\n"
    )
    result = parse_csv(text, ops, TZ)
    assert result.errors == []
    assert [(d.slug, d.form_factor, d.declared) for d in result.stored] == [
        ("trotti", "scooter_standing", 400),
        ("velomax", "*", 600),
    ]
    bad = parse_csv("operator,period,declared\ntrotti,2026-10,-3\nnobody,2026-10,3\n", ops, TZ)
    assert len(bad.errors) == 2 and bad.errors[0].startswith("line 2")
    scoped = parse_csv("operator,period,declared\nvelomax,2026-10,3\n", ops, TZ, frozenset({1}))
    assert scoped.errors == ["line 2: unknown operator 'velomax'"]
    assert parse_csv("who,what\n", ops, TZ).errors[0].startswith("line 1: missing column")
