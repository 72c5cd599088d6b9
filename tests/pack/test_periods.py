"""Quarters and ranges of whole months, the pack's periods (stats.periods)."""

from __future__ import annotations

from datetime import date

import pytest

from fleet_monitor.pack import fmt
from fleet_monitor.pack.document import period_words
from fleet_monitor.pack.trends import month_buckets, quarter_buckets, window
from fleet_monitor.stats.periods import PeriodError, parse_period

TZ = "Europe/Paris"


def test_quarters_and_month_ranges() -> None:
    q3 = parse_period("2026-Q3", TZ)
    assert (q3.kind, q3.first, q3.end, q3.n_days) == (
        "quarter",
        date(2026, 7, 1),
        date(2026, 10, 1),
        92,
    )
    q4 = parse_period("2026-Q4", TZ)
    assert q4.end == date(2027, 1, 1)
    months = parse_period("2026-01..2026-10", TZ)
    assert (months.first, months.last) == (date(2026, 1, 1), date(2026, 10, 31))
    days = parse_period("2026-10-01..2026-10-15", TZ)
    assert days.n_days == 15
    for bad in ("2026-Q5", "2026-Q0", "2026-13", "2026-10..2026-01", "2026-01..2026-13"):
        with pytest.raises(PeriodError):
            parse_period(bad, TZ)


def test_words_and_buckets_in_french() -> None:
    assert period_words(parse_period("2026-Q3", TZ)) == "3e trimestre 2026"
    assert period_words(parse_period("2026-Q1", TZ)) == "1er trimestre 2026"
    assert period_words(parse_period("2026-10", TZ)) == "octobre 2026"
    assert period_words(parse_period("2026-01..2026-10", TZ)) == "janvier à octobre 2026"
    assert period_words(parse_period("2026-10-01..2026-10-15", TZ)) == "du 01/10/2026 au 15/10/2026"
    assert fmt.num(1234.5) == "1\u202f234,5" and fmt.pct(0.9912) == "99,1\u00a0%"
    # twelve months ending with the period, none after the current month
    first, end = window(parse_period("2026-Q3", TZ), today=date(2026, 12, 5))
    assert (first, end) == (date(2025, 10, 1), date(2026, 10, 1))
    assert len(month_buckets(first, end)) == 12
    assert [b.label for b in quarter_buckets(first, end)] == [
        "T4 2025",
        "T1 2026",
        "T2 2026",
        "T3 2026",
    ]
    first, end = window(parse_period("2026-11..2027-02", TZ), today=date(2026, 12, 5))
    assert end == date(2027, 1, 1)
    cut = quarter_buckets(date(2026, 8, 1), date(2026, 10, 1))
    assert [(b.label, b.partial) for b in cut] == [("T3 2026 *", True)]
