"""Data obligations: outages, staleness, monthly availability."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rules import (
    DataObligations,
    FeedHealthSample,
    OutageSpan,
    RuleType,
    evaluate_feed_outage,
    evaluate_feed_staleness,
    evaluate_monthly_availability,
)
from tests.rules.helpers import NOW, permit

M = timedelta(minutes=1)
H = timedelta(hours=1)
PERMIT = permit(penalties_eur={"feed_outage": 100.0})


@pytest.mark.parametrize(
    ("span", "found"),
    [
        (OutageSpan("trotti", NOW - 30 * M, reason="HTTP 503"), True),
        (OutageSpan("trotti", NOW - 3 * M), False),  # within the 5-minute grace
        (OutageSpan("trotti", NOW - H, NOW - 30 * M), False),  # over
        (OutageSpan("velo", NOW - H), False),  # no permit
    ],
)
def test_feed_outage(span, found):
    result = evaluate_feed_outage([span], [PERMIT], NOW)
    assert bool(result) is found
    if found:
        (f,) = result
        assert (f.rule_type, f.status, f.measured, f.threshold, f.penalty_eur) == (
            RuleType.FEED_OUTAGE,
            "violation",
            1800.0,
            300.0,
            100.0,
        )
        assert f.key == f"feed_outage|trotti|trotti|{span.start.isoformat()}"
        assert f.evidence["reason"] == "HTTP 503"


def test_each_outage_is_its_own_violation():
    spans = [OutageSpan("trotti", NOW - 2 * H), OutageSpan("trotti", NOW - H)]
    keys = {f.key for f in evaluate_feed_outage(spans, [PERMIT], NOW)}
    assert len(keys) == 2


@pytest.mark.parametrize(
    ("age", "found"),
    [(10 * M, True), (4 * M, False), (-10 * M, False)],  # a future last_updated is not stale
)
def test_feed_staleness(age, found):
    health = [
        FeedHealthSample("trotti", NOW - H, ok=True, last_updated=NOW - 2 * H),  # older fetch
        FeedHealthSample("trotti", NOW - M, ok=True, last_updated=NOW - M - age, fetch_ref="f9"),
        FeedHealthSample("trotti", NOW, ok=False),  # failed fetches are the outage rule's
    ]
    result = evaluate_feed_staleness(health, [PERMIT], NOW)
    assert bool(result) is found
    if found:
        assert result[0].measured == age.total_seconds()
        assert result[0].evidence["fetch_ref"] == "f9"


def test_staleness_left_to_outage_rule_during_outage():
    health = [FeedHealthSample("trotti", NOW - M, ok=True, last_updated=NOW - H)]
    out = [OutageSpan("trotti", NOW - 30 * M)]
    assert evaluate_feed_staleness(health, [PERMIT], NOW, outages=out) == []
    assert evaluate_feed_staleness(health, [PERMIT], NOW)  # without the outage it is stale


JUNE_10 = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("spans", "expected"),
    [
        ([], []),
        # 1 day down in May (31 days): 96.8 % < 99 %: settled violation for May
        (
            [
                OutageSpan(
                    "trotti", datetime(2025, 5, 3, tzinfo=UTC), datetime(2025, 5, 4, tzinfo=UTC)
                )
            ],
            [("2025-05", "violation")],
        ),
        # 10 h down in June by the 10th: beyond the 7.2 h allowance of the month
        (
            [
                OutageSpan(
                    "trotti", datetime(2025, 6, 2, tzinfo=UTC), datetime(2025, 6, 2, 10, tzinfo=UTC)
                )
            ],
            [("2025-06", "violation")],
        ),
        # 3 h down: 98.7 % so far, the month may still recover
        (
            [
                OutageSpan(
                    "trotti", datetime(2025, 6, 2, tzinfo=UTC), datetime(2025, 6, 2, 3, tzinfo=UTC)
                )
            ],
            [("2025-06", "uncertain")],
        ),
        # an ongoing outage counts up to now
        ([OutageSpan("trotti", JUNE_10 - 12 * H)], [("2025-06", "violation")]),
    ],
)
def test_monthly_availability(spans, expected):
    p = permit(data=DataObligations(min_monthly_availability=0.99))
    found = evaluate_monthly_availability(spans, [p], JUNE_10)
    assert [(f.episode, f.status) for f in found] == expected
    for f in found:
        assert f.rule_type == RuleType.MONTHLY_AVAILABILITY and f.unit == "ratio"


def test_monthly_availability_reports_monitoring_coverage():
    start = datetime(2025, 6, 1, tzinfo=UTC) - 2 * H  # month starts at 22:00 UTC in Paris
    health = [FeedHealthSample("trotti", start + k * M, ok=True) for k in range(0, 60 * 24 * 5)]
    spans = [
        OutageSpan("trotti", datetime(2025, 6, 2, tzinfo=UTC), datetime(2025, 6, 2, 10, tzinfo=UTC))
    ]
    (f,) = evaluate_monthly_availability(spans, [permit()], JUNE_10, health=health)
    assert f.coverage == pytest.approx(5 / 9.5, abs=0.01)  # 5 of the 9.5 days polled


def test_no_minimum_no_finding():
    p = permit(data=DataObligations(min_monthly_availability=None))
    assert evaluate_monthly_availability([OutageSpan("trotti", NOW - 100 * H)], [p], NOW) == []
