"""The 5-minute fleet samples of a period, read back from the daily aggregates.

One row per day and dimension combination holds the day's samples as arrays;
a period's samples are those arrays concatenated, with the operator's coverage
masks. A missing fleet row on an aggregated day means zero vehicles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from fleet_monitor.stats.dayfleet import nearest_rank


@dataclass(slots=True)
class DaySamples:
    day: date
    t0: float  # epoch s of the first sample
    step: int
    expected: np.ndarray  # bool
    observed: np.ndarray  # bool
    counts: np.ndarray  # int (3 states x n): available, reserved, disabled

    @property
    def deployed(self) -> np.ndarray:
        return np.asarray(self.counts.sum(axis=0))

    @property
    def times(self) -> np.ndarray:
        return self.t0 + self.step * np.arange(len(self.observed), dtype=np.float64)


@dataclass(slots=True)
class Samples:
    """One operator's (0 = all) samples over a period, one entry per aggregated day."""

    operator_id: int
    days: list[DaySamples] = field(default_factory=list)

    def concat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(times, expected, observed, counts 3 x N)."""
        if not self.days:
            e = np.empty(0)
            return e, e.astype(bool), e.astype(bool), np.zeros((3, 0), dtype=np.int64)
        return (
            np.concatenate([d.times for d in self.days]),
            np.concatenate([d.expected for d in self.days]),
            np.concatenate([d.observed for d in self.days]),
            np.concatenate([d.counts for d in self.days], axis=1),
        )


def load_samples(
    cur: Any,
    first: date,
    end: date,
    operator_ids: Sequence[int],
    form_factor: str,
    zone: str,
) -> dict[int, Samples]:
    """Samples of ``operator_ids`` for days ``[first, end)`` for one form factor and zone."""
    cur.execute(
        "SELECT c.day, c.operator_id, extract(epoch FROM c.first_sample)::float8, c.step_s,"
        " c.expected, c.observed, f.available, f.reserved, f.disabled"
        " FROM stats_coverage_day c LEFT JOIN stats_fleet_day f ON f.day = c.day"
        " AND f.operator_id = c.operator_id AND f.form_factor = %s AND f.zone_id = %s"
        " WHERE c.day >= %s AND c.day < %s AND c.operator_id = ANY(%s)"
        " ORDER BY c.operator_id, c.day",
        (form_factor, zone, first, end, list(operator_ids)),
    )
    out = {op: Samples(op) for op in operator_ids}
    for day, op, t0, step, expected, observed, avail, res, dis in cur.fetchall():
        n = len(observed)
        counts = (
            np.zeros((3, n), dtype=np.int64)
            if avail is None
            else np.asarray([avail, res, dis], dtype=np.int64)
        )
        out[op].days.append(
            DaySamples(
                day, t0, step, np.asarray(expected, bool), np.asarray(observed, bool), counts
            )
        )
    return out


def load_zone_means(
    cur: Any, first: date, end: date, operator_id: int, form_factor: str
) -> dict[str, tuple[float | None, int]]:
    """Per stats zone: (mean deployed over the observed samples, observed samples)."""
    samples = load_samples(cur, first, end, [operator_id], form_factor, "*")[operator_id]
    observed_total = sum(int(d.observed.sum()) for d in samples.days)
    obs_by_day = {d.day: d.observed for d in samples.days}
    cur.execute(
        "SELECT zone_id, day, available, reserved, disabled FROM stats_fleet_day"
        " WHERE day >= %s AND day < %s AND operator_id = %s AND form_factor = %s"
        " AND zone_id <> '*' ORDER BY zone_id, day",
        (first, end, operator_id, form_factor),
    )
    sums: dict[str, float] = {}
    for zone, day, a, r, d in cur.fetchall():
        obs = obs_by_day.get(day)
        if obs is None:
            continue
        dep = np.asarray(a, dtype=np.int64) + np.asarray(r) + np.asarray(d)
        sums[zone] = sums.get(zone, 0.0) + float(dep[obs].sum())
    return {
        z: ((s / observed_total) if observed_total else None, observed_total)
        for z, s in sums.items()
    }


def rnd(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(float(x), digits)


def summarise(times: np.ndarray, observed: np.ndarray, counts: np.ndarray) -> dict[str, Any]:
    """Average, maximum and nearest-rank 95th percentile over the observed samples."""
    deployed = counts.sum(axis=0)
    obs = deployed[observed]
    n = len(obs)
    if n == 0:
        return {
            "deployed_avg": None,
            "deployed_max": None,
            "deployed_p95": None,
            "available_avg": None,
            "reserved_avg": None,
            "disabled_avg": None,
            "hourly_snapshot_avg": None,
        }
    on_hour = observed & (np.mod(times, 3600) == 0)
    return {
        "deployed_avg": rnd(obs.mean()),
        "deployed_max": int(obs.max()),
        "deployed_p95": int(nearest_rank(np.sort(obs), 0.95) or 0),
        "available_avg": rnd(counts[0][observed].mean()),
        "reserved_avg": rnd(counts[1][observed].mean()),
        "disabled_avg": rnd(counts[2][observed].mean()),
        "hourly_snapshot_avg": rnd(deployed[on_hour].mean()) if on_hour.any() else None,
    }


def coverage_block(expected: np.ndarray, observed: np.ndarray) -> dict[str, Any]:
    exp, obs = int(expected.sum()), int((observed & expected).sum())
    return {
        "samples_expected": exp,
        "samples_observed": obs,
        "coverage": rnd(obs / exp) if exp else None,
    }
