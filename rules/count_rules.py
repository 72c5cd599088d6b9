"""Count rules on samples: fleet cap (total and per form factor), zone caps and floors.

Counting method (stated in each finding): the DB layer takes a ``CountSample``
per operator on the permit's grid (``rules.timing.sample_times``: every
``sample_interval``, 5 minutes by default, during operating hours) with
``build_count_samples``. "Deployed" = available + reserved + disabled vehicles
listed in the feed, with a position inside the operator's operating area (its
exact geometry; anywhere when the operator has no operating area), plus the
vehicles listed without a position (``UnplacedVehicle``: docked at a station,
GBFS 2.x), which count in the fleet caps and in no zone count; every count
finding states how many there were (evidence ``positionless``). A cap
finding is a statement about the latest sample at or before ``now`` (no
older than two intervals), summarised over the permit's counting window
(expected and present samples, data coverage, samples over the cap).

A count made on partial data (coverage < 1) is a lower bound: a cap breach on
partial data is still a violation, a floor breach is only 'uncertain' below
``counting.min_coverage``. The vehicles beyond a cap are named: most recently
deployed first (``deployed_since``, else ``parked_since``; unknown last),
ties broken by vehicle key.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from operator import attrgetter
from typing import Any

import numpy as np

from rules.findings import Finding, RuleType, Status, iso
from rules.geo import Located, PreparedCity
from rules.inputs import (
    ZONE_KINDS,
    CountSample,
    DeployedVehicle,
    OutageSpan,
    Permit,
    UnplacedVehicle,
    VehicleSnapshot,
    active_permits,
    operators_in_outage,
)
from rules.timing import describe_method, in_operating_hours, sample_times

_OLDEST = datetime.min.replace(tzinfo=UTC)


def _most_recent_first(vehicles: Iterable[DeployedVehicle]) -> list[DeployedVehicle]:
    """Most recently deployed first, unknown deployment last, ties by vehicle key."""
    out = sorted(vehicles, key=attrgetter("key"))
    out.sort(key=lambda v: v.deployed_since or _OLDEST, reverse=True)  # stable
    return out


def vehicles_beyond(vehicles: Iterable[DeployedVehicle], excess: int) -> tuple[str, ...]:
    """Keys of the ``excess`` most recently deployed vehicles (deterministic order)."""
    if excess <= 0:
        return ()
    return tuple(v.key for v in _most_recent_first(vehicles)[:excess])


def build_count_samples(
    snapshots: Sequence[VehicleSnapshot],
    city: PreparedCity,
    permits: Iterable[Permit],
    at: datetime,
    *,
    coverage: Mapping[str, float] | None = None,
    outages: Iterable[OutageSpan] = (),
    located: Located | None = None,
    unplaced: Sequence[UnplacedVehicle] = (),
) -> list[CountSample]:
    """One ``CountSample`` per operator (with a permit in force or a vehicle) at ``at``.

    ``snapshots`` are the vehicles listed at ``at``; ``coverage`` the fraction
    of expected data present per operator (1.0 when not given). Operators in
    outage get an ``in_outage`` sample with coverage 0, ignored by the rules.
    """
    permits = list(permits)
    located = located if located is not None else city.locate(snapshots, at)
    active = active_permits(permits, at)
    down = operators_in_outage(outages, at)
    operators = sorted(
        set(active) | {s.operator for s in snapshots} | {u.operator for u in unplaced}
    )
    unplaced_of: dict[str, list[UnplacedVehicle]] = defaultdict(list)
    for u in unplaced:
        unplaced_of[u.operator].append(u)
    op_index = {o: i for i, o in enumerate(operators)}
    n = len(snapshots)
    vop = np.fromiter((op_index[s.operator] for s in snapshots), dtype=np.intp, count=n)
    pv, pz, exact = located.pair_v, located.pair_z, located.pair_exact
    area = np.zeros((len(operators), len(city.zones)), dtype=bool)
    for o, i in op_index.items():
        p = active.get(o)
        area[
            i, city.zone_indices("operating_area", o, at, p.operating_area_zone_ids if p else ())
        ] = True
    has_area = area.sum(axis=1) > 0
    area_pairs = exact & area[vop[pv], pz]
    in_area = np.zeros(n, dtype=bool)
    in_area[pv[area_pairs]] = True
    deployed = located.valid & (in_area | ~has_area[vop])
    op_area = city.kind[pz] == ZONE_KINDS.index("operating_area")

    zone_pairs = exact & ~op_area & deployed[pv]
    zv, zz = pv[zone_pairs], pz[zone_pairs]
    zones_of: dict[int, list[str]] = defaultdict(list)
    for v, z in zip(zv.tolist(), zz.tolist(), strict=True):
        zones_of[v].append(city.ids[z])
    counts = np.zeros((len(operators), len(city.zones)), dtype=np.int64)
    np.add.at(counts, (vop[zv], zz), 1)

    samples = []
    for o, k in op_index.items():
        idx = np.flatnonzero(deployed & (vop == k)).tolist()
        mine = [snapshots[i] for i in idx]
        by_ff = Counter(s.form_factor or "unknown" for s in mine)
        by_zone: dict[str, int] = defaultdict(int)
        for z in np.flatnonzero(counts[k]).tolist():
            by_zone[city.ids[z]] += int(counts[k, z])  # versions of a zone add up
        vehicles = [
            DeployedVehicle(
                s.key, s.form_factor, tuple(zones_of.get(i, ())), s.deployed_since or s.parked_since
            )
            for i, s in zip(idx, mine, strict=True)
        ]
        extra = unplaced_of.get(o, [])
        by_ff.update(u.form_factor or "unknown" for u in extra)
        vehicles += [DeployedVehicle(u.key, u.form_factor, (), u.deployed_since) for u in extra]
        samples.append(
            CountSample(
                time=at,
                operator=o,
                deployed=len(mine) + len(extra),
                positionless=len(extra),
                coverage=0.0 if o in down else (coverage or {}).get(o, 1.0),
                by_form_factor=dict(by_ff),
                by_zone=dict(by_zone),
                vehicles=tuple(vehicles),
                in_outage=o in down,
            )
        )
    return samples


def _window_summary(
    permit: Permit, series: list[CountSample], now: datetime, count: Any, limit: int, above: bool
) -> dict[str, Any]:
    c = permit.counting
    start = now - c.window
    expected = sum(
        1
        for _ in sample_times(
            permit, start + timedelta(microseconds=1), now + timedelta(microseconds=1)
        )
    )
    values = [count(s) for s in series]
    breaches = sum(1 for v in values if (v > limit if above else v < limit))
    return {
        "method": describe_method(permit),
        "window": [iso(start), iso(now)],
        "samples_expected": expected,
        "samples_present": len(series),
        "window_coverage": round(sum(s.coverage for s in series) / expected, 4)
        if expected
        else None,
        "samples_in_breach": breaches,
        "max_count": max(values) if values else None,
        "min_count": min(values) if values else None,
    }


def _series(
    samples: Iterable[CountSample], permit: Permit, now: datetime
) -> tuple[list[CountSample], CountSample | None]:
    """Usable samples of the permit's operator in the window, and the current one."""
    c = permit.counting
    start = now - c.window
    series = sorted(
        (
            s
            for s in samples
            if s.operator == permit.operator
            and start < s.time <= now
            and not s.in_outage
            and s.coverage > 0
            and in_operating_hours(permit, s.time)
        ),
        key=lambda s: s.time,
    )
    if not series or now - series[-1].time > 2 * c.sample_interval:
        return series, None
    return series, series[-1]


def _count_finding(
    rule: RuleType,
    permit: Permit,
    clause: str,
    subject: str,
    status: Status,
    measured: int,
    threshold: int,
    latest: CountSample,
    summary: dict[str, Any],
    now: datetime,
    beyond: tuple[str, ...] = (),
    zone_id: str | None = None,
) -> Finding:
    evidence = dict(summary)
    evidence["sample_time"] = iso(latest.time)
    evidence["sample_coverage"] = latest.coverage
    # vehicles listed without a position: in the fleet count, in no zone count
    evidence["positionless"] = {
        "count": latest.positionless,
        "treatment": "not counted (no position)"
        if zone_id is not None
        else "counted (listed without a position, docked at a station)",
    }
    return Finding(
        rule_type=rule,
        operator=permit.operator,
        subject_key=subject,
        status=status,
        measured=measured,
        unit="devices",
        threshold=threshold,
        clause=permit.clause(clause),
        observed_at=now,
        permit_version=permit.version,
        zone_id=zone_id,
        confidence=1.0 if status == "violation" else 0.5,
        coverage=latest.coverage,
        penalty_eur=permit.penalties_eur.get(str(rule)) if status == "violation" else None,
        vehicles_beyond=beyond,
        evidence=evidence,
    )


@dataclass(frozen=True, slots=True)
class _Cap:
    """One count limit of a permit: how to count it in a sample, who counts."""

    rule: RuleType
    clause: str
    subject: str
    limit: int
    count: Callable[[CountSample], int]
    member: Callable[[DeployedVehicle], bool]
    zone_id: str | None = None


def _form_factor_counting(
    ff: str,
) -> tuple[Callable[[CountSample], int], Callable[[DeployedVehicle], bool]]:
    return (lambda s: s.by_form_factor.get(ff, 0)), (lambda v: v.form_factor == ff)


def _zone_counting(
    zid: str,
) -> tuple[Callable[[CountSample], int], Callable[[DeployedVehicle], bool]]:
    return (lambda s: s.by_zone.get(zid, 0)), (lambda v: zid in v.zone_ids)


def _caps(p: Permit) -> list[_Cap]:
    caps = []
    if p.fleet_cap is not None:
        caps.append(
            _Cap(
                RuleType.FLEET_CAP,
                "fleet_cap",
                p.operator,
                p.fleet_cap,
                lambda s: s.deployed,
                lambda v: True,
            )
        )
    for ff, cap in sorted(p.fleet_cap_by_form_factor.items()):
        caps.append(
            _Cap(
                RuleType.FLEET_CAP,
                f"fleet_cap.{ff}",
                f"{p.operator}:{ff}",
                cap,
                *_form_factor_counting(ff),
            )
        )
    for zid, cap in sorted(p.zone_caps.items()):
        caps.append(
            _Cap(
                RuleType.ZONE_CAP,
                f"zone_caps.{zid}",
                zid,
                cap,
                *_zone_counting(zid),
                zid,
            )
        )
    return caps


def evaluate_count_rules(
    samples: Iterable[CountSample],
    permits: Iterable[Permit],
    now: datetime,
    *,
    outages: Iterable[OutageSpan] = (),
    only: Collection[RuleType] = (RuleType.FLEET_CAP, RuleType.ZONE_CAP, RuleType.ZONE_FLOOR),
) -> list[Finding]:
    """Fleet caps (total and per form factor), zone caps and zone floors (or ``only`` some)."""
    samples = list(samples)
    down = operators_in_outage(outages, now)
    out: list[Finding] = []
    for op, p in sorted(active_permits(permits, now).items()):
        if op in down:
            continue
        series, latest = _series(samples, p, now)
        if latest is None:
            continue
        ordered: list[DeployedVehicle] | None = None
        for c in _caps(p):
            if c.rule not in only:
                continue
            value = c.count(latest)
            if value <= c.limit:
                continue
            if ordered is None:
                ordered = _most_recent_first(latest.vehicles)
            beyond = tuple(islice((v.key for v in ordered if c.member(v)), value - c.limit))
            summary = _window_summary(p, series, now, c.count, c.limit, above=True)
            out.append(
                _count_finding(
                    c.rule,
                    p,
                    c.clause,
                    c.subject,
                    "violation",
                    value,
                    c.limit,
                    latest,
                    summary,
                    now,
                    beyond,
                    c.zone_id,
                )
            )
        for zid, floor in sorted(p.zone_floors.items() if RuleType.ZONE_FLOOR in only else ()):
            value = latest.by_zone.get(zid, 0)
            if value >= floor:
                continue
            ok = latest.coverage >= p.counting.min_coverage
            status: Status = "violation" if ok else "uncertain"

            def count(s: CountSample, zid: str = zid) -> int:
                return s.by_zone.get(zid, 0)

            summary = _window_summary(p, series, now, count, floor, above=False)
            out.append(
                _count_finding(
                    RuleType.ZONE_FLOOR,
                    p,
                    f"zone_floors.{zid}",
                    zid,
                    status,
                    value,
                    floor,
                    latest,
                    summary,
                    now,
                    (),
                    zid,
                )
            )
    return out


def evaluate_fleet_cap(
    samples: Iterable[CountSample],
    permits: Iterable[Permit],
    now: datetime,
    *,
    outages: Iterable[OutageSpan] = (),
) -> list[Finding]:
    """Deployed vehicles over the permit's fleet cap (total, and per form factor)."""
    return evaluate_count_rules(samples, permits, now, outages=outages, only=(RuleType.FLEET_CAP,))


def evaluate_zone_caps(
    samples: Iterable[CountSample],
    permits: Iterable[Permit],
    now: datetime,
    *,
    outages: Iterable[OutageSpan] = (),
) -> list[Finding]:
    """Deployed vehicles over the permit's cap in a zone."""
    return evaluate_count_rules(samples, permits, now, outages=outages, only=(RuleType.ZONE_CAP,))


def evaluate_zone_floors(
    samples: Iterable[CountSample],
    permits: Iterable[Permit],
    now: datetime,
    *,
    outages: Iterable[OutageSpan] = (),
) -> list[Finding]:
    """Fewer deployed vehicles than the permit's floor in a zone."""
    return evaluate_count_rules(samples, permits, now, outages=outages, only=(RuleType.ZONE_FLOOR,))
