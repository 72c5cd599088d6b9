"""Permit TOML: the documented example parses; every error names its key."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

import rules.permit_toml
from rules import PermitError, load_permit_toml, parse_duration

MINIMAL = """
operator = "trotti"
version = 3
effective_from = 2025-01-01T00:00:00+01:00
"""


def documented_example() -> str:
    doc = rules.permit_toml.__doc__ or ""
    block = doc.split("Format (every table and key optional unless marked required)::", 1)[1]
    return textwrap.dedent(block)


def test_documented_example_parses():
    p = load_permit_toml(documented_example())
    assert (p.operator, p.version, p.timezone) == ("trotti", 3, "Europe/Paris")
    assert p.effective_from == datetime(2024, 12, 31, 23, 0, tzinfo=UTC)
    assert p.fleet_cap == 500
    assert dict(p.fleet_cap_by_form_factor) == {"scooter_standing": 400, "bicycle": 150}
    assert dict(p.zone_caps) == {"district:vieille-ville": 60}
    assert dict(p.zone_floors) == {"district:novel": 5}
    assert (p.max_idle, p.max_disabled) == (timedelta(days=5), timedelta(hours=24))
    assert p.parking.mandatory and p.parking.district_ids == ("district:centre",)
    assert p.parking.share_weight == 500.0
    assert p.operating_area_zone_ids == ("area:annecy",)
    assert p.data.max_feed_staleness == timedelta(minutes=5)
    assert p.data.min_monthly_availability == 0.99
    assert (p.notices.day_deadline, p.notices.night_deadline) == (
        timedelta(hours=2),
        timedelta(hours=6),
    )
    assert (p.notices.day_start, p.notices.day_end) == (time(7), time(21))
    assert dict(p.penalties_eur) == {"idle_too_long": 49.0, "in_no_parking_area": 35.0}
    assert p.counting.operating_hours == (time(6), time(23))
    assert p.counting.sample_interval == timedelta(minutes=5)
    assert p.gps_tolerance_m == 10.0
    assert p.clause("max_idle") == "permit:trotti:v3#max_idle"


def test_minimal_permit_defaults():
    p = load_permit_toml(MINIMAL)
    assert p.fleet_cap is None and p.max_idle is None and not p.parking.mandatory
    assert p.counting.sample_interval == timedelta(minutes=5) and p.counting.operating_hours is None
    assert p.gps_tolerance_m == 10.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-01-01", datetime(2025, 1, 1, tzinfo=ZoneInfo("Europe/Paris"))),
        ("2025-07-01T08:00:00", datetime(2025, 7, 1, 8, tzinfo=ZoneInfo("Europe/Paris"))),
        ('"2025-07-01T08:00:00Z"', datetime(2025, 7, 1, 8, tzinfo=UTC)),
    ],
)
def test_dates_without_offset_are_local(value, expected):
    p = load_permit_toml(f'operator = "x"\nversion = 1\neffective_from = {value}\n')
    assert p.effective_from == expected


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('[time_limits]\nmax_idle = "soon"', "time_limits.max_idle"),
        ("[time_limits]\nmax_idle = 72", "time_limits.max_idle"),
        ('[time_limits]\nmax_idle = "0h"', "time_limits.max_idle"),
        ("[fleet]\ncapp = 3", "fleet.capp"),
        ("[fleet]\ncap = -1", "fleet.cap"),
        ('[fleet]\ncap = "500"', "fleet.cap"),
        ("[fleet.cap_by_form_factor]\nbicycle = 1.5", "fleet.cap_by_form_factor.bicycle"),
        ("[penalties]\nbad_parking = 35", "penalties.bad_parking"),
        ("[penalties]\nidle_too_long = -5", "penalties.idle_too_long"),
        ('[parking]\nprohibited_kinds = ["district"]', "parking.prohibited_kinds"),
        ('[parking]\nmandatory = "yes"', "parking.mandatory"),
        ("[data]\nmin_monthly_availability = 99", "data.min_monthly_availability"),
        ('[notices]\nday_start = "7h"', "notices.day_start"),
        ('[counting]\noperating_hours = ["06:00"]', "counting.operating_hours"),
        ('timezone = "Mars/Olympus"', "timezone"),
        ("effective_to = 2024-01-01T00:00:00Z", "effective_to"),
        ("surprise = 1", "surprise"),
        ("fleet = 3", "fleet"),
    ],
)
def test_errors_name_the_key(extra, key):
    with pytest.raises(PermitError) as err:
        load_permit_toml(MINIMAL + extra + "\n")
    assert str(err.value).startswith(f"{key}:"), str(err.value)
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize("missing", ["operator", "version", "effective_from"])
def test_required_keys(missing):
    text = "\n".join(line for line in MINIMAL.splitlines() if not line.startswith(missing))
    with pytest.raises(PermitError, match=f"^{missing}: required key is missing"):
        load_permit_toml(text)


def test_invalid_toml():
    with pytest.raises(PermitError, match="invalid TOML"):
        load_permit_toml("operator = ")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("5m", 300),
        ("72h", 259200),
        ("5d", 432000),
        ("1d12h", 129600),
        ("1.5h", 5400),
        ("PT72H", 259200),
        ("P5D", 432000),
        ("P1DT2H30M", 95400),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "5", "h", "5x", "5 h", "P", "PT", "1h 2m", "-5m"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('mds_provider_id = "c20e08cf-..."', "mds_provider_id: expected the MDS provider id"),
        ('mds_provider_id = "C20E08CF-8488-46A6-A66C-5D8FB827F7E0"', "lowercase UUID"),
        ('mds_provider_id = "{c20e08cf-8488-46a6-a66c-5d8fb827f7e0}"', "mds_provider_id"),
        ("[fleet.cap_by_form_factor]\nscooter = 10", "'scooter' is not an MDS vehicle type"),
        ("[fleet.cap_by_form_factor]\nhoverboard = 1", "'hoverboard' is not an MDS vehicle type"),
    ],
)
def test_mds_terms_are_checked_at_import(extra: str, message: str) -> None:
    with pytest.raises(PermitError, match=message.replace("{", "\\{")):
        load_permit_toml(MINIMAL + extra)


def test_mds_terms_accepted() -> None:
    p = load_permit_toml(
        MINIMAL
        + 'mds_provider_id = "c20e08cf-8488-46a6-a66c-5d8fb827f7e0"\n'
        + "[fleet.cap_by_form_factor]\nscooter_seated = 5\ncargo_bicycle = 3\n"
    )
    assert p.mds_provider_id == "c20e08cf-8488-46a6-a66c-5d8fb827f7e0"
    assert dict(p.fleet_cap_by_form_factor) == {"scooter_seated": 5, "cargo_bicycle": 3}
