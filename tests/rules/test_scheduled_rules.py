"""The scheduled restriction evaluator (pure): to clear during the lead time, in breach
while the window is on (GPS tolerance as for every parking rule), nothing otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rules import RuleType, evaluate_all
from rules.schedule import parse_schedule
from tests.rules.helpers import permit, square, vehicle, zone

# Tuesday 3 June 2025 (CEST): the market is 06:00-14:00 local, 04:00-12:00 UTC
TUESDAY = datetime(2025, 6, 3, tzinfo=UTC)
MARKET = parse_schedule(
    {"lead": "1h", "recurring": [{"days": ["tue"], "start": "06:00", "end": "14:00"}]}
)


def findings(at: datetime, where=(50, 50), operator_zone=None):  # type: ignore[no-untyped-def]
    z = zone(
        "scheduled_restriction:market",
        "scheduled_restriction",
        square(0, 0, 100, 100),
        schedule=MARKET,
        operator=operator_zone,
    )
    p = permit(penalties_eur={"scheduled_restriction": 35.0})
    v = vehicle("v1", *where)
    found = evaluate_all([v], [z], [p], [], [], at)
    return [f for f in found if f.rule_type is RuleType.SCHEDULED_RESTRICTION]


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        (2.9, None),  # 04:54 local: before the lead time
        (3.5, ("uncertain", "upcoming")),  # 05:30: to clear by 06:00
        (4.0, ("violation", "active")),  # 06:00: the market opens
        (11.9, ("violation", "active")),
        (12.0, None),  # 14:00: over
    ],
)
def test_phases(hours: float, expected: tuple[str, str] | None) -> None:
    found = findings(TUESDAY + timedelta(hours=hours))
    if expected is None:
        assert found == []
        return
    (f,) = found
    assert (f.status, f.evidence["phase"]) == expected
    assert f.evidence["clear_by"] == TUESDAY + timedelta(hours=4)
    assert f.penalty_eur == (35.0 if f.status == "violation" else None)
    assert f.episode == (TUESDAY + timedelta(hours=4)).isoformat()  # one case per window


def test_same_case_from_to_clear_to_breach() -> None:
    before, during = (
        findings(TUESDAY + timedelta(hours=3.5)),
        findings(TUESDAY + timedelta(hours=5)),
    )
    assert before[0].key == during[0].key and before[0].since == during[0].since


def test_gps_tolerance_and_operator_scope() -> None:
    at = TUESDAY + timedelta(hours=5)
    assert findings(at, where=(50, 5))[0].status == "uncertain"  # 5 m inside the border
    assert findings(at, where=(50, -20)) == []  # outside
    assert findings(at, operator_zone="velo") == []  # another operator's zone
