"""The permits' fleet caps for the statistics' deployed-fleet chart: per operator, the
cap in force on each day of the period (the permit version in force at the day's
noon, city time).

Decisions: the cap of a form factor applies when the report is filtered on that
form factor, the operator's overall cap otherwise; a report filtered on one zone
gets no cap (fleet caps are city-wide, comparing a zone's fleet with them would
mislead). A stored permit text that no longer parses is left out here: the
violations engine reports it (``load_permits_checked``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, time
from typing import Any

from fleet_monitor.models.stats import ALL
from rules import Permit
from rules.inputs import active_permits
from rules.permit_toml import PermitError, load_permit_toml

_PARSED: dict[str, Permit | None] = {}


def _parse(digest: str, text: str) -> Permit | None:
    if digest not in _PARSED:
        try:
            _PARSED[digest] = load_permit_toml(text)
        except PermitError:
            _PARSED[digest] = None
    return _PARSED[digest]


def _cap(permit: Permit, form_factor: str) -> int | None:
    if form_factor and form_factor != ALL:
        return permit.fleet_cap_by_form_factor.get(form_factor)
    return permit.fleet_cap


def fleet_caps(
    cur: Any,
    slugs: Sequence[str],
    days: Sequence[Any],
    tz: Any,
    form_factor: str,
    zone: str,
) -> dict[str, dict[str, int]]:
    """Operator slug -> {ISO day: cap} for the days a cap is in force."""
    if zone and zone != ALL:
        return {}
    wanted = [s for s in slugs if s != ALL]
    if not wanted or not days:
        return {}
    cur.execute(
        "SELECT content_hash, source_text FROM permit WHERE operator = ANY(%s)"
        " ORDER BY operator, version",
        (wanted,),
    )
    permits = [p for d, t in cur.fetchall() if (p := _parse(d, t)) is not None]
    out: dict[str, dict[str, int]] = {}
    for day in days:
        noon = datetime.combine(day, time(12), tzinfo=tz)
        for slug, permit in active_permits(permits, noon).items():
            cap = _cap(permit, form_factor)
            if cap is not None:
                out.setdefault(slug, {})[day.isoformat()] = int(cap)
    return out


def permits_in_force(cur: Any, slugs: Sequence[str], at: datetime) -> dict[str, Permit]:
    """Operator slug -> the permit version in force at ``at`` (parsed as for the caps)."""
    wanted = [s for s in slugs if s != ALL]
    if not wanted:
        return {}
    cur.execute(
        "SELECT content_hash, source_text FROM permit WHERE operator = ANY(%s)"
        " ORDER BY operator, version",
        (wanted,),
    )
    permits = [p for d, t in cur.fetchall() if (p := _parse(d, t)) is not None]
    return active_permits(permits, at)


def days_over_cap(daily: Iterable[Mapping[str, Any]], caps: Mapping[str, int]) -> int:
    """Days (rows of a fleet section's ``daily``, one operator) whose maximum deployed
    over the observed samples is above the cap in force that day (``caps``: ISO day ->
    cap, from :func:`fleet_caps`). Days without a cap or without an observed sample
    do not count."""
    return sum(
        1
        for d in daily
        if d.get("deployed_max") is not None
        and caps.get(d["day"]) is not None
        and d["deployed_max"] > caps[d["day"]]
    )
