"""A configuration can never halt the rules: bad permit values are refused where
they enter, and zones or permits the engine cannot use are skipped with an issue
while every other rule still produces its findings."""

from __future__ import annotations

import warnings
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest
from shapely.geometry import Polygon

import rules.prepare
from rules import (
    CountingMethod,
    CountSample,
    EvaluationInputs,
    PermitError,
    evaluate_checked,
    load_permit_toml,
    parse_duration,
    permit_problem,
    prepare_zones,
    zone_problem,
)
from rules.checks import check_permits
from tests.rules.helpers import NOW, line, permit, square, vehicle, zone

BASE = 'operator = "trotti"\nversion = 1\neffective_from = 2025-01-01\n'


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("gps_tolerance_m = nan", "gps_tolerance_m"),
        ("gps_tolerance_m = inf", "gps_tolerance_m"),
        ("gps_tolerance_m = 5000", "gps_tolerance_m"),
        ("[parking]\nshare_weight = nan", "parking.share_weight"),
        ("[penalties]\nidle_too_long = inf", "penalties.idle_too_long"),
        ("[penalties]\nidle_too_long = -3", "penalties.idle_too_long"),
        ("[penalties]\nidle_too_long = 1e12", "penalties.idle_too_long"),
        ("[fleet]\ncap = 99999999999", "fleet.cap"),
        ("[fleet]\ncap = inf", "fleet.cap"),
        ("[fleet]\ncap_by_form_factor = { scooter = -1 }", "fleet.cap_by_form_factor.scooter"),
        ('[zones]\ncaps = { "district:x" = 5000000 }', "zones.caps.district:x"),
        ('[zones]\ncaps = { "a|b" = 3 }', "zones.caps"),
        ('[time_limits]\nmax_idle = "1e400d"', "time_limits.max_idle"),
        ('[time_limits]\nmax_idle = "900d"', "time_limits.max_idle"),
        ('[counting]\nsample_interval = "1s"', "counting.sample_interval"),
        ('[counting]\nsample_interval = "10m"\nwindow = "5m"', "counting.window"),
        ("[data]\nmin_monthly_availability = nan", "data.min_monthly_availability"),
        ('[notices]\nday_deadline = "400d"', "notices.day_deadline"),
    ],
)
def test_permit_numbers_out_of_bounds_are_refused_naming_the_key(extra: str, key: str) -> None:
    with pytest.raises(PermitError) as err:
        load_permit_toml(BASE + extra)
    assert str(err.value).startswith(f"{key}:"), err.value


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('operator = "x|y"\nversion = 1\neffective_from = 2025-01-01\n', "operator"),
        ('operator = "x"\nversion = 99999999999\neffective_from = 2025-01-01\n', "version"),
        ('operator = "x"\nversion = 1\neffective_from = 0001-01-01\n', "effective_from"),
        ('operator = "x"\nversion = 1\neffective_from = 9999-12-31\n', "effective_from"),
    ],
)
def test_permit_names_and_dates_are_checked(text: str, key: str) -> None:
    with pytest.raises(PermitError, match=f"^{key}:"):
        load_permit_toml(text)


def test_durations_cannot_overflow() -> None:
    for text in ("1e400h", "99999999999999999999d", "P1e5D"):
        with pytest.raises(ValueError):
            parse_duration(text)
    assert parse_duration("5d") == timedelta(days=5)


def test_zone_problems_name_the_field() -> None:
    tram = line((0, 0), (200, 0))
    assert zone_problem(zone("tram:1", "tram_tracks", tram, buffer_m=-5.0)).startswith("buffer_m")
    assert zone_problem(zone("tram:1", "tram_tracks", tram, buffer_m=5000.0)).startswith("buffer_m")
    assert zone_problem(zone("tram:1", "tram_tracks", tram, buffer_m=float("nan")))
    assert zone_problem(zone("tram:1", "tram_tracks", tram, buffer_m=3.0)) is None
    assert zone_problem(zone("np:1", "no_parking", tram)).startswith("geometry: LineString")
    with warnings.catch_warnings():  # shapely warns when building it; it is the input here
        warnings.simplefilter("ignore", RuntimeWarning)
        nan = Polygon([(6.1, 45.9), (float("nan"), 45.9), (6.1, 45.91)])
    assert "finite" in zone_problem(zone("np:1", "no_parking", nan))
    far = Polygon([(600000, 45.9), (600001, 45.9), (600001, 45.91)])
    assert "WGS 84" in zone_problem(zone("np:1", "no_parking", far))
    assert zone_problem(zone("np|1", "no_parking", square(0, 0, 10, 10))).startswith("id")
    assert zone_problem(zone("pk:1", "mandatory_parking", square(0, 0, 10, 10), capacity=-1))


def test_a_zone_that_cannot_be_prepared_is_skipped_and_the_others_still_work() -> None:
    zones = [
        zone("no_parking:lawn", "no_parking", square(0, 0, 100, 100)),
        zone("tram:bad", "tram_tracks", line((0, 500), (300, 500)), buffer_m=-5.0),
        zone("tram:huge", "tram_tracks", line((0, 800), (300, 800)), buffer_m=5000.0),
        zone("tram:ok", "tram_tracks", line((0, 300), (300, 300)), buffer_m=3.0),
    ]
    prepared = prepare_zones(zones)
    assert prepared.city is not None
    assert prepared.city.ids == ["no_parking:lawn", "tram:ok"]
    assert {(i.subject, i.severity) for i in prepared.issues} == {
        ("tram:bad", "error"),
        ("tram:huge", "error"),
    }
    assert all(i.reason.startswith("buffer_m") for i in prepared.issues)
    snaps = [vehicle("a", 50, 50), vehicle("b", 100, 300), vehicle("c", 100, 800)]
    findings, issues = evaluate_checked(
        EvaluationInputs(snaps, [permit()], [], [], NOW, city=prepared.city)
    )
    found = {(str(f.rule_type), f.subject_key) for f in findings}
    assert ("in_no_parking_area", "a") in found
    assert ("on_tram_tracks", "b") in found  # uncertain: 3 m wide < twice the GPS tolerance
    assert ("on_tram_tracks", "c") not in found  # the 5 km "tram" was skipped, not applied
    assert issues == []


def test_a_line_that_vanishes_once_buffered_is_skipped() -> None:
    # [rules] line_half_width_m = 0: a tram line without its own buffer has no area
    zones = [
        zone("no_parking:lawn", "no_parking", square(0, 0, 100, 100)),
        zone("tram:1", "tram_tracks", line((0, 300), (300, 300))),
    ]
    prepared = prepare_zones(zones, line_half_width_m=0.0)
    assert prepared.city is not None and prepared.city.ids == ["no_parking:lawn"]
    (issue,) = prepared.issues
    assert issue.subject == "tram:1" and "nothing left" in issue.reason


def test_a_zone_the_preparation_chokes_on_is_found_and_skipped(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    real = rules.prepare.PreparedCity

    def choking(zones, **kw):  # type: ignore[no-untyped-def]
        if any(z.id == "water:poison" for z in zones):
            raise RuntimeError("GEOS choked")
        return real(zones, **kw)

    monkeypatch.setattr(rules.prepare, "PreparedCity", choking)
    zones = [
        zone("no_parking:lawn", "no_parking", square(0, 0, 100, 100)),
        zone("water:poison", "water", square(500, 500, 600, 600)),
    ]
    prepared = prepare_zones(zones)
    assert prepared.city is not None and prepared.city.ids == ["no_parking:lawn"]
    (issue,) = prepared.issues
    assert issue.subject == "water:poison" and "RuntimeError: GEOS choked" in issue.reason


def test_an_invalid_stored_geometry_is_repaired_with_a_warning() -> None:
    bowtie = Polygon([(6.13, 45.90), (6.131, 45.901), (6.131, 45.90), (6.13, 45.901)])
    prepared = prepare_zones([zone("water:bowtie", "water", bowtie)])
    assert prepared.city is not None and prepared.city.ids == ["water:bowtie"]
    (issue,) = prepared.issues
    assert issue.severity == "warning" and "Self-intersection" in issue.reason


def test_permits_the_engine_cannot_use_are_skipped_the_others_evaluated() -> None:
    good = permit("velo", max_idle=timedelta(hours=1))
    nan = replace(permit("trotti", max_idle=timedelta(hours=1)), gps_tolerance_m=float("nan"))
    zero = replace(
        permit("lime", max_idle=timedelta(hours=1)),
        counting=CountingMethod(sample_interval=timedelta(0)),  # would loop for ever
    )
    broken = replace(permit("bird"), parking=None)  # type: ignore[arg-type]
    ok, issues = check_permits([good, nan, zero, broken])
    assert ok == [good]
    reasons = {i.subject: i.reason for i in issues}
    assert reasons["trotti"].startswith("gps_tolerance_m")
    assert reasons["lime"].startswith("counting.sample_interval")
    assert reasons["bird"].startswith("cannot be checked")
    assert permit_problem(good) is None

    snaps = [
        vehicle(k, 0, 0, operator=op, parked_for=timedelta(hours=3))
        for k, op in (
            ("a", "velo"),
            ("b", "trotti"),
        )
    ]
    findings, found = evaluate_checked(EvaluationInputs(snaps, [good, nan], [], [], NOW))
    assert [(f.operator, str(f.rule_type)) for f in findings] == [("velo", "idle_too_long")]
    assert [(i.kind, i.subject) for i in found] == [("permit", "trotti")]


def test_a_permit_an_evaluator_chokes_on_is_isolated() -> None:
    # passes every check, yet the count rules cannot compare its aware operating hours
    aware = (time(6, tzinfo=UTC), time(22, tzinfo=UTC))
    bad = replace(permit("trotti", fleet_cap=1), counting=CountingMethod(operating_hours=aware))
    good = permit("velo", fleet_cap=1)
    samples = [
        CountSample(NOW - timedelta(minutes=5 * i), op, 5)
        for i in range(3)
        for op in ("trotti", "velo")
    ]
    assert permit_problem(bad) is None
    findings, issues = evaluate_checked(EvaluationInputs([], [bad, good], samples, [], NOW))
    assert {(f.operator, str(f.rule_type)) for f in findings} == {("velo", "fleet_cap")}
    (issue,) = issues
    assert (issue.kind, issue.subject, issue.version) == ("permit", "trotti", 1)
    assert "TypeError" in issue.reason


def test_evaluation_dates_stay_in_range() -> None:
    draft = permit("trotti")
    assert permit_problem(replace(draft, effective_from=datetime(1, 1, 1, tzinfo=UTC)))
    assert permit_problem(replace(draft, effective_to=draft.effective_from)) is not None
