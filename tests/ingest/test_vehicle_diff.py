"""The pure diff: moves beyond GPS noise, state changes, rotations in place."""

from __future__ import annotations

import numpy as np
import pytest

from gbfs_ingest.model import Vehicle
from gbfs_ingest.vehicle_diff import CurrentRow, diff_vehicles, distance_m

LAT, LON = 45.8992, 6.1294  # Annecy
M_LAT = 1 / 111_132.0


def row(gid: str, lat: float = LAT, lon: float = LON, state: str = "available", **kw) -> CurrentRow:
    return CurrentRow(
        gid,
        kw.pop("vehicle_id", hash(gid) % 1000),
        kw.pop("dwell_id", 1),
        lat,
        lon,
        state,
        kw.pop("type_id", "t1"),
        None,
        None,
        None,
        **kw,
    )


def veh(gid: str, lat: float = LAT, lon: float = LON, **kw) -> Vehicle:
    return Vehicle(gid, lat, lon, vehicle_type_id=kw.pop("type_id", "t1"), **kw)


def test_distance_is_metres() -> None:
    assert distance_m(LAT, LON, LAT + 100 * M_LAT, LON) == pytest.approx(100, rel=1e-3)
    # 0.001 degree of longitude at 45.9 N is ~77 m, not 111 m
    assert distance_m(LAT, LON, LAT, LON + 0.001) == pytest.approx(77.4, abs=0.5)


@pytest.mark.parametrize(
    ("moved_m", "expect_moved"), [(0, False), (10, False), (14.9, False), (16, True), (200, True)]
)
def test_drift_tolerance(moved_m: float, expect_moved: bool) -> None:
    d = diff_vehicles({"a": row("a")}, [veh("a", LAT + moved_m * M_LAT)], drift_m=15, link_m=15)
    # beyond the tolerance: a move (beyond twice it) or an outlier awaiting the next poll
    assert (len(d.moved) + len(d.outliers) == 1) is expect_moved
    assert len(d.moved) == (1 if moved_m > 30 else 0)
    # within the tolerance the stay goes on (and jitter within noise_m writes nothing)
    assert d.unchanged == (0 if expect_moved else 1)


def test_drift_is_measured_from_the_anchor_not_the_last_position() -> None:
    # the vehicle crept 10 m, then 10 m more: 20 m from its stay's anchor
    crept = row("a", LAT + 10 * M_LAT)
    crept.anchor_lat, crept.anchor_lon = LAT, LON
    d = diff_vehicles({"a": crept}, [veh("a", LAT + 20 * M_LAT)], drift_m=15, link_m=15)
    assert len(d.outliers) == 1  # 20 m from the anchor (10 m from the last position)
    # 12 m from its last written position, within 30 m of its anchor: the row follows it
    d = diff_vehicles({"a": crept}, [veh("a", LAT + 22 * M_LAT)], drift_m=30, link_m=15, noise_m=5)
    assert not d.moved and len(d.attrs_changed) == 1


def test_a_single_fix_beyond_the_tolerance_is_an_outlier_until_confirmed() -> None:
    first = diff_vehicles({"a": row("a")}, [veh("a", LAT + 40 * M_LAT)], drift_m=30, link_m=15)
    assert not first.moved and len(first.outliers) == 1
    far = diff_vehicles({"a": row("a")}, [veh("a", LAT + 61 * M_LAT)], drift_m=30, link_m=15)
    assert len(far.moved) == 1  # beyond twice the tolerance: a move at once
    suspect = row("a", LAT + 40 * M_LAT, far_since=object())
    suspect.anchor_lat, suspect.anchor_lon = LAT, LON
    again = diff_vehicles({"a": suspect}, [veh("a", LAT + 41 * M_LAT)], drift_m=30, link_m=15)
    assert len(again.moved) == 1  # confirmed by the next poll
    back = diff_vehicles({"a": suspect}, [veh("a", LAT + 2 * M_LAT)], drift_m=30, link_m=15)
    assert not back.moved and len(back.attrs_changed) == 1  # an outlier, cleared


def test_state_change_is_an_event_in_place_and_attrs_are_not() -> None:
    d = diff_vehicles(
        {"a": row("a"), "b": row("b")},
        [veh("a", is_disabled=True), veh("b", current_range_meters=1200.0)],
        drift_m=15,
        link_m=15,
    )
    assert not d.moved
    assert [v.vehicle_id for v, _ in d.state_changed] == ["a"]
    assert [v.vehicle_id for v, _ in d.attrs_changed] == ["b"]


def test_rotation_in_place_links_ids() -> None:
    current = {"old1": row("old1"), "old2": row("old2", LAT + 500 * M_LAT)}
    d = diff_vehicles(
        current,
        [veh("new1", LAT + 3 * M_LAT), veh("new2", LAT + 502 * M_LAT)],
        drift_m=15,
        link_m=15,
    )
    pairs = sorted((lk.old.gbfs_id, lk.new.vehicle_id) for lk in d.links)
    assert pairs == [("old1", "new1"), ("old2", "new2")]
    assert all(lk.confidence == pytest.approx(0.95) for lk in d.links)
    assert not d.appeared and not d.vanished


def test_far_new_id_is_a_new_vehicle_and_old_one_vanishes() -> None:
    d = diff_vehicles({"old": row("old")}, [veh("new", LAT + 300 * M_LAT)], drift_m=15, link_m=15)
    assert not d.links
    assert [v.vehicle_id for v in d.appeared] == ["new"]
    assert [r.gbfs_id for r in d.vanished] == ["old"]


def test_next_poll_link_has_lower_confidence() -> None:
    pending = row("old", missing_since=object())  # vanished in the previous poll
    d = diff_vehicles({"old": pending}, [veh("new", LAT + 2 * M_LAT)], drift_m=15, link_m=15)
    assert len(d.links) == 1
    assert d.links[0].confidence == pytest.approx(0.85)
    assert not d.expired


def test_pending_not_linked_expires() -> None:
    pending = row("old", missing_since=object())
    d = diff_vehicles({"old": pending}, [], drift_m=15, link_m=15)
    assert [r.gbfs_id for r in d.expired] == ["old"]


def test_stacked_vehicles_lower_confidence_and_prefer_same_type() -> None:
    current = {"a": row("a", type_id="bike"), "b": row("b", type_id="scooter")}
    d = diff_vehicles(
        current, [veh("x", type_id="scooter"), veh("y", type_id="bike")], drift_m=15, link_m=15
    )
    pairs = sorted((lk.old.gbfs_id, lk.new.vehicle_id) for lk in d.links)
    assert pairs == [("a", "y"), ("b", "x")]
    assert all(lk.confidence == pytest.approx(0.475) for lk in d.links)


def test_docked_vehicles_without_coordinates_compare_by_station() -> None:
    current = {"a": CurrentRow("a", 1, 1, None, None, "available", None, "s1", None, None)}
    same = diff_vehicles(
        current, [Vehicle("a", None, None, station_id="s1")], drift_m=15, link_m=15
    )
    other = diff_vehicles(
        current, [Vehicle("a", None, None, station_id="s2")], drift_m=15, link_m=15
    )
    assert same.unchanged == 1 and len(other.moved) == 1


def _summary(d) -> dict[str, list]:  # type: ignore[no-untyped-def]
    return {
        "moved": sorted(v.vehicle_id for v, _ in d.moved),
        "attrs": sorted(v.vehicle_id for v, _ in d.attrs_changed),
        "back": sorted(v.vehicle_id for v, _ in d.reappeared),
        "appeared": sorted(v.vehicle_id for v in d.appeared),
        "links": sorted((lk.old.gbfs_id, lk.new.vehicle_id, lk.confidence) for lk in d.links),
        "vanished": sorted(r.gbfs_id for r in d.vanished),
        "expired": sorted(r.gbfs_id for r in d.expired),
        "unchanged": [d.unchanged],
    }


@pytest.mark.parametrize("seed", range(12))
def test_the_incremental_diff_agrees_with_the_full_one(seed: int) -> None:
    """With the previous snapshot, carried objects are skipped; the result is the same."""
    import random

    rng = random.Random(seed)
    previous = [
        veh(f"p{i}", LAT + rng.uniform(0, 0.02), LON + rng.uniform(0, 0.02)) for i in range(300)
    ]
    current = {
        v.vehicle_id: row(v.vehicle_id, v.lat, v.lon, vehicle_id=i) for i, v in enumerate(previous)
    }
    pending = set()
    for i in range(20):  # rows already missing since an earlier poll
        gid = f"m{i}"
        lat, lon = LAT + rng.uniform(0, 0.02), LON + rng.uniform(0, 0.02)
        current[gid] = row(gid, lat, lon, vehicle_id=1000 + i, missing_since=object())
        pending.add(gid)
    new: list[Vehicle] = []
    for v in previous:
        r = rng.random()
        if r < 0.75:
            new.append(v)  # byte-identical record: the same object
        elif r < 0.80:
            new.append(veh(v.vehicle_id, v.lat, v.lon))  # equal copy
        elif r < 0.85:
            new.append(veh(v.vehicle_id, v.lat + 300 * M_LAT, v.lon))  # moved
        elif r < 0.88:
            new.append(veh(v.vehicle_id, v.lat, v.lon, is_disabled=True))  # state
        elif r < 0.91:
            new.append(veh(v.vehicle_id, v.lat, v.lon, current_range_meters=5.0))  # attrs
        elif r < 0.95:
            new.append(veh(f"r{v.vehicle_id}", v.lat + 2 * M_LAT, v.lon))  # rotated in place
        # else: vanished
    for gid in sorted(pending)[:8]:  # some missing ones come back, one rotated
        old = current[gid]
        new.append(veh(gid if gid != "m0" else "x0", old.lat, old.lon))
    new += [veh(f"n{i}", LAT + rng.uniform(0, 0.02), LON) for i in range(10)]
    rng.shuffle(new)
    full = diff_vehicles(current, new, drift_m=15, link_m=15)
    fast = diff_vehicles(
        current, new, drift_m=15, link_m=15, previous=previous, pending_ids=pending
    )
    assert _summary(fast) == _summary(full)
    assert full.unchanged > 200 and full.links and full.vanished and full.expired
    # the parser's note of which records repeat the previous file gives the same
    where = {id(v): j for j, v in enumerate(previous)}
    carried_from = np.array([where.get(id(v), -1) for v in new], np.int64)
    noted = diff_vehicles(
        current,
        new,
        drift_m=15,
        link_m=15,
        previous=previous,
        pending_ids=pending,
        carried_from=carried_from,
    )
    assert _summary(noted) == _summary(full)


@pytest.mark.parametrize("seed", range(4))
def test_the_vectorised_prefilter_of_rotations_changes_no_link(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many trips at once: far-apart new and vanished ids are ruled out with numpy;
    the links must be those of the plain grid search."""
    import random

    import gbfs_ingest.vehicle_diff as vd

    rng = random.Random(seed)
    current = {}
    for i in range(400):  # 400 just vanished, 100 missing since the previous poll
        gid = f"o{i}"
        lat, lon = LAT + rng.uniform(0, 0.01), LON + rng.uniform(0, 0.01)
        missing = object() if i >= 300 else None
        current[gid] = row(gid, lat, lon, vehicle_id=i, missing_since=missing)
    pending = {g for g, r in current.items() if r.missing_since is not None}
    new = []
    for i, r in enumerate(list(current.values())[:250]):  # within 0-20 m: many links
        new.append(veh(f"n{i}", r.lat + rng.uniform(-20, 20) * M_LAT, r.lon))
    new += [veh(f"f{i}", LAT + rng.uniform(0, 0.01), LON) for i in range(250)]
    monkeypatch.setattr(vd, "PREFILTER_MIN_PAIRS", 10**12)
    plain = diff_vehicles(current, new, drift_m=15, link_m=15, pending_ids=pending)
    monkeypatch.setattr(vd, "PREFILTER_MIN_PAIRS", 0)
    filtered = diff_vehicles(current, new, drift_m=15, link_m=15, pending_ids=pending)
    assert len(plain.links) > 100
    assert _summary(filtered) == _summary(plain)
