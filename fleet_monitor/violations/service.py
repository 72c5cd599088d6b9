"""Evaluate every rule on the stored data at one instant, and record the outcome.

``evaluate_rules(session, now)`` reads the inputs from the database (vehicle
snapshots, zones, permits, outages, feed health, count samples), runs
``rules.evaluate_all`` and applies the violation lifecycle
(:mod:`fleet_monitor.violations.lifecycle`), recording a ``rules_run``.
``sample_counts(session, at)`` takes the count samples due at ``at``.

Nothing here reads the clock: the caller gives ``now`` (the scheduler's clock,
the demo's simulated clock, or a time given on the command line) and owns the
transaction. Evaluations are serialised by an advisory lock and must move
forward in time: evaluating before the latest recorded run is refused (use
``rules replay`` for the past). Given the caller's clock, runs dated after it
(a bad ``--at`` of an older version) are voided first (``recovery``).

A bad configuration never halts an evaluation: zones and permits the engine
cannot use are skipped (``rules.prepare``), the others still evaluated, and
what was skipped is recorded (``config_errors``) for the admin page.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from psycopg.types.json import Jsonb
from sqlalchemy.orm import Session

from datastore import pg_connection
from fleet_monitor.history.feed_inputs import load_fetch_history, load_health, load_outages
from fleet_monitor.history.snapshots import (
    SnapshotSet,
    gc_paused,
    load_snapshots,
    vehicle_feeds,
)
from fleet_monitor.settings import RulesSettings
from fleet_monitor.violations.catalog import CityCache, load_permits, load_permits_checked
from fleet_monitor.violations.config_errors import record_issues
from fleet_monitor.violations.inputs import (
    counting_of,
    due_sample_times,
    latest_grid_time,
    load_samples,
    take_samples,
)
from fleet_monitor.violations.lifecycle import Lifecycle, LifecycleResult
from fleet_monitor.violations.recovery import VoidedRuns, void_future_runs
from rules import (
    ConfigIssue,
    CountSample,
    EvaluationInputs,
    FeedHealthSample,
    Finding,
    OutageSpan,
    Permit,
    PreparedCity,
    RuleType,
    VehicleSnapshot,
    active_permits,
    evaluate_checked,
    evaluate_monthly_availability,
)
from rules.timing import month_bounds

_LOCK = "hashtext('fleet_monitor.rules')"


class RulesError(ValueError):
    """The rules cannot be evaluated as asked (e.g. before the latest run)."""


@dataclass(slots=True)
class RunSummary:
    run_id: int
    as_of: datetime
    trigger: str
    vehicles: int
    findings: int
    by_rule: dict[str, dict[str, int]]
    lifecycle: LifecycleResult
    operators_in_outage: list[str]
    permits: dict[str, int]
    snapshot_source: str
    samples_taken: int = 0
    timings_ms: dict[str, float] = field(default_factory=dict)
    config_issues: list[ConfigIssue] = field(default_factory=list)
    voided: VoidedRuns | None = None

    @property
    def duration_s(self) -> float:
        return self.timings_ms.get("total", 0.0) / 1000

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "as_of": self.as_of.isoformat(),
            "trigger": self.trigger,
            "vehicles": self.vehicles,
            "findings": self.findings,
            "by_rule": self.by_rule,
            **self.lifecycle.as_dict(),
            "operators_in_outage": self.operators_in_outage,
            "permits": self.permits,
            "snapshot_source": self.snapshot_source,
            "samples_taken": self.samples_taken,
            "timings_ms": self.timings_ms,
            "config_issues": [
                {"kind": i.kind, "subject": i.label, "severity": i.severity, "reason": i.reason}
                for i in self.config_issues
            ],
            "voided_runs": self.voided.run_ids if self.voided is not None else [],
        }


class _Timer:
    def __init__(self) -> None:
        self.t0 = self.last = time.perf_counter()
        self.marks: dict[str, float] = {}

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self.marks[name] = round((now - self.last) * 1000, 1)
        self.last = now

    def total(self) -> dict[str, float]:
        self.marks["total"] = round((time.perf_counter() - self.t0) * 1000, 1)
        return self.marks


def vehicles_extent(snapshots: list[VehicleSnapshot]) -> tuple[float, float, float, float] | None:
    """Extent of the vehicles, rounded outward to 0.5 degree (a stable cache key)."""
    if not snapshots:
        return None
    lon = np.fromiter((s.lon for s in snapshots), float, len(snapshots))
    lat = np.fromiter((s.lat for s in snapshots), float, len(snapshots))
    lo = np.floor(np.percentile(lon, 1) * 2) / 2, np.floor(np.percentile(lat, 1) * 2) / 2
    hi = np.ceil(np.percentile(lon, 99) * 2) / 2, np.ceil(np.percentile(lat, 99) * 2) / 2
    return (
        float(lo[0]),
        float(lo[1]),
        float(max(hi[0], lo[0] + 0.5)),
        float(max(hi[1], lo[1] + 0.5)),
    )


@dataclass(slots=True)
class Context:
    """Everything the engine needs at one instant (also used by the replay)."""

    now: datetime
    snaps: SnapshotSet
    permits: list[Permit]
    zones_version: str
    city: PreparedCity | None
    outages: list[OutageSpan]
    health: list[FeedHealthSample]
    #: zones and permits skipped or repaired so far (evaluate() adds its own)
    issues: list[ConfigIssue] = field(default_factory=list)


def build_context(
    session: Session,
    now: datetime,
    cache: CityCache,
    settings: RulesSettings,
    *,
    permits: list[Permit] | None = None,
    as_of: bool | None = None,
) -> Context:
    feeds = vehicle_feeds(session, now)
    snaps = load_snapshots(session, now, feeds=feeds, as_of=as_of)
    issues: list[ConfigIssue] = []
    if permits is None:
        permits, issues = load_permits_checked(session)
    version, zones = cache.zones(session)
    active = active_permits(permits, now)
    tolerances = Counter(p.gps_tolerance_m for p in active.values())
    tol = tolerances.most_common(1)[0][0] if tolerances else settings.gps_tolerance_m
    prepared = cache.city(
        version, zones, tol, settings.line_half_width_m, vehicles_extent(snaps.snapshots)
    )
    return Context(
        now,
        snaps,
        permits,
        version,
        prepared.city,
        load_outages(session, now),
        load_health(session, now, feeds),
        issues + prepared.issues,
    )


def sampling_city(ctx: Context) -> PreparedCity:
    """The prepared city, or an empty one (no zones: every vehicle counts as deployed)."""
    if ctx.city is not None:
        return ctx.city
    return PreparedCity([], aoi=vehicles_extent(ctx.snaps.snapshots) or (0.0, 0.0, 1.0, 1.0))


def evaluate(ctx: Context, samples: list[CountSample], settings: RulesSettings) -> list[Finding]:
    """Every rule on the context (``rules.evaluate_checked``: what the engine cannot use
    is skipped and added to ``ctx.issues``)."""
    findings, issues = evaluate_checked(
        EvaluationInputs(
            ctx.snaps.snapshots,
            ctx.permits,
            samples,
            ctx.outages,
            ctx.now,
            health=ctx.health,
            city=ctx.city,
            line_half_width_m=settings.line_half_width_m,
        )
    )
    ctx.issues.extend(i for i in issues if i not in ctx.issues)
    return findings


def _refine_monthly(session: Session, ctx: Context, findings: list[Finding]) -> list[Finding]:
    """Monthly availability findings with their monitoring coverage, computed from every
    fetch of the month (read only for the operators that have such a finding)."""
    ops = {f.operator for f in findings if f.rule_type is RuleType.MONTHLY_AVAILABILITY}
    if not ops:
        return findings
    active = active_permits(ctx.permits, ctx.now)
    better: dict[str, Finding] = {}
    for op in ops:
        permit = active[op]
        start = month_bounds(permit, ctx.now, 1)[0]
        history = load_fetch_history(session, op, start, ctx.now)
        for f in evaluate_monthly_availability(ctx.outages, [permit], ctx.now, health=history):
            better[f.key] = f
    return [better.get(f.key, f) if f.operator in ops else f for f in findings]


def ensure_latest_samples(session: Session, ctx: Context, *, store: bool = True) -> int:
    """If an operator has no sample at the latest time of its grid, count it now, from
    the snapshots already loaded (an off-grid sample, said so in its method)."""
    if ctx.city is None and not ctx.snaps.snapshots:
        return 0
    active = active_permits(ctx.permits, ctx.now)
    wanted = {op: latest_grid_time(p, ctx.now) for op, p in active.items()}
    wanted = {op: t for op, t in wanted.items() if t is not None}
    if not wanted:
        return 0
    cur = pg_connection(session).cursor()
    cur.execute(
        "SELECT operator, max(time) FROM count_sample WHERE operator = ANY(%s)"
        " AND time <= %s GROUP BY operator",
        (sorted(wanted), ctx.now),
    )
    latest = dict(cur.fetchall())
    missing = {op for op, t in wanted.items() if latest.get(op) is None or latest[op] < t}
    if not missing:
        return 0
    return len(
        take_samples(
            session,
            ctx.now,
            ctx.permits,
            sampling_city(ctx),
            snapshots=ctx.snaps,
            outages=ctx.outages,
            operators=missing,
            store=store,
        )
    )


def _latest_samples_guarded(session: Session, ctx: Context) -> int:
    """``ensure_latest_samples``, in a savepoint: counting that fails (a permit the
    sampling chokes on) is recorded, and the rules still run on the stored samples."""
    try:
        with session.begin_nested():
            return ensure_latest_samples(session, ctx)
    except Exception as exc:  # the bulkhead: no count may halt the other rules
        ctx.issues.append(
            ConfigIssue(
                "evaluation",
                "count samples",
                None,
                f"latest count samples not taken ({type(exc).__name__}: {str(exc)[:300]})",
            )
        )
        return 0


def evaluate_rules(
    session: Session,
    now: datetime,
    *,
    city_cache: CityCache | None = None,
    settings: RulesSettings | None = None,
    trigger: str = "cli",
    clock: datetime | None = None,
) -> RunSummary:
    """Evaluate every rule at ``now`` and apply the violation lifecycle (see the module
    docstring). ``clock``: the caller's current time (the scheduler's clock, the wall
    clock for the command line); runs dated after it are voided first. The caller
    owns the transaction."""
    with gc_paused():  # 100,000 snapshots and their findings: no cyclic GC passes over them
        return _evaluate_rules(session, now, city_cache, settings, trigger, clock)


def _evaluate_rules(
    session: Session,
    now: datetime,
    city_cache: CityCache | None,
    settings: RulesSettings | None,
    trigger: str,
    clock: datetime | None,
) -> RunSummary:
    settings = settings or RulesSettings()
    cache = city_cache or CityCache()
    timer = _Timer()
    cur = pg_connection(session).cursor()
    cur.execute(f"SELECT pg_advisory_xact_lock({_LOCK})")
    voided = void_future_runs(session, clock) if clock is not None else None
    cur.execute("SELECT max(as_of) FROM rules_run WHERE voided_at IS NULL")
    latest = cur.fetchone()[0]
    if latest is not None and now < latest:
        raise RulesError(
            f"the rules were already evaluated at {latest.isoformat()}, after"
            f" {now.isoformat()}; violations only move forward in time"
            " (use 'rules replay' to evaluate the past)"
        )
    ctx = build_context(session, now, cache, settings)
    timer.mark("load")
    taken = _latest_samples_guarded(session, ctx)
    active = active_permits(ctx.permits, now)
    window = max((counting_of(p).window for p in active.values()), default=timedelta(hours=24))
    samples = load_samples(session, now - window, now)
    timer.mark("samples")
    findings = _refine_monthly(session, ctx, evaluate(ctx, samples, settings))
    record_issues(session, ctx.issues)
    timer.mark("evaluate")

    down = sorted({o.operator for o in ctx.outages if o.active_at(now)})
    by_rule: dict[str, dict[str, int]] = {}
    for f in findings:
        per = by_rule.setdefault(str(f.rule_type), {"violation": 0, "uncertain": 0})
        per[f.status] += 1
    cur.execute(
        "INSERT INTO rules_run (trigger, as_of, vehicles, findings, opened, updated, unchanged,"
        " held, closed, operators_in_outage, permits, zones_version, by_rule, timings_ms)"
        " VALUES (%s, %s, %s, %s, 0, 0, 0, 0, 0, %s, %s, %s, %s, '{}') RETURNING id",
        (
            trigger,
            now,
            len(ctx.snaps.snapshots),
            len(findings),
            Jsonb(down),
            Jsonb({op: p.version for op, p in active.items()}),
            ctx.zones_version,
            Jsonb(by_rule),
        ),
    )
    run_id = cur.fetchone()[0]
    result = Lifecycle(
        session,
        now=now,
        run_id=run_id,
        snapshots=ctx.snaps,
        in_outage=frozenset(down),
        permitted=frozenset(active),
    ).apply(findings)
    timer.mark("lifecycle")
    timings = timer.total()
    cur.execute(
        "UPDATE rules_run SET opened = %s, updated = %s, unchanged = %s, held = %s, closed = %s,"
        " duration_ms = %s, timings_ms = %s WHERE id = %s",
        (
            len(result.opened),
            result.updated + result.resumed,
            result.unchanged,
            result.held,
            result.closed,
            timings["total"],
            Jsonb(timings),
            run_id,
        ),
    )
    return RunSummary(
        run_id=run_id,
        as_of=now,
        trigger=trigger,
        vehicles=len(ctx.snaps.snapshots),
        findings=len(findings),
        by_rule=by_rule,
        lifecycle=result,
        operators_in_outage=down,
        permits={op: p.version for op, p in active.items()},
        snapshot_source=ctx.snaps.source,
        samples_taken=taken,
        timings_ms=timings,
        config_issues=list(ctx.issues),
        voided=voided,
    )


#: a sample taken this long after its time by the scheduler still reads the current state
PROMPT_SLACK = timedelta(seconds=5)


def sample_counts(
    session: Session,
    at: datetime,
    *,
    now: datetime | None = None,
    city_cache: CityCache | None = None,
    settings: RulesSettings | None = None,
) -> int:
    """Take and store the count samples due at ``at`` (operators whose grid contains
    ``at``). Returns the number of samples stored.

    The vehicles counted are the state at ``at`` (the dwell history). Taken on
    time by the scheduler (``now`` within ``sample_every_s`` after ``at``), the
    sample reads the current state instead: observed up to that many seconds
    after ``at``, as a count of the feed fetched at that moment would be, and
    without reading the history."""
    settings = settings or RulesSettings()
    prompt = (
        now is not None
        and timedelta(0) <= now - at <= timedelta(seconds=settings.sample_every_s) + PROMPT_SLACK
    )
    ctx = build_context(
        session,
        now if prompt and now is not None else at,
        city_cache or CityCache(),
        settings,
        as_of=False if prompt else None,
    )
    if not ctx.snaps.snapshots and ctx.city is None:
        return 0
    samples = take_samples(
        session, at, ctx.permits, sampling_city(ctx), snapshots=ctx.snaps, outages=ctx.outages
    )
    return len(samples)


def sample_due(
    session: Session,
    now: datetime,
    *,
    city_cache: CityCache | None = None,
    settings: RulesSettings | None = None,
) -> int:
    """Take every sample due in ``(last sample, now]`` (at most ``sample_catchup_s`` back)."""
    settings = settings or RulesSettings()
    cache = city_cache or CityCache()
    permits = load_permits(session)
    operators = {f.operator for f in vehicle_feeds(session, now).values()}
    times = due_sample_times(
        session, permits, operators, now, timedelta(seconds=settings.sample_catchup_s)
    )
    return sum(
        sample_counts(session, t, now=now, city_cache=cache, settings=settings) for t in times
    )


def with_permits(ctx: Context, permits: list[Permit]) -> Context:
    return replace(ctx, permits=permits)
