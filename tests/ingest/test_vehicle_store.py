"""Vehicle history in PostGIS: only changes are written; rotations keep the dwell."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gbfs_ingest.model import FeedType, Vehicle
from gbfs_ingest.registry import ensure_feed, ensure_operator
from gbfs_ingest.vehicle_store import VehicleStateCache, store_vehicle_snapshot

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
LAT, LON = 45.8992, 6.1294
M_LAT = 1 / 111_132.0


@pytest.fixture
def feed(engine) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with Session(engine) as s, s.begin():
        op = ensure_operator(s, "op", "Op", None)
        return op, ensure_feed(
            s, op, FeedType.VEHICLE_STATUS, "free_bike_status", "file:///x", "2.3"
        )


def poll(engine, feed, cache, vehicles, at):  # type: ignore[no-untyped-def]
    op, fid = feed
    with Session(engine) as s, s.begin():
        return store_vehicle_snapshot(
            s,
            feed_id=fid,
            operator_id=op,
            vehicles=vehicles,
            observed_at=at,
            fetch_id=None,
            cache=cache,
            link_m=15,
        )


def q(engine, sql: str, **kw):  # type: ignore[no-untyped-def]
    with engine.connect() as c:
        return c.execute(text(sql), kw).fetchall()


def fleet(n: int, prefix: str = "v", shift_m: float = 0.0) -> list[Vehicle]:
    return [Vehicle(f"{prefix}{i}", LAT + (i * 100 + shift_m) * M_LAT, LON) for i in range(n)]


def test_unchanged_polls_write_nothing_but_advance_feed(engine, feed) -> None:  # type: ignore[no-untyped-def]
    cache = VehicleStateCache()
    poll(engine, feed, cache, fleet(50), T0)
    for k in range(1, 5):
        res = poll(engine, feed, cache, fleet(50, shift_m=3.0 * (k % 2)), T0 + timedelta(minutes=k))
        assert res.applied and res.diff.changed_count == 0
    assert q(engine, "SELECT count(*) FROM dwell")[0][0] == 50
    assert q(engine, "SELECT last_observed_at FROM feed")[0][0] == T0 + timedelta(minutes=4)
    assert q(engine, "SELECT DISTINCT start_confidence FROM dwell") == [("first_seen",)]


def test_move_opens_a_new_stay_and_a_state_change_is_an_event(engine, feed) -> None:  # type: ignore[no-untyped-def]
    cache = VehicleStateCache()
    poll(engine, feed, cache, fleet(3), T0)
    v = fleet(3)
    v[0].lat += 200 * M_LAT
    v[1].is_disabled = True
    poll(engine, feed, cache, v, T0 + timedelta(minutes=1))
    rows = q(
        engine,
        "SELECT gbfs_id, state, started_at, ended_at, last_seen_at, end_reason,"
        " start_confidence FROM dwell ORDER BY id",
    )
    assert len(rows) == 4
    closed = {r[0]: r for r in rows if r[3] is not None}
    assert set(closed) == {"v0"} and closed["v0"][5] == "moved"
    assert closed["v0"][4] == T0  # last seen there at the previous poll
    new = [r for r in rows if r[2] == T0 + timedelta(minutes=1)]
    assert [(r[0], r[6]) for r in new] == [("v0", "observed")]
    # the state change in place is an event inside v1's stay, which goes on
    assert q(engine, "SELECT kind, state, at FROM dwell_event") == [
        ("state", "disabled", T0 + timedelta(minutes=1))
    ]
    assert q(engine, "SELECT state FROM vehicle_current WHERE gbfs_id = 'v1'") == [("disabled",)]
    assert q(engine, "SELECT ST_Y(geom) FROM vehicle_current WHERE gbfs_id = 'v0'")[0][
        0
    ] == pytest.approx(v[0].lat)


def test_rotation_of_every_id_keeps_the_dwell(engine, feed) -> None:  # type: ignore[no-untyped-def]
    cache = VehicleStateCache()
    poll(engine, feed, cache, fleet(20, "a"), T0)
    poll(engine, feed, cache, fleet(20, "b", shift_m=4), T0 + timedelta(minutes=1))
    poll(engine, feed, cache, fleet(20, "c", shift_m=-3), T0 + timedelta(minutes=2))
    dw = q(
        engine,
        "SELECT count(*), min(started_at), max(rotations), min(min_link_confidence),"
        " count(ended_at) FROM dwell",
    )[0]
    assert dw == (20, T0, 2, pytest.approx(0.95), 0)
    assert q(engine, "SELECT count(*) FROM vehicle")[0][0] == 20
    assert q(engine, "SELECT count(*) FROM vehicle_alias WHERE linked_from IS NOT NULL")[0][0] == 40
    assert sorted(r[0] for r in q(engine, "SELECT gbfs_id FROM vehicle_current"))[:2] == [
        "c0",
        "c1",
    ]


def test_rotation_across_one_poll_gap(engine, feed) -> None:  # type: ignore[no-untyped-def]
    cache = VehicleStateCache()
    poll(engine, feed, cache, fleet(2, "a"), T0)
    poll(engine, feed, cache, fleet(1, "a"), T0 + timedelta(minutes=1))  # a1 vanishes
    poll(
        engine,
        feed,
        cache,
        [*fleet(1, "a"), Vehicle("z", LAT + 101 * M_LAT, LON)],
        T0 + timedelta(minutes=2),
    )
    # a1 was absent from one healthy file: its stay ended (a rental, as far as GBFS
    # can tell); the id linked in the next poll keeps the vehicle, in a new stay
    rows = q(
        engine,
        "SELECT vehicle_id, started_at, ended_at, end_reason FROM dwell ORDER BY id",
    )
    t1, t2 = T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)
    assert [r[1:] for r in rows] == [(T0, None, None), (T0, t1, "absent"), (t2, None, None)]
    assert rows[1][0] == rows[2][0]
    assert q(engine, "SELECT link_confidence FROM vehicle_alias WHERE gbfs_id = 'z'") == [
        (pytest.approx(0.85),)
    ]


def test_absence_from_a_healthy_file_ends_the_stay(engine, feed) -> None:  # type: ignore[no-untyped-def]
    cache = VehicleStateCache()
    poll(engine, feed, cache, fleet(2), T0)
    poll(engine, feed, cache, fleet(1), T0 + timedelta(minutes=1))
    ended = [("v1", T0 + timedelta(minutes=1), T0, "absent")]
    sql = "SELECT gbfs_id, ended_at, last_seen_at, end_reason FROM dwell WHERE ended_at IS NOT NULL"
    assert q(engine, sql) == ended
    # the id waits one poll for a rotation link, then goes
    assert q(engine, "SELECT missing_since FROM vehicle_current WHERE gbfs_id='v1'")[0][
        0
    ] == T0 + timedelta(minutes=1)
    poll(engine, feed, cache, fleet(1), T0 + timedelta(minutes=2))
    assert q(engine, sql) == ended
    assert q(engine, "SELECT count(*) FROM vehicle_current")[0][0] == 1


def test_out_of_order_snapshot_is_refused(engine, feed) -> None:  # type: ignore[no-untyped-def]
    cache = VehicleStateCache()
    poll(engine, feed, cache, fleet(2), T0)
    res = poll(engine, feed, cache, fleet(1), T0 - timedelta(minutes=1))
    assert not res.applied
    assert q(engine, "SELECT count(*) FROM vehicle_current WHERE missing_since IS NULL")[0][0] == 2


def test_rolled_back_poll_leaves_no_trace_and_cache_reloads(engine, feed) -> None:  # type: ignore[no-untyped-def]
    op, fid = feed
    cache = VehicleStateCache()
    poll(engine, feed, cache, fleet(5), T0)
    moved = fleet(5, shift_m=500)
    with pytest.raises(RuntimeError), Session(engine) as s, s.begin():
        store_vehicle_snapshot(
            s,
            feed_id=fid,
            operator_id=op,
            vehicles=moved,
            observed_at=T0 + timedelta(minutes=1),
            fetch_id=None,
            cache=cache,
            link_m=15,
        )
        raise RuntimeError("database went away mid-poll")
    assert q(engine, "SELECT count(*) FROM dwell")[0][0] == 5
    # the cache was mutated but its token no longer matches: the next poll reloads
    res = poll(engine, feed, cache, moved, T0 + timedelta(minutes=2))
    assert res.diff is not None and len(res.diff.moved) == 5
    assert q(engine, "SELECT count(*) FROM dwell")[0][0] == 10


def spoll(engine, feed, cache, vehicles, at, **kw):  # type: ignore[no-untyped-def]
    op, fid = feed
    with Session(engine) as s, s.begin():
        return store_vehicle_snapshot(
            s,
            feed_id=fid,
            operator_id=op,
            vehicles=vehicles,
            observed_at=at,
            fetch_id=None,
            cache=cache,
            link_m=15,
            **kw,
        )


def test_gaps_are_bridged_or_end_every_open_stay(engine, feed) -> None:  # type: ignore[no-untyped-def]
    cache = VehicleStateCache()
    poll(engine, feed, cache, fleet(3), T0)
    poll(engine, feed, cache, fleet(3), T0 + timedelta(hours=2))  # > gap_s: bridged
    assert q(engine, "SELECT DISTINCT bridged_gaps, bridged_s FROM dwell") == [(1, 7200.0)]
    assert q(engine, "SELECT count(*), min(kind) FROM dwell_event")[0] == (3, "gap")
    later = T0 + timedelta(days=10)  # > max_gap_s: nothing can be said of the time between
    poll(engine, feed, cache, fleet(3), later)
    ended = q(engine, "SELECT DISTINCT end_reason, ended_at FROM dwell WHERE ended_at IS NOT NULL")
    assert ended == [("gap", later)]
    fresh = q(engine, "SELECT count(*), min(start_confidence), min(started_at) FROM dwell"
              " WHERE ended_at IS NULL")  # fmt: skip
    assert fresh == [(3, "after_gap", later)]
    assert {r[0] for r in q(engine, "SELECT dwell_id FROM vehicle_current")} == {
        r[0] for r in q(engine, "SELECT id FROM dwell WHERE ended_at IS NULL")
    }
    # the cache was reloaded: the next poll sees nothing new
    res = poll(engine, feed, cache, fleet(3), later + timedelta(minutes=1))
    assert res.diff.changed_count == 0 and q(engine, "SELECT count(*) FROM dwell")[0][0] == 6


def test_grace_and_partial_files_bridge_absences(engine, feed) -> None:  # type: ignore[no-untyped-def]
    from gbfs_ingest.stays import StaySettings

    cache = VehicleStateCache()
    grace = StaySettings(grace_polls=1)
    spoll(engine, feed, cache, fleet(3), T0, stays=grace)
    spoll(engine, feed, cache, fleet(2), T0 + timedelta(minutes=1), stays=grace)  # v2 absent
    spoll(engine, feed, cache, fleet(3), T0 + timedelta(minutes=2), stays=grace)  # back
    assert q(engine, "SELECT count(*) FROM dwell")[0][0] == 3  # no stay ended
    assert q(engine, "SELECT gbfs_id, grace_absences, bridged_s FROM dwell"
             " WHERE grace_absences > 0") == [("v2", 1, 120.0)]  # fmt: skip
    kinds = q(engine, "SELECT kind, detail FROM dwell_event ORDER BY at")
    assert kinds == [("absence", "grace of 1 poll(s)"), ("back", "absent from 1 poll(s)")]
    # without a grace, an absence from a partial file is bridged too (its id may
    # be among the records the parser dropped)
    spoll(engine, feed, cache, fleet(2), T0 + timedelta(minutes=3), partial="partial file (1)")
    spoll(engine, feed, cache, fleet(3), T0 + timedelta(minutes=4))
    assert q(engine, "SELECT count(*) FROM dwell")[0][0] == 3
    # and from a healthy file it ends the stay
    spoll(engine, feed, cache, fleet(2), T0 + timedelta(minutes=5))
    assert q(engine, "SELECT gbfs_id, end_reason FROM dwell WHERE ended_at IS NOT NULL") == [
        ("v2", "absent")
    ]
