"""``evaluate_all``: every rule, on one set of inputs, at one instant. Still pure.

What the DB layer does with the result (documented here, implemented there):
open a violation for each new ``Finding.key``; keep it open (last seen,
measured value) while the key comes back; close it, with the evaluation that
no longer found it, when the key is missing from a later evaluation, unless
the finding's operator is in outage at that time (then hold it: vehicle and
count rules return nothing for an operator in outage).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from rules.findings import Finding, sort_findings
from rules.geo import BBox, PreparedCity, prepare_city
from rules.inputs import (
    CountSample,
    FeedHealthSample,
    OutageSpan,
    Permit,
    VehicleSnapshot,
    Zone,
    active_permits,
)
from rules.limits import EARLIEST
from rules.registry import EvaluationContext, evaluators
from rules.vehicle_rules import FleetContext


def evaluate_all(
    snapshots: Sequence[VehicleSnapshot],
    zones: Sequence[Zone],
    permits: Iterable[Permit],
    samples: Iterable[CountSample],
    outages: Iterable[OutageSpan],
    now: datetime,
    *,
    health: Iterable[FeedHealthSample] = (),
    city: PreparedCity | None = None,
    line_half_width_m: float = 1.5,
    aoi: BBox | None = None,
) -> list[Finding]:
    """All findings at ``now``, sorted by rule type, operator and key: every
    evaluator of ``rules.registry.REGISTRY``, each once.

    ``snapshots``: the last known state of every vehicle believed in public
    space at ``now`` (including, flagged ``in_outage``, those of operators in
    outage). ``samples``: count samples of the counting window. ``city``: a
    ``PreparedCity`` built from ``zones`` (pass it to reuse it across
    evaluations; otherwise one is memoised per zones content and tolerance).
    """
    snapshots = list(snapshots)
    permits = list(permits)
    outages = list(outages)
    base = EvaluationContext(
        snapshots=snapshots,
        permits=permits,
        now=now,
        outages=outages,
        samples=list(samples),
        health=list(health),
    )
    todo = evaluators()
    findings: list[Finding] = []
    for ev in todo:
        if ev.needs == "data":
            findings += ev.run(base)

    active = active_permits(permits, now)
    if zones or city is not None:
        tolerances = sorted({p.gps_tolerance_m for p in active.values()})
        located_all = None
        for tol in tolerances:
            ops = {o for o, p in active.items() if p.gps_tolerance_m == tol}
            subset = (
                snapshots if len(tolerances) == 1 else [s for s in snapshots if s.operator in ops]
            )
            c = _city(city, zones, tol, line_half_width_m, aoi)
            located = c.locate(subset, now)
            if len(tolerances) == 1:
                located_all = located
            ctx = replace(
                base,
                snapshots=subset,
                city=c,
                located=located,
                fleet=FleetContext.build(subset, permits, now, outages),
            )
            for ev in todo:
                if ev.needs == "located":
                    findings += ev.run(ctx)
        if tolerances:
            # a shared capacity needs every operator's vehicles in one count
            c = _city(city, zones, tolerances[0], line_half_width_m, aoi)
            ctx = replace(base, city=c, located=located_all)
            for ev in todo:
                if ev.needs == "city":
                    findings += ev.run(ctx)
    return sort_findings(findings)


def _city(
    city: PreparedCity | None,
    zones: Sequence[Zone],
    tolerance_m: float,
    line_half_width_m: float,
    aoi: BBox | None,
) -> PreparedCity:
    if city is not None and city.tolerance_m == tolerance_m:
        return city
    source = zones if zones else (city.zones if city is not None else ())
    return prepare_city(
        list(source), tolerance_m=tolerance_m, line_half_width_m=line_half_width_m, aoi=aoi
    )


def apply_draft(permits: Iterable[Permit], draft: Permit) -> list[Permit]:
    """Permits for a what-if replay: ``draft`` replaces every version of its
    operator's permit and is in force at any time the rules take (its own dates are
    ignored)."""
    always = replace(draft, effective_from=EARLIEST, effective_to=None)
    return [p for p in permits if p.operator != draft.operator] + [always]


def summarise_replay(
    evaluations: Iterable[Sequence[Finding]],
) -> dict[tuple[str, str], dict[str, int]]:
    """Distinct findings per (operator, rule type) over successive evaluations.

    A violation found at many instants counts once per episode (same ``key``
    and ``since``); uncertain cases are counted apart. Returns
    ``{(operator, rule_type): {"violation": n, "uncertain": m}}``.
    """
    seen: dict[tuple[str, str], dict[str, set[tuple[str, datetime | None]]]] = {}
    for findings in evaluations:
        for f in findings:
            per = seen.setdefault(
                (f.operator, str(f.rule_type)), {"violation": set(), "uncertain": set()}
            )
            per[f.status].add((f.key, f.since))
    return {k: {s: len(v) for s, v in per.items()} for k, per in sorted(seen.items())}
