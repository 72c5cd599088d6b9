"""The rules engine's count samples (taking them too). The other inputs read from
the ingest's tables (outage spans, feed health) are in
:mod:`fleet_monitor.history.feed_inputs`.

Count samples. Each operator is sampled on its permit's grid
(``rules.sample_times``: every ``counting.sample_interval`` within operating
hours; operators without a permit: every 5 minutes around the clock), from
the vehicle state at the sample time (``load_snapshots``; see
``service.sample_counts`` for samples taken on time by the scheduler). When
an evaluation finds no sample at the latest grid time, it counts at its own
time, off the grid, and the sample's method says so. A sample's
coverage says how current the data behind it is: 1.0 when the operator's
latest observation is no older than one sample interval plus the permit's
allowed feed staleness, then decreasing as ``(interval + staleness) / age``;
0 while its feed is in outage. A sample above one of the permit's caps keeps
the vehicles beyond the cap (most recently deployed first), the evidence of
the breach; the others keep only the counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from psycopg.types.json import Jsonb
from sqlalchemy.orm import Session

from datastore import pg_connection
from fleet_monitor.history.snapshots import (
    FeedState,
    SnapshotSet,
    deployed_since,
    load_snapshots,
)
from rules import (
    CountingMethod,
    CountSample,
    DeployedVehicle,
    OutageSpan,
    Permit,
    PreparedCity,
    active_permits,
    build_count_samples,
    sample_times,
    vehicles_beyond,
)
from rules.timing import describe_method

DEFAULT_COUNTING = CountingMethod()
_US = timedelta(microseconds=1)


# --------------------------------------------------------------------------- count samples


def counting_of(permit: Permit | None) -> CountingMethod:
    return permit.counting if permit is not None else DEFAULT_COUNTING


def on_grid(permit: Permit | None, at: datetime) -> bool:
    probe = permit if permit is not None else _DEFAULT_PERMIT
    return next(iter(sample_times(probe, at, at + _US)), None) == at


def latest_grid_time(permit: Permit | None, now: datetime) -> datetime | None:
    """The last sample time of the permit's grid at or before ``now``."""
    probe = permit if permit is not None else _DEFAULT_PERMIT
    times = list(sample_times(probe, now - counting_of(permit).sample_interval + _US, now + _US))
    return times[-1] if times else None


def coverage_of(feed: FeedState | None, permit: Permit | None, at: datetime) -> float:
    """See the module docstring."""
    if feed is None or feed.in_outage or feed.latest_fetch_at is None:
        return 0.0
    counting = counting_of(permit)
    staleness = permit.data.max_feed_staleness if permit is not None else timedelta(minutes=5)
    fresh = counting.sample_interval + staleness
    age = at - feed.latest_fetch_at
    return 1.0 if age <= fresh else round(fresh / age, 4)


def _caps(permit: Permit | None) -> list[tuple[Any, int, Any]]:
    """(count of a sample, limit, membership of a counted vehicle) for each cap."""
    if permit is None:
        return []
    caps: list[tuple[Any, int, Any]] = []
    if permit.fleet_cap is not None:
        caps.append((lambda s: s.deployed, permit.fleet_cap, lambda v: True))
    for ff, cap in permit.fleet_cap_by_form_factor.items():
        caps.append(
            (
                lambda s, ff=ff: s.by_form_factor.get(ff, 0),
                cap,
                lambda v, ff=ff: v.form_factor == ff,
            )
        )
    for zid, cap in permit.zone_caps.items():
        caps.append((lambda s, z=zid: s.by_zone.get(z, 0), cap, lambda v, z=zid: z in v.zone_ids))
    return caps


def _over_cap(sample: CountSample, permit: Permit | None) -> bool:
    return any(count(sample) > limit for count, limit, _ in _caps(permit))


def beyond_caps(sample: CountSample, permit: Permit | None) -> list[DeployedVehicle]:
    """The vehicles beyond any of the permit's caps in this sample (the union, over
    the caps, of the most recently deployed ones in excess). Kept instead of the
    whole fleet: the rules name, for each cap, its most recent members, and those
    of the whole list are all in this union."""
    keys: set[str] = set()
    for count, limit, member in _caps(permit):
        excess = count(sample) - limit
        if excess > 0:
            keys.update(vehicles_beyond([v for v in sample.vehicles if member(v)], excess))
    return [v for v in sample.vehicles if v.key in keys]


def take_samples(
    session: Session,
    at: datetime,
    permits: list[Permit],
    city: PreparedCity,
    *,
    snapshots: SnapshotSet | None = None,
    outages: Iterable[OutageSpan] = (),
    operators: Iterable[str] | None = None,
    store: bool = True,
) -> list[CountSample]:
    """Count samples at ``at`` for the operators whose grid contains ``at`` (or only
    ``operators``), stored (replacing an earlier sample of the same time) unless
    ``store`` is False."""
    snaps = snapshots if snapshots is not None else load_snapshots(session, at)
    outages = list(outages)
    active = active_permits(permits, at)
    feeds = snaps.by_operator()
    wanted = set(operators) if operators is not None else None
    coverage = {
        op: coverage_of(feeds.get(op), active.get(op), at) for op in set(feeds) | set(active)
    }
    samples = build_count_samples(
        snaps.snapshots,
        city,
        permits,
        at,
        coverage=coverage,
        outages=outages,
        unplaced=snaps.unplaced,
    )
    out: list[CountSample] = []
    for s in samples:
        permit = active.get(s.operator)
        if wanted is not None and s.operator not in wanted:
            continue
        if wanted is None and not on_grid(permit, at):
            continue
        if _over_cap(s, permit):
            s = _with_deployment_times(session, snaps, city, permits, at, s, coverage, outages)
        out.append(s)
    if store and out:
        store_samples(session, out, active, feeds)
    return out


def _with_deployment_times(
    session: Session,
    snaps: SnapshotSet,
    city: PreparedCity,
    permits: list[Permit],
    at: datetime,
    sample: CountSample,
    coverage: dict[str, float],
    outages: list[OutageSpan],
) -> CountSample:
    """The sample again, with each vehicle's deployment time (to rank those beyond the cap)."""
    mine = [s for s in snaps.snapshots if s.operator == sample.operator]
    unplaced = [u for u in snaps.unplaced if u.operator == sample.operator]
    since = deployed_since(session, [s.key for s in mine] + [u.key for u in unplaced])
    mine = [replace(s, deployed_since=since.get(s.key)) for s in mine]
    unplaced = [replace(u, deployed_since=since.get(u.key)) for u in unplaced]
    again = build_count_samples(
        mine, city, permits, at, coverage=coverage, outages=outages, unplaced=unplaced
    )
    return next((s for s in again if s.operator == sample.operator), sample)


def store_samples(
    session: Session,
    samples: list[CountSample],
    active: dict[str, Permit],
    feeds: dict[str, FeedState],
) -> None:
    rows = []
    for s in samples:
        permit = active.get(s.operator)
        feed = feeds.get(s.operator)
        vehicles: Any = None
        if _over_cap(s, permit):
            vehicles = [
                [v.key, v.form_factor, list(v.zone_ids), v.deployed_since]
                for v in beyond_caps(s, permit)
            ]
        method = (
            describe_method(permit)
            if permit is not None
            else "5-minute samples around the clock (no permit in force); deployed = available"
            " + reserved + disabled vehicles listed in the feed"
        )
        if not on_grid(permit, s.time):
            method += "; this sample was taken at an evaluation time, off the grid"
        if s.positionless:  # how many: the positionless column (one method text for all)
            method += (
                "; vehicles listed without a position (docked at a station) are in the"
                " fleet count and in no zone count"
            )
        rows.append(
            (
                s.time,
                s.operator,
                permit.version if permit is not None else None,
                s.deployed,
                min(max(s.coverage, 0.0), 1.0),
                s.in_outage,
                Jsonb(dict(s.by_form_factor)),
                Jsonb(dict(s.by_zone)),
                method,
                None if vehicles is None else orjson.dumps(vehicles).decode(),
                feed.latest_fetch_at if feed is not None else None,
                feed.latest_fetch_id if feed is not None else None,
                s.positionless,
            )
        )
    cur = pg_connection(session).cursor()
    cur.executemany(
        "INSERT INTO count_sample (time, operator, permit_version, deployed, coverage, in_outage,"
        " by_form_factor, by_zone, method, vehicles, observed_at, fetch_id, positionless)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s)"
        " ON CONFLICT (operator, time) DO UPDATE SET permit_version = EXCLUDED.permit_version,"
        " deployed = EXCLUDED.deployed, coverage = EXCLUDED.coverage,"
        " in_outage = EXCLUDED.in_outage, by_form_factor = EXCLUDED.by_form_factor,"
        " by_zone = EXCLUDED.by_zone, method = EXCLUDED.method, vehicles = EXCLUDED.vehicles,"
        " observed_at = EXCLUDED.observed_at, fetch_id = EXCLUDED.fetch_id,"
        " positionless = EXCLUDED.positionless",
        rows,
    )


def load_samples(session: Session, start: datetime, end: datetime) -> list[CountSample]:
    """Stored samples with ``start < time <= end``; the vehicles beyond a cap only for
    each operator's latest sample (the only one whose vehicles the rules name)."""
    cur = pg_connection(session).cursor()
    cur.execute(
        "SELECT time, operator, deployed, coverage, by_form_factor::text, by_zone::text,"
        " CASE WHEN time = max(time) OVER (PARTITION BY operator) THEN vehicles::text END,"
        " in_outage, positionless FROM count_sample WHERE time > %s AND time <= %s"
        " ORDER BY time",
        (start, end),
    )
    out = []
    for t, op, deployed, cov, by_ff, by_zone, vehicles, in_outage, unplaced in cur.fetchall():
        listed = tuple(
            DeployedVehicle(key, ff, tuple(zones), datetime.fromisoformat(since) if since else None)
            for key, ff, zones, since in (orjson.loads(vehicles) if vehicles else ())
        )
        out.append(
            CountSample(
                t,
                op,
                deployed,
                cov,
                orjson.loads(by_ff),
                orjson.loads(by_zone),
                listed,
                in_outage,
                positionless=unplaced,
            )
        )
    return out


def due_sample_times(
    session: Session,
    permits: list[Permit],
    operators: Iterable[str],
    now: datetime,
    catchup: timedelta,
) -> list[datetime]:
    """Grid times in ``(last sample, now]`` (no further back than ``catchup``) still
    to be sampled, over every operator."""
    cur = pg_connection(session).cursor()
    # samples dated after now (left by a run at a future time) must not stop the grid
    cur.execute(
        "SELECT operator, max(time) FROM count_sample WHERE time <= %s GROUP BY operator", (now,)
    )
    last = dict(cur.fetchall())
    active = active_permits(permits, now)
    due: set[datetime] = set()
    for op in set(operators) | set(active):
        permit = active.get(op)
        start = max(now - catchup, last.get(op) or now - catchup)
        probe = permit if permit is not None else _DEFAULT_PERMIT
        due.update(t for t in sample_times(probe, start + _US, now + _US))
    return sorted(due)


#: grid of operators without a permit in force: 5-minute samples around the clock
_DEFAULT_PERMIT = Permit(operator="", version=1, effective_from=datetime.min.replace(tzinfo=UTC))
