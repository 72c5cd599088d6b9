"""Idle too long and disabled too long, with dwell confidence and outages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gbfs_ingest.model import VehicleState
from rules import OutageSpan, RuleType, evaluate_disabled, evaluate_idle
from tests.rules.helpers import NOW, permit, vehicle

DAY = timedelta(days=1)
PERMIT = permit(
    max_idle=5 * DAY, max_disabled=timedelta(hours=24), penalties_eur={"idle_too_long": 49.0}
)

A, R, D = VehicleState.AVAILABLE, VehicleState.RESERVED, VehicleState.DISABLED


@pytest.mark.parametrize(
    ("state", "parked_for", "confidence", "last_seen_ago", "expected"),
    [
        (A, 6 * DAY, "continuous", timedelta(0), 1.0),
        (A, 6 * DAY, "across_gaps", timedelta(0), 0.8),
        (A, 6 * DAY, "rotation_linked", timedelta(0), 0.7),  # ID rotated, did not move
        (R, 6 * DAY, "continuous", timedelta(0), 1.0),  # reserved counts as rentable
        (A, 4 * DAY, "continuous", timedelta(0), None),
        (A, 5 * DAY, "continuous", timedelta(0), None),  # exactly the limit is allowed
        # issue 11: the stay is measured whatever the state flags
        (D, 6 * DAY, "continuous", timedelta(0), 1.0),
        (A, 6 * DAY, "continuous", 2 * DAY, None),  # observed dwell is only 4 days
    ],
)
def test_idle(state, parked_for, confidence, last_seen_ago, expected):
    v = vehicle(
        "v1",
        0,
        0,
        state=state,
        parked_for=parked_for,
        parked_since_confidence=confidence,
        last_seen=NOW - last_seen_ago,
    )
    found = evaluate_idle([v], [PERMIT], NOW)
    if expected is None:
        assert found == []
        return
    (f,) = found
    assert (f.rule_type, f.status, f.subject_key, f.operator) == (
        RuleType.IDLE_TOO_LONG,
        "violation",
        "v1",
        "trotti",
    )
    assert f.confidence == expected
    assert f.measured == (parked_for - last_seen_ago).total_seconds()
    assert (f.unit, f.threshold) == ("s", 5 * 86400)
    assert f.since == v.parked_since
    assert f.clause == "permit:trotti:v1#max_idle"
    assert f.penalty_eur == 49.0
    assert f.evidence["dwell_confidence"] == confidence
    assert f.key == "idle_too_long|trotti|v1"


def test_last_seen_after_now_is_capped_at_now():
    v = vehicle("v1", 0, 0, parked_for=6 * DAY, last_seen=NOW + DAY)
    (f,) = evaluate_idle([v], [PERMIT], NOW)
    assert f.measured == 6 * 86400


@pytest.mark.parametrize(
    ("disabled_for", "expected"),
    [(timedelta(hours=25), True), (timedelta(hours=23), False), (None, False)],
)
def test_disabled(disabled_for, expected):
    since = None if disabled_for is None else NOW - disabled_for
    v = vehicle("v1", 0, 0, state=D, parked_for=3 * DAY, disabled_since=since)
    found = evaluate_disabled([v], [PERMIT], NOW)
    assert bool(found) is expected
    if expected:
        assert found[0].since == since
        assert found[0].measured == disabled_for.total_seconds()
        assert found[0].rule_type == RuleType.DISABLED_TOO_LONG
        assert found[0].evidence["disabled_since"] == since
        assert found[0].penalty_eur is None  # no amount in this permit


def test_available_vehicle_is_not_disabled_too_long():
    v = vehicle("v1", 0, 0, parked_for=3 * DAY, disabled_since=NOW - 3 * DAY)
    assert evaluate_disabled([v], [PERMIT], NOW) == []


@pytest.mark.parametrize(
    "terms",
    [
        {},  # no limit in the permit
        {"effective_from": NOW + DAY, "max_idle": DAY},  # permit not yet in force
    ],
)
def test_no_limit_in_force_no_finding(terms):
    v = vehicle("v1", 0, 0, parked_for=30 * DAY)
    assert evaluate_idle([v], [permit(**terms)], NOW) == []


def test_latest_permit_version_in_force_applies():
    v = vehicle("v1", 0, 0, parked_for=4 * DAY)
    v2 = permit(version=2, max_idle=3 * DAY, effective_from=NOW - DAY)
    (f,) = evaluate_idle([v], [PERMIT, v2], NOW)
    assert (f.permit_version, f.clause) == (2, "permit:trotti:v2#max_idle")


@pytest.mark.parametrize(
    ("outage", "flag", "suspended"),
    [
        (OutageSpan("trotti", NOW - timedelta(hours=2)), False, True),  # ongoing
        (OutageSpan("trotti", NOW - DAY, NOW - timedelta(hours=2)), False, False),  # over
        (OutageSpan("velo", NOW - timedelta(hours=2)), False, False),  # someone else
        (None, True, True),  # the snapshot itself is flagged
    ],
)
def test_outage_suspends_vehicle_rules(outage, flag, suspended):
    vs = [
        vehicle("v1", 0, 0, parked_for=6 * DAY, in_outage=flag),
        vehicle(
            "v2", 0, 0, state=D, parked_for=6 * DAY, disabled_since=NOW - 2 * DAY, in_outage=flag
        ),
    ]
    outages = [outage] if outage else []
    found = evaluate_idle(vs, [PERMIT], NOW, outages=outages) + evaluate_disabled(
        vs, [PERMIT], NOW, outages=outages
    )
    # v2 (disabled for 2 days, unmoved for 6) is both idle and disabled too long
    assert len(found) == (0 if suspended else 3)


def test_same_data_same_keys():
    vs = [vehicle(f"v{i}", 0, 0, parked_for=(4 + i) * DAY) for i in range(5)]
    first = [f.key for f in evaluate_idle(vs, [PERMIT], NOW)]
    assert first == [f.key for f in evaluate_idle(vs, [PERMIT], NOW)]
    assert first == [
        "idle_too_long|trotti|v2",
        "idle_too_long|trotti|v3",
        "idle_too_long|trotti|v4",
    ]


def test_stay_confidence_and_min_confidence_for_notices():
    """A stay's facts give its confidence; below the permit's floor, 'uncertain'."""
    from rules.inputs import NoticeTerms
    from rules.stays import StayFacts

    strict = permit(max_idle=5 * DAY, notices=NoticeTerms(min_confidence=0.9))
    seen = vehicle("v1", 0, 0, parked_for=6 * DAY, stay=StayFacts())
    rotated = vehicle(
        "v2", 0, 0, parked_for=6 * DAY, stay=StayFacts(rotations=3, min_link_confidence=0.95)
    )
    gap = vehicle("v3", 0, 0, parked_for=6 * DAY, stay=StayFacts(bridged_gaps=1, bridged_s=60))
    stacked = vehicle(
        "v4", 0, 0, parked_for=6 * DAY, stay=StayFacts(rotations=1, min_link_confidence=0.475)
    )
    found = {f.subject_key: f for f in evaluate_idle([seen, rotated, gap, stacked], [strict], NOW)}
    assert found["v1"].confidence == 1.0 and found["v1"].status == "violation"
    assert found["v2"].confidence == 0.95 and found["v2"].status == "violation"
    # one minute unobserved in six days: still below 1.0, never rounded up to it
    assert found["v3"].confidence == 0.999 and found["v3"].status == "violation"
    assert found["v4"].confidence == 0.475 and found["v4"].status == "uncertain"
    assert found["v4"].evidence["min_confidence_for_notice"] == 0.9
    assert found["v2"].evidence["stay"]["rotations"] == 3
