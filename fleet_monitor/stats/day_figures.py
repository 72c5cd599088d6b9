"""One local day's figures per operator, by the statistics' own day computation.

The daily compliance report takes its deployed fleet, idle distribution, feed
figures and violation counts from here: the same computation
(:func:`fleet_monitor.stats.aggregate.compute_day`, nothing written) and the same
summaries (:func:`~fleet_monitor.stats.series.summarise`,
:func:`~fleet_monitor.stats.series.coverage_block`,
:func:`~fleet_monitor.stats.report_sections.feed_figures`) as the statistics page,
its API and its exports, so that the two cannot disagree on a settled day. The
definitions (samples, buckets, outcomes) are in :mod:`fleet_monitor.history.definitions`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from fleet_monitor.history.definitions import IDLE_BUCKET_KEYS
from fleet_monitor.models.stats import ALL
from fleet_monitor.stats.aggregate import AggregateConfig, compute_day
from fleet_monitor.stats.report_sections import feed_figures
from fleet_monitor.stats.series import coverage_block, rnd, summarise


@dataclass(slots=True)
class OperatorDay:
    """The shared figures of one operator for one local day."""

    fleet: dict[str, Any]
    idle: dict[str, Any]
    feed: dict[str, Any]
    violations: dict[str, dict[str, int]] = field(default_factory=dict)


def _times(t0: datetime, step: int, n: int) -> np.ndarray:
    return t0.timestamp() + step * np.arange(n, dtype=np.float64)


def operator_days(cur: Any, day: date, cfg: AggregateConfig) -> dict[int, OperatorDay]:
    """Per operator id with data that day: its :class:`OperatorDay`."""
    rows = compute_day(cur, day, cfg).rows
    fleet = {
        r[1]: np.asarray([r[4], r[5], r[6]], dtype=np.int64)
        for r in rows["stats_fleet_day"]
        if r[2] == ALL and r[3] == ALL
    }
    idle = {r[1]: r for r in rows["stats_idle_day"] if r[2] == ALL and r[3] == ALL}
    out: dict[int, OperatorDay] = {}
    for _day, op, t0, step, expected, observed, idle_at, _ie, idle_obs, _p in rows[
        "stats_coverage_day"
    ]:
        if op == 0:
            continue
        exp, obs = np.asarray(expected, bool), np.asarray(observed, bool)
        counts = fleet.get(op, np.zeros((3, len(obs)), dtype=np.int64))
        summary = summarise(_times(t0, step, len(obs)), obs, counts)
        deployed = counts.sum(axis=0)[obs]
        summary["deployed_min"] = int(deployed.min()) if len(deployed) else None
        i = idle.get(op)
        buckets = list(i[6]) if i is not None else [0] * len(IDLE_BUCKET_KEYS)
        vehicles = int(i[4]) if i is not None else 0
        out[op] = OperatorDay(
            fleet={**summary, **coverage_block(exp, obs)},
            idle={
                "sampled_at": idle_at.astimezone(UTC),
                "observed": bool(idle_obs),
                "vehicles": vehicles if idle_obs else None,
                "buckets": dict(zip(IDLE_BUCKET_KEYS, (int(b) for b in buckets), strict=True)),
                "p50_h": rnd(i[8], 2) if i is not None else None,
                "p90_h": rnd(i[9], 2) if i is not None else None,
                "lower_bounds": int(i[7]) if i is not None else 0,
            },
            feed=feed_figures(
                [
                    (r[1], r[0], r[2], r[3], r[4], r[6], r[7], r[8], r[9], r[10])
                    for r in rows["stats_feed_day"]
                    if r[1] == op and r[2] == "vehicle_status"
                ]
            ),
        )
    for _d, op, rule, _zone, area, status, opened, closed, _h in rows["stats_violation_day"]:
        if area != ALL:
            continue
        if op not in out:  # violations of an operator without a vehicle feed
            out[op] = OperatorDay(fleet={}, idle={}, feed=feed_figures([]))
        v = out[op].violations.setdefault(rule, {"opened": 0, "uncertain": 0, "closed": 0})
        v["opened"] += int(opened)
        v["uncertain"] += int(opened) if status == "uncertain" else 0
        v["closed"] += int(closed)
    return out
