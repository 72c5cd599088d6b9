"""Violation marks and the API's clock and data health.

Contrast is computed with WCAG 2.1's formula (SC 1.4.11, 3:1 for graphics):
each rule's outline against every map background and against the white halo
and inside that separate it from any operator's colour; shapes tell rules apart
without colour. ``/api/vehicles`` computes "parked at least N days" and data
ages on the service's clock (``FLEET_CLOCK``) and reports outages per operator.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import Engine, text

from fleet_monitor.web import create_app
from fleet_monitor.web.map_marks import (
    HALO,
    MAP_BACKGROUNDS,
    PARKED_CLASSES,
    SHAPES,
    contrast_ratio,
    vehicle_rule_marks,
)
from tests.web.conftest import T0, Fleet, make_settings, signed_in, vehicles

MINIMUM = 3.0


def test_contrast_formula_matches_wcag() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    # the complaints, measured the same way: orange ring on an orange operator
    assert contrast_ratio("#ff7f00", "#E69F00") < MINIMUM
    assert contrast_ratio("#d4a600", "#e4e8ec") < MINIMUM


RULE_MARKS = vehicle_rule_marks()


@pytest.mark.parametrize("rule", sorted(RULE_MARKS))
def test_violation_outline_contrasts_with_map_halo_and_operators(rule: str) -> None:
    outline, _shape = RULE_MARKS[rule]
    for name, background in MAP_BACKGROUNDS.items():
        assert contrast_ratio(outline, background) >= MINIMUM, (rule, name)
    # the outline's neighbours are the halo (outside) and the white inside: never an
    # operator's colour, whose dot sits in the middle, separated by white (map-shapes.js;
    # test_map_tablet.py checks the drawn marker's dot is the operator's colour)
    assert contrast_ratio(outline, HALO) >= MINIMUM


def test_every_vehicle_rule_has_its_own_shape() -> None:
    assert set(RULE_MARKS) == set(SHAPES)  # every vehicle rule of the registry has one
    shapes = [shape for _colour, shape in RULE_MARKS.values()]
    assert len(set(shapes)) == len(shapes)
    assert "circle" not in shapes  # a plain dot is a vehicle without violation


def test_parked_classes_are_ordered_and_distinct() -> None:
    days = [c["min_days"] for c in PARKED_CLASSES]
    assert days == sorted(days) and days[0] == 0
    colours = [str(c["colour"]) for c in PARKED_CLASSES]
    for a, b in itertools.pairwise(colours):
        assert contrast_ratio(a, b) >= 1.4  # neighbouring classes tell apart


def app_at(db_url: str, engine: Engine, now_offset: timedelta) -> Flask:
    app = create_app(
        make_settings(db_url), engine=engine, config={"FLEET_CLOCK": lambda: T0 + now_offset}
    )
    app.testing = True
    return app


def test_api_durations_and_health_use_the_service_clock(db_url: str, engine: Engine) -> None:
    lac = Fleet(engine, "velo-lac", "Vélo Lac")
    lac.poll(vehicles(3, "L"), T0)
    trott = Fleet(engine, "trott", "Trott")
    trott.poll(vehicles(2, "T", lon=6.14), T0)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO outage (feed_id, kind, started_at) VALUES (:f, 'http_error', :at)"),
            {"f": trott.feed_id, "at": T0 + timedelta(hours=1)},
        )
    # the wall clock is weeks after T0: with the service's clock 2 days after T0,
    # "at least 1 day" finds all, "at least 3 days" none
    client = signed_in(app_at(db_url, engine, timedelta(days=2)), engine, "o@x.example", "officer")
    one = client.get("/api/vehicles?min_parked_days=1").get_json()
    three = client.get("/api/vehicles?min_parked_days=3").get_json()
    assert len(one["features"]) == 5 and len(three["features"]) == 0
    assert one["now"] == "2026-11-04T08:00:00Z"
    assert one["operators"] == {
        "trott": {
            "data_at": "2026-11-02T08:00:00Z",
            "age_s": 2 * 86400,
            "outage_since": "2026-11-02T09:00:00Z",
        },
        "velo-lac": {"data_at": "2026-11-02T08:00:00Z", "age_s": 2 * 86400, "outage_since": None},
    }
    # the page's config carries the same clock
    page = client.get("/").get_data(as_text=True)
    assert '"now":"2026-11-04T08:00:00Z"' in page
    # an operator account sees only its own operator's health
    client2 = signed_in(
        app_at(db_url, engine, timedelta(days=2)), engine, "op@x.example", "operator", "velo-lac"
    )
    assert set(client2.get("/api/vehicles").get_json()["operators"]) == {"velo-lac"}
    narrowed = client.get("/api/vehicles?operator=trott").get_json()
    assert set(narrowed["operators"]) == {"trott"}
