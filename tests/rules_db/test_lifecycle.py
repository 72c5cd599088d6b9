"""The violation lifecycle on stored data: opened once, updated, held during an
outage, closed with the observation that resolved it, a new episode when the
subject comes back, nothing touched while a rotation link is pending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from datastore import pg_connection
from fleet_monitor.violations import RulesError, load_snapshots
from tests.rules_db.conftest import permit_toml
from tests.rules_db.fleet import Fleet, no_parking_square

T0 = datetime(2025, 6, 3, 8, 0, tzinfo=UTC)
M = timedelta(minutes=1)


@pytest.fixture
def fleet(engine) -> Fleet:  # type: ignore[no-untyped-def]
    f = Fleet(engine)
    f.zones([no_parking_square()], "no_parking", T0)
    f.permit(permit_toml("op", tolerance=5, prohibited=["no_parking"], max_idle="2h", cap=3))
    return f


def violations(f: Fleet, rule: str = "in_no_parking_area") -> list[tuple]:
    return f.rows(
        "SELECT id, state, status, since, closed_reason, closed_fetch_id, last_seen_at, gbfs_id"
        " FROM violation WHERE rule_type = %s ORDER BY id",
        rule,
    )


def events(f: Fleet, vid: int) -> list[str]:
    return [
        r[0]
        for r in f.rows("SELECT kind FROM violation_event WHERE violation_id = %s ORDER BY id", vid)
    ]


def test_opened_once_updated_never_duplicated(fleet: Fleet) -> None:
    first = fleet.poll(T0, {"a": (50, 50), "b": (300, 300)})
    run = fleet.evaluate(T0)
    assert len(run.lifecycle.opened) == 1
    again = fleet.evaluate(T0)  # same data, same time
    assert again.lifecycle.opened == [] and again.lifecycle.unchanged == 1
    fleet.poll(T0 + 5 * M, {"a": (51, 50), "b": (300, 300)})  # GPS jitter: same stay
    later = fleet.evaluate(T0 + 5 * M)
    assert later.lifecycle.opened == [] and later.lifecycle.closed == 0
    ((vid, state, status, since, *_rest, last_seen, gid),) = violations(fleet)
    assert (state, status, since, last_seen, gid) == ("open", "violation", T0, T0 + 5 * M, "a")
    assert events(fleet, vid) == ["opened"]
    # the evidence's raw file is kept past the retention
    (digest,) = fleet.rows("SELECT content_hash FROM feed_fetch WHERE id = %s", first)[0]
    assert fleet.rows("SELECT pinned FROM raw_blob WHERE sha256 = %s", digest) == [(True,)]
    # the database itself refuses a second open violation with the same key
    with Session(fleet.engine) as s, pytest.raises(IntegrityError):
        s.connection().exec_driver_sql(
            "INSERT INTO violation (key, rule_type, operator, subject_kind, subject, state,"
            " status, opened_at, last_seen_at, unit, clause, confidence, vehicles_beyond,"
            " evidence) SELECT key, rule_type, operator, subject_kind, subject, 'held', status,"
            " opened_at, last_seen_at, unit, clause, confidence, vehicles_beyond, evidence"
            " FROM violation"
        )


def test_closed_with_the_observation_that_resolved_it(fleet: Fleet) -> None:
    fleet.poll(T0, {"a": (50, 50)})
    fleet.evaluate(T0)
    moved = fleet.poll(T0 + 10 * M, {"a": (300, 50)})
    run = fleet.evaluate(T0 + 10 * M)
    assert run.lifecycle.closed == 1
    ((vid, state, _, _, reason, fetch, *_),) = violations(fleet)
    assert (state, reason, fetch) == ("closed", "vehicle_moved", moved)
    assert events(fleet, vid) == ["opened", "closed"]
    (digest,) = fleet.rows("SELECT content_hash FROM feed_fetch WHERE id = %s", moved)[0]
    assert fleet.rows("SELECT pinned FROM raw_blob WHERE sha256 = %s", digest) == [(True,)]


def test_left_and_came_back_is_a_new_episode(fleet: Fleet) -> None:
    fleet.poll(T0, {"a": (50, 50)})
    fleet.evaluate(T0)
    fleet.poll(T0 + 5 * M, {"a": (300, 50)})
    fleet.poll(T0 + 10 * M, {"a": (40, 60)})  # back, between two evaluations
    run = fleet.evaluate(T0 + 10 * M)
    assert len(run.lifecycle.opened) == 1 and run.lifecycle.closed == 1
    old, new = violations(fleet)
    assert old[1:5] == ("closed", "violation", T0, "new_episode")
    assert new[1:4] == ("open", "violation", T0 + 10 * M)


def test_held_during_an_outage_then_resumed(fleet: Fleet) -> None:
    fleet.poll(T0, {"a": (50, 50)})
    fleet.evaluate(T0)
    fleet.fail(T0 + 5 * M)
    run = fleet.evaluate(T0 + 6 * M)
    assert run.operators_in_outage == ["op"] and run.lifecycle.held == 1
    ((vid, state, *_),) = violations(fleet)
    assert state == "held"
    run = fleet.evaluate(T0 + 20 * M)  # beyond the 5-minute grace: the outage is a breach
    ((_oid, ostate, ostatus, osince, *_),) = violations(fleet, "feed_outage")
    assert (ostate, ostatus, osince) == ("open", "violation", T0 + 5 * M)
    assert violations(fleet)[0][1] == "held"  # still held, not closed
    fleet.poll(T0 + 30 * M, {"a": (50, 50)})  # the feed is back, the scooter still there
    run = fleet.evaluate(T0 + 30 * M)
    assert run.lifecycle.resumed == 1
    assert violations(fleet)[0][:2] == (vid, "open")
    assert events(fleet, vid) == ["opened", "held", "resumed"]
    ((_, ostate, _, _, reason, fetch, *_),) = violations(fleet, "feed_outage")
    assert (ostate, reason) == ("closed", "resolved") and fetch is not None


def test_pending_rotation_leaves_the_violation_alone(fleet: Fleet) -> None:
    fleet.poll(T0, {"a": (50, 50)})
    fleet.evaluate(T0)
    fleet.poll(T0 + 1 * M, {})  # "a" vanished: rented, or rotating its id?
    run = fleet.evaluate(T0 + 1 * M)
    assert run.lifecycle.untouched == 1 and run.lifecycle.closed == 0
    fleet.poll(T0 + 2 * M, {"b": (50, 51)})  # a new id at the same place, a poll later
    fleet.evaluate(T0 + 2 * M)
    # issue 11: absent from one healthy file, the vehicle was rented (as far as GBFS
    # can tell): the old stay's violation closes, the vehicle (linked) starts a new one
    (old, new) = violations(fleet)
    assert old[1] == "closed" and old[3] == T0
    assert (new[1], new[3], new[6], new[7]) == ("open", T0 + 2 * M, T0 + 2 * M, "b")


def test_vehicle_gone_closes_after_the_link_window(fleet: Fleet) -> None:
    fleet.poll(T0, {"a": (50, 50)})
    fleet.evaluate(T0)
    gone = fleet.poll(T0 + 1 * M, {})  # absent from a healthy file: the stay ended here
    fleet.poll(T0 + 2 * M, {})  # and the id's wait for a rotation link is over
    fleet.evaluate(T0 + 2 * M)
    ((_, state, _, _, reason, fetch, *_),) = violations(fleet)
    assert (state, reason, fetch) == ("closed", "vehicle_gone", gone)


def test_evaluating_before_the_last_run_is_refused(fleet: Fleet) -> None:
    fleet.poll(T0, {"a": (50, 50)})
    fleet.evaluate(T0 + 5 * M)
    with pytest.raises(RulesError, match="only move forward"):
        fleet.evaluate(T0)


def test_fleet_cap_names_the_newest_vehicles_and_closes_under_the_cap(fleet: Fleet) -> None:
    fleet.poll(T0, {g: (300 + 20 * i, 300) for i, g in enumerate("abc")})
    fleet.poll(T0 + 10 * M, {g: (300 + 20 * i, 300) for i, g in enumerate("abcde")})
    run = fleet.evaluate(T0 + 10 * M)
    assert run.by_rule["fleet_cap"] == {"violation": 1, "uncertain": 0}
    ((measured, beyond, vid),) = fleet.rows(
        "SELECT measured, vehicles_beyond, id FROM violation WHERE rule_type = 'fleet_cap'"
    )
    newest = {
        str(r[0]) for r in fleet.rows("SELECT id FROM vehicle WHERE first_gbfs_id IN ('d', 'e')")
    }
    assert measured == 5 and set(beyond) == newest
    ((vehicles, coverage),) = fleet.rows("SELECT vehicles, coverage FROM count_sample")
    # a sample over the cap keeps the vehicles beyond it, with when they were deployed
    assert {v[0] for v in vehicles} == newest and coverage == 1.0
    assert {v[3] for v in vehicles} == {(T0 + 10 * M).isoformat()}
    fleet.poll(T0 + 20 * M, {g: (300 + 20 * i, 300) for i, g in enumerate("abc")})
    closing = fleet.poll(T0 + 21 * M, {g: (300 + 20 * i, 300) for i, g in enumerate("abc")})
    fleet.evaluate(T0 + 25 * M)
    ((state, reason, fetch),) = fleet.rows(
        "SELECT state, closed_reason, closed_fetch_id FROM violation WHERE id = %s", vid
    )
    assert (state, reason, fetch) == ("closed", "resolved", closing)


def test_disabled_since_follows_a_disabled_vehicle_moved_by_a_truck(fleet: Fleet) -> None:
    fleet.permit(
        permit_toml("op", version=2, max_disabled="90m", effective_from=T0 - timedelta(days=1))
    )
    fleet.poll(T0, {"a": (300, 300, "disabled")})
    fleet.poll(T0 + 60 * M, {"a": (500, 300, "disabled")})
    fleet.poll(T0 + 120 * M, {"a": (500, 300, "disabled")})  # measured to the last sighting
    run = fleet.evaluate(T0 + 125 * M)
    assert run.by_rule["disabled_too_long"] == {"violation": 1, "uncertain": 0}
    ((since, measured),) = fleet.rows(
        "SELECT since, measured FROM violation WHERE rule_type = 'disabled_too_long'"
    )
    assert since == T0 and measured == 7200


def test_snapshot_as_of_a_past_time_is_the_state_then(fleet: Fleet) -> None:
    fleet.poll(T0, {"a": (50, 50), "b": (300, 300), "c": (600, 600)})
    fleet.poll(T0 + 5 * M, {"a": (52, 50), "b": (400, 300), "c": (600, 600, "disabled")})
    with Session(fleet.engine) as s:
        then = load_snapshots(s, T0 + 7 * M)
    assert then.source == "current"
    fleet.poll(T0 + 10 * M, {"b": (450, 300), "d": (0, 0)})
    fleet.poll(T0 + 15 * M, {"b": (450, 300), "d": (0, 0)})
    with Session(fleet.engine) as s:
        past = load_snapshots(s, T0 + 7 * M)
        now = load_snapshots(s, T0 + 15 * M)
    assert past.source == "as_of" and now.source == "current"

    def view(snaps):  # type: ignore[no-untyped-def]
        return sorted(
            (
                x.key,
                x.gbfs_id,
                round(x.lat, 7),
                round(x.lon, 7),
                x.state,
                x.parked_since,
                x.disabled_since,
                x.last_seen,
            )
            for x in snaps.snapshots
        )

    assert view(past) == view(then)
    with Session(fleet.engine) as s:
        assert view(load_snapshots(s, T0 + 15 * M, as_of=True)) == view(now)
    cur_keys = {x.key for x in now.snapshots}
    assert {x.gbfs_id for x in now.snapshots} == {"b", "d"} and len(cur_keys) == 2


def test_permit_change_of_tolerance_is_an_update_event(fleet: Fleet) -> None:
    fleet.poll(T0, {"a": (92, 50)})  # 8 m from the border: a violation at 5 m tolerance
    fleet.evaluate(T0)
    fleet.permit(
        permit_toml(
            "op", version=2, tolerance=10, prohibited=["no_parking"], effective_from=T0 + 30 * M
        )
    )
    fleet.poll(T0 + 31 * M, {"a": (92, 50)})
    fleet.evaluate(T0 + 31 * M)
    ((vid, state, status, *_),) = violations(fleet)
    assert (state, status) == ("open", "uncertain")
    assert events(fleet, vid) == ["opened", "updated"]
    with Session(fleet.engine) as s:
        cur = pg_connection(s).cursor()
        cur.execute("SELECT detail FROM violation_event WHERE kind = 'updated'")
        (detail,) = cur.fetchone()
    assert detail["status"] == ["violation", "uncertain"]
    assert detail["clause"] == [
        "permit:op:v1#in_no_parking_area",
        "permit:op:v2#in_no_parking_area",
    ]
