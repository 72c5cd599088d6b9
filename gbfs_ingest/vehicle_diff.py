"""Diff one vehicle snapshot against the current state: pure, no database.

Given the rows currently known for a feed and the vehicles of a new poll,
compute what changed: vehicles that stayed (nothing to write), moved beyond
the drift tolerance of their stay's anchor (close a stay, open a new one),
changed state in place (an event inside the stay), changed only attributes or
drifted within the tolerance (update the current row), appeared, vanished,
came back after an absence, and ID rotations in place (a vanished ID and a new
ID at the same position, in the same or a later poll: the same physical
vehicle). See docs/ingest.md "Stays" for the definition this implements.

Distances are metres, from an equirectangular projection around each pair of
points: at GPS-noise scale (metres to tens of metres) it is exact to well under
a millimetre, and it needs no projection library on the hot path.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from gbfs_ingest.model import Vehicle

M_PER_DEG_LAT = 111_132.0
M_PER_DEG_LON_EQ = 111_320.0

# Confidence that a rotation link is right: one candidate in range in the same
# poll is near-certain; stacked vehicles (several candidates) or a link across a
# poll gap lower it. Stated with each link, and carried by the dwell.
CONF_UNIQUE_SAME_POLL = 0.95
CONF_UNIQUE_NEXT_POLL = 0.85


@dataclass(slots=True)
class CurrentRow:
    """What is known now about one published GBFS id of a feed."""

    gbfs_id: str
    vehicle_id: int
    dwell_id: int
    lat: float | None
    lon: float | None
    state: str
    vehicle_type_id: str | None
    station_id: str | None
    range_m: float | None
    fuel_percent: float | None
    missing_since: datetime | None = None
    last_seen_at: datetime | None = None
    #: consecutive healthy polls the id has been absent from (0: published)
    absent_polls: int = 0
    #: the stay's anchor (its first position); None = the row's own position
    anchor_lat: float | None = None
    anchor_lon: float | None = None
    #: False once the stay was ended while the id awaits a rotation link
    stay_open: bool = True
    #: when the vehicle was first seen beyond the drift tolerance (an outlier until
    #: the next poll confirms the move)
    far_since: datetime | None = None

    def anchor(self) -> tuple[float | None, float | None]:
        if self.anchor_lat is None or self.anchor_lon is None:
            return self.lat, self.lon
        return self.anchor_lat, self.anchor_lon


@dataclass(slots=True)
class Link:
    new: Vehicle
    old: CurrentRow
    distance_m: float
    confidence: float
    same_state: bool
    #: the new position is within the drift tolerance of the stay's anchor
    in_place: bool = True
    #: beyond it, but within the outlier band, for the first time: the stay waits
    outlier: bool = False


@dataclass(slots=True)
class VehicleDiff:
    moved: list[tuple[Vehicle, CurrentRow]] = field(default_factory=list)  # new dwell
    #: a first fix beyond the drift tolerance, within the outlier band: not yet a move
    outliers: list[tuple[Vehicle, CurrentRow]] = field(default_factory=list)
    state_changed: list[tuple[Vehicle, CurrentRow]] = field(default_factory=list)  # in place
    attrs_changed: list[tuple[Vehicle, CurrentRow]] = field(default_factory=list)
    reappeared: list[tuple[Vehicle, CurrentRow]] = field(default_factory=list)  # same id back
    appeared: list[Vehicle] = field(default_factory=list)  # new physical vehicles
    links: list[Link] = field(default_factory=list)  # rotation in place
    vanished: list[CurrentRow] = field(default_factory=list)  # now pending
    expired: list[CurrentRow] = field(default_factory=list)  # pending, never linked: close
    unchanged: int = 0

    @property
    def changed_count(self) -> int:
        return (
            len(self.moved)
            + len(self.outliers)
            + len(self.state_changed)
            + len(self.attrs_changed)
            + len(self.reappeared)
            + len(self.appeared)
            + len(self.links)
            + len(self.vanished)
            + len(self.expired)
        )


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Metres between two nearby WGS 84 points (equirectangular around their mean)."""
    dy = (lat2 - lat1) * M_PER_DEG_LAT
    dx = (lon2 - lon1) * M_PER_DEG_LON_EQ * math.cos(math.radians((lat1 + lat2) * 0.5))
    return math.hypot(dx, dy)


#: A first fix up to this many times the drift tolerance from the anchor is taken
#: for a GPS outlier until the next poll: a stay ends on a confirmed move only.
OUTLIER_FACTOR = 2.0


def _from_anchor(row: CurrentRow, v: Vehicle) -> float:
    """Metres from the stay's anchor (docked: 0 at the same station, else infinite)."""
    lat, lon = row.anchor()
    if v.lat is None or lat is None or v.lon is None or lon is None:
        # docked vehicles without coordinates: same station means same place
        same = v.lat is None and lat is None and v.station_id == row.station_id
        return 0.0 if same else math.inf
    return distance_m(lat, lon, v.lat, v.lon)


def _same_place(row: CurrentRow, v: Vehicle, drift_m: float) -> bool:
    """Within the drift tolerance of the stay's anchor (docked: the same station)."""
    return _from_anchor(row, v) <= drift_m


def is_outlier(row: CurrentRow, v: Vehicle, drift_m: float) -> bool:
    """A first fix beyond the tolerance but within the outlier band, with no absence."""
    return (
        row.far_since is None
        and row.missing_since is None
        and _from_anchor(row, v) <= drift_m * OUTLIER_FACTOR
    )


def _near(row: CurrentRow, v: Vehicle, noise_m: float) -> bool:
    """Within ``noise_m`` of the row's last written position (docked: same station)."""
    if v.lat is None or row.lat is None or v.lon is None or row.lon is None:
        return v.lat is None and row.lat is None and v.station_id == row.station_id
    return distance_m(row.lat, row.lon, v.lat, v.lon) <= noise_m


def diff_vehicles(
    current: dict[str, CurrentRow],
    vehicles: list[Vehicle],
    *,
    drift_m: float,
    link_m: float,
    noise_m: float = 15.0,
    previous: list[Vehicle] | None = None,
    pending_ids: Collection[str] = (),
    carried_from: np.ndarray | None = None,
) -> VehicleDiff:
    """Compare a new snapshot (ids unique) with the current rows of the feed.

    ``previous``, when given, is the snapshot the rows were last synced with:
    every row not missing was built from, or found equal to, one of its
    vehicles, and ``pending_ids`` are the rows marked missing. A vehicle that is
    the very same object as one of ``previous`` (the parser reuses the object
    for a byte-identical record) is then unchanged without looking at its row,
    so a poll only touches what changed (vectorised over object addresses).
    ``carried_from`` (from the parser) says it directly: for each vehicle, the
    index of the same object in ``previous``, or -1.
    """
    out = VehicleDiff()
    if previous:
        if carried_from is not None:
            carried = carried_from >= 0
            kept = np.zeros(len(previous), bool)
            kept[carried_from[carried]] = True
        else:
            new_addr = np.fromiter(map(id, vehicles), np.int64, len(vehicles))
            old_addr = np.fromiter(map(id, previous), np.int64, len(previous))
            carried = _member(new_addr, np.sort(old_addr))
            kept = _member(old_addr, np.sort(new_addr))
        changed = [vehicles[i] for i in np.flatnonzero(~carried).tolist()]
        dropped = [previous[j] for j in np.flatnonzero(~kept).tolist()]
        seen, new_ids = _compare(current, changed, out, drift_m, noise_m)
        out.unchanged += int(carried.sum())
        get = current.get
        vanished_now = [
            row
            for row in (get(p.vehicle_id) for p in dropped if p.vehicle_id not in seen)
            if row is not None and row.missing_since is None
        ]
        pending = [
            row
            for row in (get(gid) for gid in pending_ids if gid not in seen)
            if row is not None and row.missing_since is not None
        ]
    else:
        seen, new_ids = _compare(current, vehicles, out, drift_m, noise_m)
        vanished_now, pending = [], []
        for gid, row in current.items():
            if gid in seen:
                continue
            if row.missing_since is None:
                vanished_now.append(row)
            else:
                pending.append(row)

    linked_old: set[str] = set()
    if new_ids and (vanished_now or pending):
        out.links = _link_rotations(new_ids, vanished_now, pending, link_m, drift_m)
        linked_new = {id(link.new) for link in out.links}
        linked_old = {link.old.gbfs_id for link in out.links}
        out.appeared = [v for v in new_ids if id(v) not in linked_new]
    else:
        out.appeared = new_ids
    out.vanished = [r for r in vanished_now if r.gbfs_id not in linked_old]
    out.expired = [r for r in pending if r.gbfs_id not in linked_old]
    return out


def _member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``values`` found in ``sorted_set`` (faster than np.isin on addresses)."""
    if not len(sorted_set):
        return np.zeros(len(values), bool)
    pos = np.searchsorted(sorted_set, values)
    pos[pos == len(sorted_set)] = 0
    return sorted_set[pos] == values


def _compare(
    current: dict[str, CurrentRow],
    vehicles: list[Vehicle],
    out: VehicleDiff,
    drift_m: float,
    noise_m: float,
) -> tuple[set[str], list[Vehicle]]:
    """Sort ``vehicles`` against their rows into ``out``; returns (ids seen, new ids).

    Within the stay's drift tolerance, the current row's position is rewritten
    only when the vehicle is more than ``noise_m`` from it (GPS jitter of a
    parked vehicle writes nothing)."""
    seen: set[str] = set()
    new_ids: list[Vehicle] = []
    get = current.get
    moved_append = out.moved.append
    unchanged = 0
    for v in vehicles:
        vid = v.vehicle_id
        seen.add(vid)
        row = get(vid)
        if row is None:
            new_ids.append(v)
            continue
        state = "disabled" if v.is_disabled else ("reserved" if v.is_reserved else "available")
        # fast path: the vehicle did not move at all (the common case)
        if (
            v.lat == row.lat
            and v.lon == row.lon
            and v.station_id == row.station_id
            and row.far_since is None
        ):
            same_place, drifted = True, False
        else:
            same_place = _same_place(row, v, drift_m)
            drifted = same_place and not _near(row, v, noise_m)
        if row.missing_since is not None:
            # back after an absence: the store decides (grace) whether the stay goes on
            if same_place:
                out.reappeared.append((v, row))
            else:
                moved_append((v, row))
            continue
        if not same_place:
            if is_outlier(row, v, drift_m):
                out.outliers.append((v, row))
            else:
                moved_append((v, row))
        elif state != row.state:
            out.state_changed.append((v, row))
        elif (
            drifted
            or row.far_since is not None  # back in place: the outlier is cleared
            or v.current_range_meters != row.range_m
            or v.current_fuel_percent != row.fuel_percent
            or v.vehicle_type_id != row.vehicle_type_id
            or v.station_id != row.station_id
        ):
            out.attrs_changed.append((v, row))
        else:
            unchanged += 1
    out.unchanged += unchanged
    return seen, new_ids


def _cell(lat: float, lon: float, size_deg_lat: float, size_deg_lon: float) -> tuple[int, int]:
    return (math.floor(lat / size_deg_lat), math.floor(lon / size_deg_lon))


_CELL_KEY = 1 << 32
#: Above this many (new, old) pairs, rule out far-apart ones with numpy first.
PREFILTER_MIN_PAIRS = 10_000


def _near_each_other(
    new_ids: list[Vehicle],
    olds: list[tuple[CurrentRow, bool]],
    dlat: float,
    dlon: float,
) -> tuple[list[Vehicle], list[tuple[CurrentRow, bool]]]:
    """Keep the new ids with an old one in a neighbouring grid cell, and those olds
    (vectorised: thousands of trips a poll rarely end where another vanished)."""
    placed = [v for v in new_ids if v.lat is not None and v.lon is not None]
    n_lat = np.fromiter((v.lat for v in placed), np.float64, len(placed))
    n_lon = np.fromiter((v.lon for v in placed), np.float64, len(placed))
    o_lat = np.fromiter((r.lat for r, _ in olds), np.float64, len(olds))
    o_lon = np.fromiter((r.lon for r, _ in olds), np.float64, len(olds))
    n_i, n_j = np.floor(n_lat / dlat).astype(np.int64), np.floor(n_lon / dlon).astype(np.int64)
    o_i, o_j = np.floor(o_lat / dlat).astype(np.int64), np.floor(o_lon / dlon).astype(np.int64)
    o_key = o_i * _CELL_KEY + o_j
    o_cells = np.unique(o_key)
    around = [(n_i + di) * _CELL_KEY + (n_j + dj) for di in (-1, 0, 1) for dj in (-1, 0, 1)]
    near = np.zeros(len(placed), bool)
    for keys in around:
        near |= _member(keys, o_cells)
    reached = np.unique(np.concatenate(around)[np.repeat(near[None, :], 9, 0).ravel()])
    keep_old = _member(o_key, reached)
    return (
        [placed[k] for k in np.flatnonzero(near).tolist()],
        [olds[k] for k in np.flatnonzero(keep_old).tolist()],
    )


def _link_rotations(
    new_ids: list[Vehicle],
    vanished_now: list[CurrentRow],
    pending: list[CurrentRow],
    link_m: float,
    drift_m: float = math.inf,
) -> list[Link]:
    """Greedy nearest matching of new ids to vanished ids within ``link_m`` metres.

    Candidates of the same state and vehicle type are preferred; pairs are taken
    in order of distance so that each old and each new id is used once. A link's
    confidence falls with the number of candidates in range (stacked vehicles)
    and when the old id vanished in the previous poll rather than this one.
    """
    olds = [(r, True) for r in vanished_now] + [(r, False) for r in pending]
    with_pos = [(r, same) for r, same in olds if r.lat is not None and r.lon is not None]
    by_station: dict[str, list[tuple[CurrentRow, bool]]] = defaultdict(list)
    for r, same in olds:
        if r.lat is None and r.station_id is not None:
            by_station[r.station_id].append((r, same))
    if not with_pos and not by_station:
        return []
    ref_lat = (with_pos[0][0].lat if with_pos else 45.0) or 45.0
    dlat = link_m / M_PER_DEG_LAT
    dlon = link_m / (M_PER_DEG_LON_EQ * max(0.01, math.cos(math.radians(ref_lat))))
    if len(new_ids) * len(with_pos) > PREFILTER_MIN_PAIRS and not by_station:
        new_ids, with_pos = _near_each_other(new_ids, with_pos, dlat, dlon)
    grid: dict[tuple[int, int], list[tuple[CurrentRow, bool]]] = defaultdict(list)
    for r, same in with_pos:
        grid[_cell(r.lat, r.lon, dlat, dlon)].append((r, same))  # type: ignore[arg-type]

    pairs: list[tuple[float, int, Vehicle, CurrentRow, bool, int]] = []
    for v in new_ids:
        cands: list[tuple[CurrentRow, bool, float]] = []
        if v.lat is not None and v.lon is not None:
            ci, cj = _cell(v.lat, v.lon, dlat, dlon)
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    for r, same in grid.get((ci + di, cj + dj), ()):
                        d = distance_m(r.lat, r.lon, v.lat, v.lon)  # type: ignore[arg-type]
                        if d <= link_m:
                            cands.append((r, same, d))
        elif v.station_id is not None:
            cands = [(r, same, 0.0) for r, same in by_station.get(v.station_id, ())]
        state = v.state.value
        for r, same, d in cands:
            # penalty orders candidates: same state and type first, then distance
            penalty = (0 if r.state == state else 2) + (
                0 if r.vehicle_type_id == v.vehicle_type_id else 1
            )
            pairs.append((penalty * 1e6 + d, len(cands), v, r, same, penalty))
    pairs.sort(key=lambda p: (p[0], p[3].gbfs_id, p[2].vehicle_id))
    used_new: set[int] = set()
    used_old: set[str] = set()
    links: list[Link] = []
    for score, n_cands, v, r, same, _penalty in pairs:
        if id(v) in used_new or r.gbfs_id in used_old:
            continue
        used_new.add(id(v))
        used_old.add(r.gbfs_id)
        base = CONF_UNIQUE_SAME_POLL if same else CONF_UNIQUE_NEXT_POLL
        confidence = round(base / n_cands, 3)
        d = score % 1e6
        a_lat, a_lon = r.anchor()
        in_place = (
            v.lat is None
            or a_lat is None
            or a_lon is None
            or distance_m(a_lat, a_lon, v.lat, v.lon) <= drift_m  # type: ignore[arg-type]
        )
        links.append(
            Link(
                new=v,
                old=r,
                distance_m=round(d, 2),
                confidence=confidence,
                same_state=r.state == v.state.value,
                in_place=in_place,
                outlier=not in_place and is_outlier(r, v, drift_m),
            )
        )
    return links
