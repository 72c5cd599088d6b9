"""Schedules of time-bounded zones: local times, stored UTC, right across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rules.schedule import ScheduleError, parse_schedule, schedules_from_toml

MARKET = {
    "timezone": "Europe/Paris",
    "lead": "1h",
    "recurring": [{"days": ["tue", "fri", "sun"], "start": "06:00", "end": "14:00"}],
}
FESTIVAL = {"lead": "3h", "events": [{"date": "2026-08-01", "start": "12:00", "end": "02:00"}]}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_market_mornings_follow_the_clocks_across_dst() -> None:
    market = parse_schedule(MARKET)
    # Sunday 22 March 2026 (winter, UTC+1) and Sunday 29 March (the change, UTC+2)
    week = market.windows(utc(2026, 3, 22), utc(2026, 3, 30))
    assert week == [
        (utc(2026, 3, 22, 5), utc(2026, 3, 22, 13)),  # Sun 06:00-14:00 CET
        (utc(2026, 3, 24, 5), utc(2026, 3, 24, 13)),  # Tue
        (utc(2026, 3, 27, 5), utc(2026, 3, 27, 13)),  # Fri
        (utc(2026, 3, 29, 4), utc(2026, 3, 29, 12)),  # Sun: 06:00 CEST is 04:00 UTC
    ]
    # and back on Sunday 25 October 2026
    assert market.windows(utc(2026, 10, 25), utc(2026, 10, 26)) == [
        (utc(2026, 10, 25, 5), utc(2026, 10, 25, 13))
    ]


def test_phases_active_upcoming_none() -> None:
    market = parse_schedule(MARKET)
    tue = utc(2026, 6, 2)  # Tuesday, CEST: 06:00 local = 04:00 UTC
    assert market.phase_at(tue + timedelta(hours=2, minutes=59)) is None
    assert market.phase_at(tue + timedelta(hours=3)) == (
        "upcoming",
        tue + timedelta(hours=4),
        tue + timedelta(hours=12),
    )
    assert market.phase_at(tue + timedelta(hours=4))[0] == "active"  # type: ignore[index]
    assert market.phase_at(tue + timedelta(hours=11, minutes=59))[0] == "active"  # type: ignore[index]
    assert market.phase_at(tue + timedelta(hours=12)) is None
    assert market.phase_at(utc(2026, 6, 3, 8)) is None  # Wednesday


def test_a_one_off_event_across_midnight_is_stored_utc() -> None:
    festival = parse_schedule(FESTIVAL)
    # Saturday 1 August 2026 12:00 CEST to Sunday 02:00 CEST
    assert festival.events == ((utc(2026, 8, 1, 10), utc(2026, 8, 2, 0)),)
    assert festival.to_json()["events"] == [
        {"start": "2026-08-01T10:00:00+00:00", "end": "2026-08-02T00:00:00+00:00"}
    ]
    assert parse_schedule(festival.to_json()) == festival  # stored form reads back the same
    assert festival.phase_at(utc(2026, 8, 1, 7))[0] == "upcoming"  # type: ignore[index]
    assert festival.phase_at(utc(2026, 8, 1, 23, 59))[0] == "active"  # type: ignore[index]
    assert festival.phase_at(utc(2026, 8, 2, 0)) is None
    assert festival.describe("fr") == "01/08/2026 12:00–02/08 02:00"


def test_weekly_window_across_midnight() -> None:
    night = parse_schedule({"recurring": [{"days": ["sat"], "start": "22:00", "end": "02:00"}]})
    # Saturday 6 June 2026 22:00 CEST -> Sunday 02:00 CEST
    window = (utc(2026, 6, 6, 20), utc(2026, 6, 7, 0))
    assert night.phase_at(utc(2026, 6, 6, 23)) == ("active", *window)
    assert night.phase_at(utc(2026, 6, 7, 0)) is None
    assert night.describe("en") == "Sat 22:00–02:00"


def test_toml_schedules_by_zone() -> None:
    found = schedules_from_toml(
        """
timezone = "Europe/Paris"
lead = "1h"

[zones."market:vieille-ville"]
recurring = [{days = ["tue", "fri", "sun"], start = "06:00", end = "14:00"}]

[zones."event:fete-du-lac"]
lead = "3h"
events = [{date = 2026-08-01, start = "12:00", end = "02:00"}]
"""
    )
    assert found["market:vieille-ville"] == parse_schedule(MARKET)
    assert found["event:fete-du-lac"] == parse_schedule(FESTIVAL)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("tuesdays", "schedule: expected an object"),
        ({}, "no recurring window and no event"),
        ({"recurring": [{"days": ["mardi"], "start": "06:00", "end": "14:00"}]}, "days"),
        ({"recurring": [{"days": ["tue"], "start": "6h", "end": "14:00"}]}, "start"),
        ({"recurring": [{"days": ["tue"], "start": "06:00", "end": "06:00"}]}, "empty"),
        ({"events": [{"date": "2026-08-01", "start": "12:00"}]}, "end"),
        ({"events": [{"start": "2026-08-02T02:00", "end": "2026-08-01T12:00"}]}, "end"),
        ({"events": [{"start": "1900-08-01T12:00", "end": "1900-08-01T14:00"}]}, "year"),
        ({**MARKET, "lead": "forever"}, "lead"),
        ({**MARKET, "lead": "30d"}, "lead"),
        ({**MARKET, "timezone": "Mars/Olympus"}, "timezone"),
        ({**MARKET, "colour": "red"}, "colour"),
    ],
)
def test_bad_schedules_are_refused_with_the_key(raw: object, key: str) -> None:
    with pytest.raises(ScheduleError, match=key):
        parse_schedule(raw)
