"""Scheduled and event restrictions in the MDS 2.0 export, as time-bounded rules.

* Weekly windows become ``count`` rules with ``maximum: 0`` on the zone's
  geography, bounded by ``days``, ``start_time`` and ``end_time`` (local time of
  the policy's jurisdiction, as MDS reads them). MDS has no window across
  midnight: one that ends the next day is published as two rules (to
  ``23:59:59``, then from ``00:00:00`` on the following days).
* One-off events cannot be expressed by days and times alone: each becomes a
  policy of its own per permit, from the event's start to its end
  (``start_date``/``end_date``), published ``lead`` before it (and at least the
  20 minutes MDS asks before a policy starts).

The rule type, units and states are the registry's MDS mapping of the rule
enforcing the zone's kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from rules.inputs import Permit, Zone
from rules.schedule import DAYS, Weekly

MIN_NOTICE = timedelta(minutes=20)  # MDS: start_date at least 20 minutes after published_date


def _id(name: str) -> str:
    return str(uuid5(NAMESPACE_URL, f"fleet-monitor:mds:{name}"))


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def _mapping(kind: str) -> dict[str, Any]:
    """The MDS mapping of the rule that enforces zones of ``kind`` (``rules.registry``)."""
    from rules.registry import REGISTRY

    m = next(s.mds for s in REGISTRY if s.zone_kind == kind and s.mds is not None)
    return {
        "rule_type": m.rule_type,
        "rule_units": m.rule_units,
        "states": {k: list(v) for k, v in m.states.items()},
    }


def _scheduled(zones: Iterable[Zone], permit: Permit) -> list[Zone]:
    return [z for z in zones if z.schedule is not None and z.applies_to(permit.operator)]


def _weekly_rules(permit: Permit, zone: Zone, geo: str, k: int, w: Weekly) -> list[dict[str, Any]]:
    base = {**_mapping(zone.kind), "geographies": [geo], "maximum": 0}
    days = [DAYS[d] for d in w.days]
    name = f"Timed restriction {zone.id} #{k + 1}"
    if w.end > w.start:
        spans = [(days, w.start, w.end, name)]
    else:  # across midnight: the evening, then the morning after
        after = [DAYS[(d + 1) % 7] for d in w.days]
        spans = [
            (days, w.start, time(23, 59, 59), name),
            (after, time(0, 0), w.end, f"{name} (after midnight)"),
        ]
    return [
        {
            "name": n,
            "rule_id": _id(f"rule:{permit.operator}:v{permit.version}:{n}"),
            **base,
            "days": d,
            "start_time": a.strftime("%H:%M:%S"),
            "end_time": b.strftime("%H:%M:%S"),
        }
        for d, a, b, n in spans
    ]


def scheduled_rules(
    permit: Permit, zones: Sequence[Zone], geography_id: Any
) -> list[dict[str, Any]]:
    """The weekly time-bounded rules of ``permit``'s policy."""
    out: list[dict[str, Any]] = []
    for z in _scheduled(zones, permit):
        assert z.schedule is not None
        for k, w in enumerate(z.schedule.weekly):
            out += _weekly_rules(permit, z, geography_id(z), k, w)
    return out


def event_policies(
    permits: Sequence[Permit],
    zones: Sequence[Zone],
    geography_id: Any,
    provider_id: Any,
    policy_id: Any,
) -> list[dict[str, Any]]:
    """One policy per permit and one-off event of a zone applying to its operator."""
    out = []
    for p in permits:
        for z in _scheduled(zones, p):
            assert z.schedule is not None
            for start, end in z.schedule.events:
                if start < p.effective_from or (p.effective_to and start >= p.effective_to):
                    continue
                name = f"Event restriction {z.id} {start.isoformat()}"
                published = start - max(z.schedule.lead, MIN_NOTICE)
                out.append(
                    {
                        "name": name[:255],
                        "mode_id": "micromobility",
                        "policy_id": _id(f"policy:{p.operator}:v{p.version}:{name}"),
                        "provider_ids": [provider_id(p)],
                        "description": f"{z.name or z.id}: no parking during the event"[:255],
                        "currency": "EUR",
                        "start_date": _ms(start),
                        "end_date": _ms(end),
                        "published_date": _ms(published),
                        "rules": [
                            {
                                "name": name[:255],
                                "rule_id": _id(f"rule:{p.operator}:v{p.version}:{name}"),
                                **_mapping(z.kind),
                                "geographies": [geography_id(z)],
                                "maximum": 0,
                            }
                        ],
                    }
                )
    return out
