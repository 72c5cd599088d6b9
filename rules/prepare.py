"""A configuration that can never halt the rules: what cannot be used is skipped.

``prepare_zones`` builds the ``PreparedCity`` from the zones the engine can use
(``rules.checks.zone_problem``), dropping any zone the preparation still chokes
on (a geometry that vanishes once projected and buffered, or anything else that
raises: such zones are found by preparing them one by one). ``evaluate_checked``
runs ``evaluate_all`` on the usable permits (``rules.checks.permit_problem``);
should an evaluator still raise, the permits it chokes on are found by
evaluating each operator alone and skipped, and if the zones are the cause the
zone rules are left out for that evaluation. Everything skipped comes back as a
``ConfigIssue`` for the database layer to record and the admin page to show;
the other rules still produce their findings.

Pure, like the rest of ``rules``: the broad ``except Exception`` here is the
bulkhead between one bad zone or permit and every other rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from rules.checks import (
    ConfigIssue,
    check_permits,
    checked_safely,
    int_or_none,
    zone_problem,
    zone_warning,
)
from rules.engine import evaluate_all
from rules.findings import Finding
from rules.geo import BBox, PreparedCity, UnusableZones, derive_aoi
from rules.inputs import (
    CountSample,
    FeedHealthSample,
    OutageSpan,
    Permit,
    VehicleSnapshot,
    Zone,
    active_permits,
)


@dataclass(slots=True)
class PreparedZones:
    """The prepared city (None: no zone to prepare, or no area of interest) and the
    issues met preparing it."""

    city: PreparedCity | None
    issues: list[ConfigIssue] = field(default_factory=list)
    #: the area of interest is the fallback one (the zones gave none)
    used_fallback: bool = False


def prepare_zones(
    zones: Sequence[Zone],
    *,
    tolerance_m: float = 10.0,
    line_half_width_m: float = 1.5,
    aoi: BBox | None = None,
    fallback_aoi: BBox | None = None,
) -> PreparedZones:
    """``PreparedCity`` of the usable ``zones`` (see the module docstring).

    The area of interest is ``aoi``, else derived from the usable zones, else
    ``fallback_aoi`` (e.g. the vehicles' extent, when every zone is huge); with
    none of them the city is None (nothing to locate vehicles against).
    """
    issues: list[ConfigIssue] = []
    usable: list[Zone] = []
    for z in zones:
        problem = checked_safely(zone_problem, z)
        if problem is not None:
            issues.append(ConfigIssue("zone", str(z.id), int_or_none(z.version), problem))
            continue
        warning = zone_warning(z)
        if warning is not None:
            issues.append(ConfigIssue("zone", z.id, z.version, warning, "warning"))
        usable.append(z)
    if not usable:
        return PreparedZones(None, issues)
    fallback = False
    if aoi is None:
        try:
            aoi = derive_aoi(usable)
        except ValueError:
            if fallback_aoi is None:
                return PreparedZones(None, issues)
            aoi, fallback = fallback_aoi, True
    while usable:
        try:
            city = PreparedCity(
                usable, tolerance_m=tolerance_m, line_half_width_m=line_half_width_m, aoi=aoi
            )
            return PreparedZones(city, issues, fallback)
        except UnusableZones as exc:
            dropped = exc.reasons
        except Exception:  # anything else: find the zones it chokes on
            dropped = _one_by_one(usable, tolerance_m, line_half_width_m, aoi)
            if not dropped:
                raise
        issues += [
            ConfigIssue("zone", usable[i].id, usable[i].version, reason)
            for i, reason in sorted(dropped.items())
        ]
        usable = [z for i, z in enumerate(usable) if i not in dropped]
    return PreparedZones(None, issues)


def _one_by_one(
    zones: list[Zone], tolerance_m: float, line_half_width_m: float, aoi: BBox
) -> dict[int, str]:
    failed: dict[int, str] = {}
    for i, z in enumerate(zones):
        try:
            PreparedCity([z], tolerance_m=tolerance_m, line_half_width_m=line_half_width_m, aoi=aoi)
        except UnusableZones as exc:
            failed[i] = next(iter(exc.reasons.values()))
        except Exception as exc:
            failed[i] = f"geometry: cannot be prepared ({type(exc).__name__}: {exc})"
    return failed


@dataclass(frozen=True, slots=True)
class EvaluationInputs:
    """One evaluation's inputs, as ``evaluate_all`` takes them (zones prepared)."""

    snapshots: Sequence[VehicleSnapshot]
    permits: Sequence[Permit]
    samples: Sequence[CountSample]
    outages: Sequence[OutageSpan]
    now: datetime
    health: Sequence[FeedHealthSample] = ()
    city: PreparedCity | None = None
    line_half_width_m: float = 1.5

    def run(self) -> list[Finding]:
        return evaluate_all(
            self.snapshots,
            [],
            self.permits,
            self.samples,
            self.outages,
            self.now,
            health=self.health,
            city=self.city,
            line_half_width_m=self.line_half_width_m,
        )

    def only(self, operator: str) -> EvaluationInputs:
        return replace(
            self,
            snapshots=[s for s in self.snapshots if s.operator == operator],
            permits=[p for p in self.permits if p.operator == operator],
            samples=[s for s in self.samples if s.operator == operator],
            outages=[o for o in self.outages if o.operator == operator],
            health=[h for h in self.health if h.operator == operator],
        )


def evaluate_checked(inputs: EvaluationInputs) -> tuple[list[Finding], list[ConfigIssue]]:
    """``evaluate_all`` on the usable permits, never halted by one permit or the zones
    (see the module docstring). Returns the findings and the issues met."""
    permits, issues = check_permits(inputs.permits)
    inputs = replace(inputs, permits=permits)
    while True:
        try:
            return inputs.run(), issues
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            culprits = _failing_permits(inputs)
            if culprits:
                issues += [
                    ConfigIssue(
                        "permit", p.operator, p.version, f"evaluation failed ({error[:300]})"
                    )
                    for p in culprits
                ]
                inputs = replace(inputs, permits=[p for p in inputs.permits if p not in culprits])
                continue
            if inputs.city is None:
                raise
            issues.append(
                ConfigIssue("zones", "zones", None, f"zone rules not evaluated ({error[:300]})")
            )
            inputs = replace(inputs, city=None)


def _fails(inputs: EvaluationInputs) -> bool:
    try:
        inputs.run()
    except Exception:
        return True
    return False


def _failing_permits(inputs: EvaluationInputs) -> list[Permit]:
    """The permits in force that make an evaluation of their operator alone raise.
    When every operator fails with the zones, only those failing without them too."""
    active = active_permits(inputs.permits, inputs.now)
    failing = [p for op, p in sorted(active.items()) if _fails(inputs.only(op))]
    if failing and len(failing) == len(active) and inputs.city is not None:
        without_zones = replace(inputs, city=None)
        return [p for p in failing if _fails(without_zones.only(p.operator))]
    return failing
