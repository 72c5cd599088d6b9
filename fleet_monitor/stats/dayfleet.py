"""One local day's fleet figures from its stays (pure numpy, no database).

* Sample grid: every ``step`` seconds since the Unix epoch within the local day.
  A vehicle is *deployed* at T when one of its stays in state available,
  reserved or disabled covers T (``started_at <= T < ended_at``).
* Counting is a sweep: each stay adds +1 at its first sample and -1 after its
  last, per dimension combination; a cumulative sum gives the counts. Cost is
  proportional to the stays, not stays x samples.
* Every stay is counted in each of its combinations: its operator and all
  operators (0), its form factor and all ('*'), each stats zone containing it
  and all zones ('*').
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np

from fleet_monitor.history.definitions import IDLE_BUCKET_DAYS, idle_bucket_index, nearest_rank
from fleet_monitor.history.stays import DEPLOYED_STATES, MOVED, VANISHED, Dwells, VehicleFeed
from fleet_monitor.models.stats import ALL, ALL_OPERATORS

N_STATES = len(DEPLOYED_STATES)
N_BUCKETS = len(IDLE_BUCKET_DAYS) + 1
DISABLED = DEPLOYED_STATES.index("disabled")


@dataclass(frozen=True, slots=True)
class DayGrid:
    day: date
    w0: datetime
    w1: datetime
    t0: float  # first sample, epoch s
    step: int
    n: int
    idle_at: float  # epoch s of the daily idle sample

    @property
    def times(self) -> np.ndarray:
        return self.t0 + self.step * np.arange(self.n, dtype=np.float64)


def make_grid(day: date, w0: datetime, w1: datetime, step: int, idle_at: datetime) -> DayGrid:
    a, b = w0.timestamp(), w1.timestamp()
    t0 = math.ceil(a / step) * step
    n = max(0, math.ceil((b - t0) / step))
    return DayGrid(day, w0, w1, float(t0), step, n, idle_at.timestamp())


@dataclass(slots=True)
class Cube:
    """Dimension values of one day; code 0 of each is 'all'."""

    operators: list[int]
    form_factors: list[str]
    zones: list[str]

    @property
    def size(self) -> int:
        return (len(self.operators) + 1) * (len(self.form_factors) + 1) * (len(self.zones) + 1)

    def encode(self, op: np.ndarray, ff: np.ndarray, zone: np.ndarray) -> np.ndarray:
        nf, nz = len(self.form_factors) + 1, len(self.zones) + 1
        return (op * nf + ff) * nz + zone

    def decode(self, combo: int) -> tuple[int, str, str]:
        nf, nz = len(self.form_factors) + 1, len(self.zones) + 1
        op, rest = divmod(int(combo), nf * nz)
        ff, zone = divmod(rest, nz)
        return (
            ALL_OPERATORS if op == 0 else self.operators[op - 1],
            ALL if ff == 0 else self.form_factors[ff - 1],
            ALL if zone == 0 else self.zones[zone - 1],
        )


def make_cube(dwells: Dwells, feeds: Sequence[VehicleFeed]) -> Cube:
    ops = sorted({f.operator_id for f in feeds} | {int(o) for o in np.unique(dwells.operator)})
    return Cube(ops, list(dwells.ff_names), list(dwells.zone_ids))


def expand(cube: Cube, dwells: Dwells, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dwell index, combination) pairs of the stays ``idx``: 4 x (1 + zones) each."""
    idx = np.asarray(idx, dtype=np.int64)
    op_code = np.searchsorted(np.asarray(cube.operators, dtype=np.int64), dwells.operator[idx]) + 1
    ff_code = dwells.ff[idx] + 1  # cube.form_factors are dwells.ff_names
    pos = np.full(len(dwells), -1, dtype=np.int64)
    pos[idx] = np.arange(len(idx), dtype=np.int64)
    member = pos[dwells.zone_dwell] if len(dwells.zone_dwell) else np.empty(0, np.int64)
    keep = member >= 0
    zl = np.concatenate([np.arange(len(idx), dtype=np.int64), member[keep]])
    zc = np.concatenate([np.zeros(len(idx), dtype=np.int64), dwells.zone_code[keep]])
    pairs_d, pairs_c = [], []
    zero = np.zeros(len(zl), dtype=np.int64)
    for opv in (op_code[zl], zero):
        for ffv in (ff_code[zl], zero):
            pairs_d.append(zl)
            pairs_c.append(cube.encode(opv, ffv, zc))
    return idx[np.concatenate(pairs_d)], np.concatenate(pairs_c)


# --------------------------------------------------------------------------- coverage


@dataclass(slots=True)
class Coverage:
    """Per operator id (0 = all): expected and observed masks over the grid, and at the
    idle sample."""

    expected: dict[int, np.ndarray] = field(default_factory=dict)
    observed: dict[int, np.ndarray] = field(default_factory=dict)
    idle_expected: dict[int, bool] = field(default_factory=dict)
    idle_observed: dict[int, bool] = field(default_factory=dict)


def observed_mask(
    times: np.ndarray,
    feed: VehicleFeed,
    observations: np.ndarray,
    outages: Sequence[tuple[float, float]],
    max_age: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(expected, observed) at ``times`` for one vehicle feed."""
    expected = np.zeros(len(times), dtype=bool)
    if feed.first_ok is not None:
        expected = times >= feed.first_ok
        if not feed.active and feed.last_fetch is not None:
            expected &= times <= feed.last_fetch + max_age
    observed = np.zeros(len(times), dtype=bool)
    if len(observations):
        j = np.searchsorted(observations, times, side="right") - 1
        ok = j >= 0
        age = np.where(ok, times - observations[np.maximum(j, 0)], np.inf)
        observed = ok & (age <= max_age)
    for a, b in outages:
        observed &= ~((times >= a) & (times < b))
    return expected, observed & expected


def coverage(
    grid: DayGrid,
    feeds: Sequence[VehicleFeed],
    observations: dict[int, np.ndarray],
    outages: dict[int, list[tuple[float, float]]],
    max_age: float,
) -> Coverage:
    times = grid.times
    both = np.append(times, grid.idle_at)
    cov = Coverage()
    by_op: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    for f in feeds:
        by_op.setdefault(f.operator_id, []).append(
            observed_mask(
                both,
                f,
                observations.get(f.feed_id, np.empty(0)),
                outages.get(f.feed_id, []),
                max_age,
            )
        )
    all_exp = np.zeros(len(both), dtype=bool)
    all_obs = np.ones(len(both), dtype=bool)
    for op, masks in by_op.items():
        exp = np.logical_or.reduce([m[0] for m in masks])
        obs = np.logical_and.reduce([m[1] | ~m[0] for m in masks]) & exp
        cov.expected[op], cov.observed[op] = exp[:-1], obs[:-1]
        cov.idle_expected[op], cov.idle_observed[op] = bool(exp[-1]), bool(obs[-1])
        all_exp |= exp
        all_obs &= obs | ~exp
    all_obs &= all_exp
    cov.expected[ALL_OPERATORS], cov.observed[ALL_OPERATORS] = all_exp[:-1], all_obs[:-1]
    cov.idle_expected[ALL_OPERATORS] = bool(all_exp[-1])
    cov.idle_observed[ALL_OPERATORS] = bool(all_obs[-1])
    return cov


# --------------------------------------------------------------------------- fleet


def fleet_counts(grid: DayGrid, cube: Cube, dwells: Dwells) -> dict[int, np.ndarray]:
    """Per combination: an array (3 states x n samples) of vehicles deployed."""
    n = grid.n
    if n == 0 or len(dwells) == 0:
        return {}
    i0 = np.clip(np.ceil((dwells.start - grid.t0) / grid.step), 0, n).astype(np.int64)
    with np.errstate(invalid="ignore"):
        end = np.where(np.isinf(dwells.end), n, np.ceil((dwells.end - grid.t0) / grid.step))
    i1 = np.clip(end, 0, n).astype(np.int64)
    idx = np.nonzero(i1 > i0)[0]
    if len(idx) == 0:
        return {}
    d, combo = expand(cube, dwells, idx)
    size, width = cube.size, n + 1
    base = (dwells.state[d].astype(np.int64) * size + combo) * width
    total = N_STATES * size * width
    delta = np.bincount(base + i0[d], minlength=total) - np.bincount(base + i1[d], minlength=total)
    counts = np.cumsum(delta.reshape(N_STATES, size, width), axis=2)[:, :, :n]
    used = np.nonzero(counts.any(axis=(0, 2)))[0]
    return {int(c): counts[:, c, :].astype(np.int64) for c in used}


# --------------------------------------------------------------------------- idle


@dataclass(slots=True)
class IdleRow:
    vehicles: int
    disabled: int
    buckets: list[int]
    lower_bound: int
    p50_h: float | None
    p90_h: float | None
    max_h: float | None


def idle_dwells(grid: DayGrid, dwells: Dwells) -> np.ndarray:
    """Indices of the stays covering the idle sample time."""
    t = grid.idle_at
    return np.nonzero((dwells.start <= t) & (t < dwells.end))[0]


def idle_rows(
    grid: DayGrid,
    cube: Cube,
    dwells: Dwells,
    idx: np.ndarray,
    parked_since: dict[int, tuple[float, str]],
) -> dict[int, IdleRow]:
    """Per combination: vehicles at the idle sample by time parked (nearest-rank
    percentiles of hours parked)."""
    if len(idx) == 0:
        return {}
    since = dwells.start.copy()
    lower = ~dwells.observed_start
    for i in idx:
        found = parked_since.get(int(dwells.ids[i]))
        if found is not None:
            since[i] = min(found[0], dwells.start[i])
            lower[i] = found[1] != "observed"
    hours = (grid.idle_at - since) / 3600.0
    bucket = idle_bucket_index(hours / 24.0)
    d, combo = expand(cube, dwells, idx)
    out: dict[int, IdleRow] = {}
    order = np.lexsort((hours[d], combo))
    d, combo = d[order], combo[order]
    cuts = np.nonzero(np.diff(combo))[0] + 1
    for part_d, part_c in zip(np.split(d, cuts), np.split(combo, cuts), strict=True):
        h = hours[part_d]
        counts = np.bincount(bucket[part_d], minlength=N_BUCKETS)
        out[int(part_c[0])] = IdleRow(
            vehicles=len(part_d),
            disabled=int(np.count_nonzero(dwells.state[part_d] == DISABLED)),
            buckets=[int(c) for c in counts],
            lower_bound=int(np.count_nonzero(lower[part_d])),
            p50_h=nearest_rank(h, 0.5),
            p90_h=nearest_rank(h, 0.9),
            max_h=float(h[-1]),
        )
    return out


# --------------------------------------------------------------------------- use

USE_FIELDS = (
    "departures",
    "moved",
    "vanished",
    "excluded_outage",
    "excluded_disabled",
    "excluded_unconfirmed",
)


def departure_kinds(
    grid: DayGrid,
    dwells: Dwells,
    outages: dict[int, list[tuple[float, float]]],
    elsewhere: np.ndarray,
    persistent_feeds: set[int],
) -> tuple[np.ndarray, np.ndarray]:
    """Stays that ended in the day by leaving (moved away or vanished), each with its
    kind: 1 moved, 2 vanished (both departures), 3 excluded: outage, 4 excluded:
    disabled, 5 excluded: vanished without reappearing elsewhere (persistent ids).
    ``elsewhere``: ids of the vanished stays whose vehicle id came back elsewhere."""
    a, b = grid.w0.timestamp(), grid.w1.timestamp()
    left = (
        (dwells.end >= a)
        & (dwells.end < b)
        & ((dwells.reason == MOVED) | (dwells.reason == VANISHED))
    )
    outage = np.zeros(len(dwells), dtype=bool)
    for feed, spans in outages.items():
        mine = left & (dwells.feed == feed)
        for s, e in spans:
            outage |= mine & (s < dwells.end) & (e > dwells.last_seen)
    persistent = np.isin(dwells.feed, np.asarray(sorted(persistent_feeds), dtype=np.int64))
    unconfirmed = persistent & ~np.isin(dwells.ids, elsewhere)
    kind = np.where(dwells.reason == MOVED, 1, np.where(unconfirmed, 5, 2))
    kind = np.where(outage, 3, kind)
    kind = np.where(dwells.state == DISABLED, 4, kind)
    idx = np.nonzero(left)[0]
    return idx, kind[idx].astype(np.int64)


def use_rows(
    cube: Cube, dwells: Dwells, idx: np.ndarray, kinds: np.ndarray
) -> dict[int, list[int]]:
    """Per combination: the ``USE_FIELDS`` counts."""
    if len(idx) == 0:
        return {}
    kind_of = np.zeros(len(dwells), dtype=np.int64)
    kind_of[idx] = kinds
    d, combo = expand(cube, dwells, idx)
    table = np.bincount(combo * 6 + kind_of[d], minlength=cube.size * 6).reshape(cube.size, 6)
    out: dict[int, list[int]] = {}
    for c in np.nonzero(table.any(axis=1))[0]:
        row = table[c]
        out[int(c)] = [
            int(row[1] + row[2]),
            int(row[1]),
            int(row[2]),
            int(row[3]),
            int(row[4]),
            int(row[5]),
        ]
    return out


def vanished_in_day(grid: DayGrid, dwells: Dwells) -> np.ndarray:
    """Indices of the stays of available or reserved vehicles that vanished in the day."""
    a, b = grid.w0.timestamp(), grid.w1.timestamp()
    return np.nonzero(
        (dwells.end >= a)
        & (dwells.end < b)
        & (dwells.reason == VANISHED)
        & (dwells.state != DISABLED)
    )[0]


def id_policies(
    dwells: Dwells, idx: np.ndarray, reappeared: dict[int, tuple[bool, bool]]
) -> dict[int, str]:
    """Per feed: 'persistent' when at least half of the vehicles that vanished (``idx``,
    those looked up) came back under the same id within the window, else 'rotating'."""
    seen: dict[int, list[int]] = {}
    for i in idx:
        back = reappeared.get(int(dwells.ids[i]), (False, False))[0]
        tally = seen.setdefault(int(dwells.feed[i]), [0, 0])
        tally[0] += 1
        tally[1] += int(back)
    return {f: "persistent" if 2 * b >= n else "rotating" for f, (n, b) in seen.items()}
