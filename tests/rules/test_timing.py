"""Local-time helpers: notice deadlines, operating hours, sample grid."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from rules import CountingMethod, NoticeTerms, in_operating_hours, notice_deadline, sample_times
from tests.rules.helpers import permit

NOTICES = NoticeTerms(
    day_deadline=timedelta(hours=2),
    night_deadline=timedelta(hours=6),
    day_start=time(7),
    day_end=time(21),
)


@pytest.mark.parametrize(
    ("sent_utc", "hours"),
    [
        (datetime(2025, 6, 3, 5, 30, tzinfo=UTC), 2),  # 07:30 CEST: day
        (datetime(2025, 6, 3, 4, 30, tzinfo=UTC), 6),  # 06:30 CEST: night
        (datetime(2025, 6, 3, 12, 0, tzinfo=UTC), 2),  # 14:00 CEST: day
        (datetime(2025, 6, 3, 19, 30, tzinfo=UTC), 6),  # 21:30 CEST: night
        (datetime(2025, 1, 15, 6, 30, tzinfo=UTC), 2),  # 07:30 CET (winter): day
    ],
)
def test_notice_deadline_day_and_night(sent_utc, hours):
    p = permit(notices=NOTICES)
    assert notice_deadline(p, sent_utc) == sent_utc + timedelta(hours=hours)


def test_operating_hours_spanning_midnight():
    p = permit(counting=CountingMethod(operating_hours=(time(22), time(6))))
    assert in_operating_hours(p, datetime(2025, 6, 3, 21, 0, tzinfo=UTC))  # 23:00 CEST
    assert in_operating_hours(p, datetime(2025, 6, 3, 3, 0, tzinfo=UTC))  # 05:00 CEST
    assert not in_operating_hours(p, datetime(2025, 6, 3, 4, 0, tzinfo=UTC))  # 06:00 CEST


def test_sample_grid():
    p = permit(counting=CountingMethod(operating_hours=(time(6), time(23))))
    start = datetime(2025, 6, 3, 0, 0, tzinfo=UTC)  # 02:00 CEST
    grid = list(sample_times(p, start, start + timedelta(days=1)))
    assert len(grid) == 17 * 12  # 06:00-23:00 local, every 5 minutes
    assert grid[0] == datetime(2025, 6, 3, 4, 0, tzinfo=UTC)
    assert all(t.minute % 5 == 0 and t.second == 0 for t in grid)
