"""What-if: evaluate a draft permit against stored history, touching nothing.

At each time of the grid ``start, start + every, ... <= end`` the vehicle state
is reconstructed from the dwells (the last observation at or before that
time), with the outages and feed health of that time; count samples are taken
in memory at the same times (the draft's counting method applies to the
evaluation times, not to its own 5-minute grid: the report says so). The
draft replaces every version of its operator's permit over the whole period
(``rules.apply_draft``); the other operators keep their stored permits.
Findings are summarised per operator and rule, each distinct episode once
(``rules.summarise_replay``). Nothing is written: the caller may run it in a
read-only transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from fleet_monitor.settings import RulesSettings
from fleet_monitor.violations.catalog import CityCache, load_permits
from fleet_monitor.violations.inputs import counting_of, take_samples
from fleet_monitor.violations.service import build_context, evaluate, sampling_city
from rules import CountSample, Finding, Permit, apply_draft, summarise_replay

MAX_EVALUATIONS = 10_000


@dataclass(slots=True)
class ReplayReport:
    draft: Permit
    start: datetime
    end: datetime
    every: timedelta
    evaluations: int = 0
    vehicles_max: int = 0
    results: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        per_op: dict[str, dict[str, int]] = {}
        for (op, _rule), counts in self.results.items():
            acc = per_op.setdefault(op, {"violation": 0, "uncertain": 0})
            for k, v in counts.items():
                acc[k] += v
        return {
            "draft": {
                "operator": self.draft.operator,
                "version": self.draft.version,
                "name": self.draft.name,
            },
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "every_s": self.every.total_seconds(),
            "evaluations": self.evaluations,
            "vehicles_max": self.vehicles_max,
            "method": (
                "vehicle state reconstructed from the stored dwells at each evaluation time;"
                " counts sampled at the evaluation times; each distinct episode counted once"
            ),
            "results": [
                {"operator": op, "rule_type": rule, **counts}
                for (op, rule), counts in sorted(self.results.items())
            ],
            "per_operator": per_op,
        }


def replay_draft(
    session: Session,
    draft: Permit,
    start: datetime,
    end: datetime,
    every: timedelta,
    *,
    city_cache: CityCache | None = None,
    settings: RulesSettings | None = None,
) -> ReplayReport:
    if every <= timedelta(0):
        raise ValueError("every must be positive")
    if end < start:
        raise ValueError("the end of the replay is before its start")
    if (end - start) / every > MAX_EVALUATIONS:
        raise ValueError(f"more than {MAX_EVALUATIONS} evaluations: use a longer --every")
    settings = settings or RulesSettings()
    cache = city_cache or CityCache()
    permits = apply_draft(load_permits(session), draft)
    report = ReplayReport(draft, start, end, every)
    evaluations: list[list[Finding]] = []
    samples: list[CountSample] = []
    t = start
    while t <= end:
        ctx = build_context(session, t, cache, settings, permits=permits)
        city = sampling_city(ctx)
        operators = {s.operator for s in ctx.snaps.snapshots} | {p.operator for p in permits}
        samples += take_samples(
            session,
            t,
            permits,
            city,
            snapshots=ctx.snaps,
            outages=ctx.outages,
            operators=operators,
            store=False,
        )
        window = max((counting_of(p).window for p in permits), default=timedelta(hours=24))
        samples = [s for s in samples if s.time > t - window]
        evaluations.append(evaluate(ctx, samples, settings))
        report.evaluations += 1
        report.vehicles_max = max(report.vehicles_max, len(ctx.snaps.snapshots))
        t += every
    report.results = summarise_replay(evaluations)
    return report
