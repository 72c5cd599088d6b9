"""The aggregation job: local days, once complete, into the ``stats_*_day`` tables.

Incremental and idempotent: a day is computed once it has ended and settled
(``stats.settle_s``: late data, vehicles reappearing after a trip); each day is
one transaction that replaces that day's rows and records it in
``stats_aggregate_day``, so a run stopped half-way keeps the days it finished,
and running again computes only the days still missing. ``recompute=True``
recomputes the days asked for (after a replay of old feed files, say).

Two aggregations never run at once (a transaction-level advisory lock; the
second one stops without waiting).
"""

from __future__ import annotations

import logging
import time as _time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Engine

from datastore.connection import driver_connection
from fleet_monitor.history import feed_health, parked_positions, stays
from fleet_monitor.settings import Settings
from fleet_monitor.stats import day_violations, dayfleet, parked_cells
from fleet_monitor.stats.periods import day_window, days_between, local_day

log = logging.getLogger(__name__)

LOCK_SQL = "SELECT pg_try_advisory_xact_lock(hashtext('fleet_monitor.stats.aggregate'))"
CARRY_DAYS = 7  # days of carried stays kept (recomputing an older day scans the stays)
CLASSIFY_SAMPLE = 300  # vanishings per feed and day looked up to tell how ids behave
DAY_TABLES = (
    "stats_coverage_day",
    "stats_fleet_day",
    "stats_idle_day",
    "stats_use_day",
    "stats_feed_day",
    "stats_violation_day",
    "stats_parked_cell_day",
)


@dataclass(frozen=True, slots=True)
class AggregateConfig:
    timezone: str = "Europe/Paris"
    step_s: int = 300
    idle_time: time = time(3, 30)
    max_age_s: float = 600.0
    zone_kinds: tuple[str, ...] = ("district",)
    settle_s: int = 7200
    reappear_window_s: int = 7200
    backfill_days: int = 400
    idle_lookback_days: int = 60
    noise_m: float = 15.0

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_settings(cls, settings: Settings) -> AggregateConfig:
        s = settings.stats
        return cls(
            timezone=settings.city.timezone,
            step_s=s.sample_interval_s,
            idle_time=time.fromisoformat(s.idle_sample_time),
            max_age_s=float(s.observation_max_age_s),
            zone_kinds=tuple(s.zone_kinds),
            settle_s=s.settle_s,
            reappear_window_s=s.reappear_window_s,
            backfill_days=s.backfill_days,
            idle_lookback_days=s.idle_lookback_days,
            noise_m=settings.ingest.gps_noise_m,
        )


@dataclass(slots=True)
class DayResult:
    day: date
    w0: datetime
    w1: datetime
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    dwells: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    carry: list[int] = field(default_factory=list)  # stays continuing past the day's end


def compute_day(
    cur: Any, day: date, cfg: AggregateConfig, carry: list[int] | None = None
) -> DayResult:
    """Every figure of one local day, read from the history (nothing written).
    ``carry``: the stays still there at the end of the previous day (None: unknown)."""
    timings: dict[str, float] = {}
    clock = _time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = _time.perf_counter()
        timings[name] = round((now - clock) * 1000, 1)
        clock = now

    tz = cfg.tz
    w0, w1 = day_window(day, tz)
    idle_at = datetime.combine(day, cfg.idle_time, tzinfo=tz).astimezone(UTC)
    grid = dayfleet.make_grid(day, w0, w1, cfg.step_s, idle_at)
    feeds = stays.load_vehicle_feeds(cur)
    feed_ids = [f.feed_id for f in feeds]
    observations = stays.load_observations(cur, feed_ids, w0, w1, cfg.max_age_s)
    outages = stays.load_outages(cur, feed_ids, w0, w1, timedelta(days=2))
    cov = dayfleet.coverage(grid, feeds, observations, outages, cfg.max_age_s)
    lap("coverage")
    dwells = stays.load_dwells(cur, w0, w1, cfg.zone_kinds, feeds=feed_ids, carry=carry)
    cube = dayfleet.make_cube(dwells, feeds)
    lap("load_dwells")
    counts = dayfleet.fleet_counts(grid, cube, dwells)
    lap("fleet")
    idle_idx = dayfleet.idle_dwells(grid, dwells)
    horizon = idle_at - timedelta(days=cfg.idle_lookback_days)
    parked = stays.load_parked_since(cur, dwells.ids[idle_idx].tolist(), horizon, cfg.noise_m)
    idle = dayfleet.idle_rows(grid, cube, dwells, idle_idx, parked)
    lap("idle")
    positions = parked_positions.stay_positions(cur, dwells.ids[idle_idx].tolist())
    cells = parked_cells.cell_rows(day, dwells, idle_idx, positions)
    lap("parked_cells")
    vanished = dayfleet.vanished_in_day(grid, dwells)
    window = timedelta(seconds=cfg.reappear_window_s)
    # how each feed publishes ids, from a sample of its vanishings; the vanishings of
    # persistent-id feeds are then all looked up (did the id come back elsewhere?)
    sample = (
        np.concatenate(
            [vanished[dwells.feed[vanished] == f][:CLASSIFY_SAMPLE] for f in np.unique(dwells.feed)]
        )
        if len(vanished)
        else vanished
    )
    back = stays.load_reappearances(cur, dwells.ids[sample].tolist(), window, cfg.noise_m)
    policies = dayfleet.id_policies(dwells, sample, back)
    persistent = {f for f, p in policies.items() if p == "persistent"}
    rest = [
        int(dwells.ids[i])
        for i in vanished
        if int(dwells.feed[i]) in persistent and int(dwells.ids[i]) not in back
    ]
    back |= stays.load_reappearances(cur, rest, window, cfg.noise_m)
    elsewhere = np.asarray([i for i, (_b, far) in back.items() if far], dtype=np.int64)
    dep_idx, kinds = dayfleet.departure_kinds(grid, dwells, outages, elsewhere, persistent)
    use = dayfleet.use_rows(cube, dwells, dep_idx, kinds)
    lap("use")
    result = DayResult(day, w0, w1, dwells=len(dwells))
    result.carry = dwells.ids[dwells.end >= w1.timestamp()].tolist()
    policy_by_op = {f.operator_id: policies[f.feed_id] for f in feeds if f.feed_id in policies}
    result.rows["stats_coverage_day"] = [
        (
            day,
            op,
            datetime.fromtimestamp(grid.t0, UTC),
            grid.step,
            cov.expected[op].tolist(),
            cov.observed[op].tolist(),
            idle_at,
            cov.idle_expected[op],
            cov.idle_observed[op],
            policy_by_op.get(op),
        )
        for op in sorted(cov.expected)
    ]
    result.rows["stats_fleet_day"] = [
        (day, *cube.decode(c), *(arr.tolist() for arr in counts[c])) for c in sorted(counts)
    ]
    result.rows["stats_idle_day"] = [
        (
            day,
            *cube.decode(c),
            r.vehicles,
            r.disabled,
            r.buckets,
            r.lower_bound,
            r.p50_h,
            r.p90_h,
            r.max_h,
        )
        for c, r in sorted(idle.items())
    ]
    result.rows["stats_parked_cell_day"] = cells
    result.rows["stats_use_day"] = [(day, *cube.decode(c), *v) for c, v in sorted(use.items())]
    result.rows["stats_feed_day"] = [(day, *r) for r in feed_health.feed_rows(cur, w0, w1)]
    result.rows["stats_violation_day"] = [
        (day, *r) for r in day_violations.violation_rows(cur, w0, w1, cfg.zone_kinds)
    ]
    lap("feeds_violations")
    result.details = {
        "carried_in": None if carry is None else len(carry),
        "samples": grid.n,
        "operators": len(cube.operators),
        "zones": len(cube.zones),
        "id_policies": {str(f): p for f, p in sorted(policies.items())},
        "timings_ms": timings,
    }
    return result


INSERTS = {
    "stats_coverage_day": "INSERT INTO stats_coverage_day (day, operator_id, first_sample, step_s,"
    " expected, observed, idle_sampled_at, idle_expected, idle_observed, id_policy)"
    " VALUES (%s, %s, %s, %s, %s::bool[], %s::bool[], %s, %s, %s, %s)",
    "stats_fleet_day": "INSERT INTO stats_fleet_day (day, operator_id, form_factor, zone_id,"
    " available, reserved, disabled) VALUES (%s, %s, %s, %s, %s::int[], %s::int[], %s::int[])",
    "stats_idle_day": "INSERT INTO stats_idle_day (day, operator_id, form_factor, zone_id,"
    " vehicles, disabled, buckets, lower_bound, p50_h, p90_h, max_h)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s::int[], %s, %s, %s, %s)",
    "stats_use_day": "INSERT INTO stats_use_day (day, operator_id, form_factor, zone_id,"
    " departures, moved, vanished, excluded_outage, excluded_disabled, excluded_unconfirmed)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
    "stats_feed_day": "INSERT INTO stats_feed_day (day, operator_id, feed_type, fetches,"
    " successes, outcomes, outage_s, outages, records, invalid_records, schema_errors,"
    " latency_ms_p50) VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s, %s)",
    "stats_parked_cell_day": "INSERT INTO stats_parked_cell_day (day, operator_id, cell,"
    " vehicles) VALUES (%s, %s, %s, %s)",
    "stats_violation_day": "INSERT INTO stats_violation_day (day, operator_id, rule_type,"
    " zone_id, area_id, status, opened, closed, closed_hours)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
}


def write_day(cur: Any, result: DayResult, duration_ms: float, now: datetime) -> None:
    """Replace the day's rows (same transaction as the caller's)."""
    from psycopg.types.json import Jsonb

    for table in DAY_TABLES:
        cur.execute(f"DELETE FROM {table} WHERE day = %s", (result.day,))
        rows = result.rows.get(table, [])
        if table == "stats_feed_day":
            rows = [(*r[:5], Jsonb(r[5]), *r[6:]) for r in rows]
        if rows:
            cur.executemany(INSERTS[table], rows)
    cur.execute(
        "INSERT INTO stats_aggregate_day (day, window_start, window_end, computed_at,"
        " duration_ms, dwells, details) VALUES (%s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (day) DO UPDATE SET window_start = EXCLUDED.window_start,"
        " window_end = EXCLUDED.window_end, computed_at = EXCLUDED.computed_at,"
        " duration_ms = EXCLUDED.duration_ms, dwells = EXCLUDED.dwells,"
        " details = EXCLUDED.details",
        (result.day, result.w0, result.w1, now, duration_ms, result.dwells, Jsonb(result.details)),
    )
    cur.execute(
        "INSERT INTO stats_carry (day, dwell_ids) VALUES (%s, %s)"
        " ON CONFLICT (day) DO UPDATE SET dwell_ids = EXCLUDED.dwell_ids",
        (result.day, result.carry),
    )
    cur.execute(
        "DELETE FROM stats_carry WHERE day < %s", (result.day - timedelta(days=CARRY_DAYS),)
    )


# --------------------------------------------------------------------------- the job


@dataclass(slots=True)
class AggregateSummary:
    days: list[date] = field(default_factory=list)
    skipped_locked: bool = False
    last_complete_day: date | None = None
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": [d.isoformat() for d in self.days],
            "skipped_locked": self.skipped_locked,
            "last_complete_day": self.last_complete_day.isoformat()
            if self.last_complete_day
            else None,
            "duration_s": round(self.duration_s, 3),
        }


def last_complete_day(until: datetime, cfg: AggregateConfig) -> date:
    """The latest local day that ended at least ``settle_s`` before ``until``."""
    settled = until - timedelta(seconds=cfg.settle_s)
    return local_day(settled, cfg.tz) - timedelta(days=1)


def pending_days(
    cur: Any,
    cfg: AggregateConfig,
    until: datetime,
    first: date | None = None,
    recompute: bool = False,
) -> list[date]:
    last = last_complete_day(until, cfg)
    if first is None:
        start = stays.first_successful_vehicle_fetch(cur)
        if start is None:
            return []
        first = max(local_day(start, cfg.tz), last - timedelta(days=cfg.backfill_days - 1))
    if first > last:
        return []
    days = days_between(first, last + timedelta(days=1))
    if recompute:
        return days
    cur.execute("SELECT day FROM stats_aggregate_day WHERE day >= %s AND day <= %s", (first, last))
    done = {r[0] for r in cur.fetchall()}
    return [d for d in days if d not in done]


def aggregate(
    engine: Engine,
    cfg: AggregateConfig,
    *,
    until: datetime,
    first: date | None = None,
    last: date | None = None,
    recompute: bool = False,
    clock: Callable[[], datetime] | None = None,
    days: Sequence[date] | None = None,
) -> AggregateSummary:
    """Aggregate every complete local day not yet aggregated (see the module docstring)."""
    clock = clock or (lambda: datetime.now(UTC))
    started = _time.perf_counter()
    summary = AggregateSummary(last_complete_day=last_complete_day(until, cfg))
    raw = engine.raw_connection()
    try:
        conn = driver_connection(raw)
        with conn.cursor() as cur:
            todo = (
                list(days) if days is not None else pending_days(cur, cfg, until, first, recompute)
            )
        conn.commit()
        if last is not None:
            todo = [d for d in todo if d <= last]
        for day in todo:
            t = _time.perf_counter()
            with conn.cursor() as cur:
                cur.execute(LOCK_SQL)
                if not cur.fetchone()[0]:
                    conn.rollback()
                    summary.skipped_locked = True
                    log.info("another aggregation is running: stopping")
                    break
                if not recompute and days is None:
                    cur.execute("SELECT 1 FROM stats_aggregate_day WHERE day = %s", (day,))
                    if cur.fetchone() is not None:  # done by another process meanwhile
                        conn.rollback()
                        continue
                result = compute_day(cur, day, cfg, load_carry(cur, day))
                write_day(cur, result, (_time.perf_counter() - t) * 1000, clock())
            conn.commit()
            summary.days.append(day)
            log.info("statistics of %s aggregated (%s stays)", day, result.dwells)
    except BaseException:
        driver_connection(raw).rollback()
        raise
    finally:
        raw.close()
    summary.duration_s = _time.perf_counter() - started
    return summary


def load_carry(cur: Any, day: date) -> list[int] | None:
    """The stays still there at the end of the day before ``day``, if it was aggregated."""
    cur.execute("SELECT dwell_ids FROM stats_carry WHERE day = %s", (day - timedelta(days=1),))
    row = cur.fetchone()
    return None if row is None else list(row[0])


def aggregated_days(cur: Any, first: date, end: date) -> set[date]:
    cur.execute("SELECT day FROM stats_aggregate_day WHERE day >= %s AND day < %s", (first, end))
    return {r[0] for r in cur.fetchall()}
