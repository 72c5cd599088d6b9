"""The city's permits and zones as MDS 2.0 Policy and Geography documents (pure).

``build_mds(permits, zones, published_at=..., start_at=...)`` drafts the
policies of every permit version in force from ``start_at`` on (and of those
starting later), with the geographies their rules use. ``link_policies``
(:mod:`rules.mds_versions`) then decides, against what was published before,
which drafts are new (a changed permit or zone: a new ``policy_id`` listing the replaced policies in
``prev_policies``) and which are unchanged (the published policy stands, as
published). ``policies_document``/``geographies_document`` wrap objects in
the MDS envelope (``version``, ``last_updated``, ``policies`` or
``geographies`` at the top level).

Prose rules of MDS 2.0 the schemas cannot check, and how they are kept:

* ``start_date`` >= ``published_date`` + 20 minutes: ``start_at`` defaults to
  that and earlier is refused; a permit already in force starts at ``start_at``.
* first-match order: each policy is a partition of the vehicles, most specific
  rule first; constraints that are not a partition go to separate policies of
  the same permit (facets, see :mod:`rules.mds_mapping`);
* each rule's geographies do not overlap (dissolved, :mod:`rules.mds_geo`);
* time limits in the largest exact unit (``90s`` stays 90 seconds);
* ``rate_recurrence`` valid for the rule type (``rules.mds_mapping``).

A policy uses, for each zone it names, the version in force at its
``start_date`` (else the first version starting later): a zone version that
starts later reaches the policies at the next publication after it starts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from rules.findings import PROHIBITED_KIND_RULES, RuleType
from rules.inputs import Permit, Zone, select_permit
from rules.mds_geo import (
    GeographyCatalog,
    areas_overlap,
    mds_uuid,
    ms,
    sanitize_text,
)
from rules.mds_mapping import (
    DESIGNATED_AREAS,
    FACET_TITLES,
    FACETS,
    FLEET_CAP_BY_TYPE,
    MDS_RULES,
    MDS_VEHICLE_TYPES,
    MdsRuleMapping,
    time_units,
    valid_provider_id,
)
from rules.mds_schedules import scheduled_rules
from rules.mds_versions import PolicyDraft, link_policies
from rules.overflow import parking_quotas

MDS_VERSION = "2.0.0"
MEDIA_TYPE = "application/vnd.mds+json;version=2.0"
#: MDS: "start_date must be at least 20 minutes after published_date"
MIN_LEAD = timedelta(minutes=20)


def provider_id(permit: Permit) -> str:
    """The permit's MDS provider id, else a UUIDv5 of the operator (not an official id;
    a stored permit from before the import check with an unusable id gets it too)."""
    if valid_provider_id(permit.mds_provider_id):
        return str(permit.mds_provider_id)
    return mds_uuid(f"provider:{permit.operator}")


@dataclass(slots=True)
class MdsDrafts:
    policies: list[PolicyDraft] = field(default_factory=list)
    geographies: dict[str, dict[str, Any]] = field(default_factory=dict)
    geography_lineage: dict[str, str] = field(default_factory=dict)
    geography_operator: dict[str, str | None] = field(default_factory=dict)
    #: what could not be published, and why (shown by the CLI)
    notes: list[str] = field(default_factory=list)


class MdsError(ValueError):
    """A publication that MDS forbids (e.g. a start less than 20 minutes ahead)."""


# --------------------------------------------------------------------------- rules


def _zones_at(zones: Iterable[Zone], at: datetime) -> list[Zone]:
    """Per zone id, the version in force at ``at``, else the first one starting later."""
    by_id: dict[str, list[Zone]] = {}
    for z in zones:
        by_id.setdefault(z.id, []).append(z)
    out = []
    for versions in by_id.values():
        current = [z for z in versions if z.is_effective(at)]
        later = [z for z in versions if z.effective_from is not None and z.effective_from > at]
        if current:
            out.append(max(current, key=lambda z: z.version))
        elif later:
            out.append(min(later, key=lambda z: z.effective_from or at))
    return sorted(out, key=lambda z: z.id)


@dataclass(slots=True)
class _PermitRules:
    permit: Permit
    zones: list[Zone]
    catalog: GeographyCatalog
    notes: list[str]
    by_facet: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)

    def of(self, kinds: Iterable[str], only: Sequence[str] = ()) -> list[Zone]:
        kinds = set(kinds)
        return [
            z
            for z in self.zones
            if z.kind in kinds and z.applies_to(self.permit.operator) and (not only or z.id in only)
        ]

    def add(
        self,
        mapping: MdsRuleMapping,
        zones: Sequence[Zone],
        *,
        facet: str | None = None,
        penalty: RuleType | None = None,
        counted: bool = False,
        **fields: Any,
    ) -> None:
        name = mapping.name.format(**fields.pop("fmt", {}))
        if not zones:
            self.notes.append(f"{self.label}: {name!r} not published (no zone to apply it to)")
            return
        rule: dict[str, Any] = {
            "name": sanitize_text(name),
            "rule_type": mapping.mds_rule_type,
            "geographies": self.catalog.for_rule(zones),
            "states": {k: list(v) for k, v in mapping.states.items()},
        }
        if mapping.mds_rule_type == "count":
            rule["rule_units"] = "devices"
        rule.update({k: v for k, v in fields.items() if v is not None})
        amount = self.permit.penalties_eur.get(str(penalty)) if penalty else None
        if amount is not None and mapping.penalty_recurrence is not None:
            rule["rate_amount"] = round(amount * 100)
            rule["rate_recurrence"] = mapping.penalty_recurrence
            rule["rate_applies_when"] = "out_of_bounds"
        rules = _in_operating_hours(rule, self.permit) if counted else [rule]
        self.by_facet.setdefault(facet or mapping.facet, []).extend(
            (mapping.order, r) for r in rules
        )

    @property
    def label(self) -> str:
        return f"permit {self.permit.operator} v{self.permit.version}"


def _in_operating_hours(rule: dict[str, Any], p: Permit) -> list[dict[str, Any]]:
    """A count the permit samples in its operating hours applies then only (MDS
    ``start_time``/``end_time``, local time). MDS has no window across midnight:
    one that ends the next day is two rules, the evening and the morning."""
    hours = p.counting.operating_hours
    if hours is None or hours[0] == hours[1]:
        return [rule]
    start, end = (t.strftime("%H:%M:%S") for t in hours)
    if hours[0] < hours[1]:
        return [{**rule, "start_time": start, "end_time": end}]
    name = rule["name"]
    return [
        {**rule, "name": sanitize_text(f"{name} (evening)"), "start_time": start},
        {**rule, "name": sanitize_text(f"{name} (morning)"), "end_time": end},
    ]


def _parking_rules(r: _PermitRules, quotas: dict[str, int]) -> None:
    p = r.permit
    # weekly windows of scheduled restrictions first: the most specific (time-bounded)
    order = MDS_RULES[RuleType.SCHEDULED_RESTRICTION].order
    for rule in scheduled_rules(p, r.zones, r.catalog.zone_geography):
        rule.pop("rule_id", None)
        rule["name"] = sanitize_text(rule["name"])
        r.by_facet.setdefault("parking", []).append((order, rule))
    for kind in p.prohibited_kinds:
        rule_type = PROHIBITED_KIND_RULES[kind]
        zs = r.of([kind])
        if zs:
            r.add(MDS_RULES[rule_type], zs, penalty=rule_type, fmt={"kind": kind}, maximum=0)
    if not p.parking.mandatory:
        return
    bays = r.of(["mandatory_parking"], p.parking.zone_ids)
    for z in bays:
        if z.capacity is not None and z.id in quotas:
            r.add(
                MDS_RULES[RuleType.PARKING_OVERFLOW],
                [z],
                penalty=RuleType.PARKING_OVERFLOW,
                fmt={"zone": z.id},
                maximum=quotas[z.id],
            )
    if bays:
        r.add(DESIGNATED_AREAS, bays)
    where = (
        r.of(["district", "operating_area"], p.parking.district_ids)
        if p.parking.district_ids
        else r.of(["operating_area"], p.operating_area_zone_ids)
    )
    rule_type = RuleType.OUTSIDE_MANDATORY_PARKING
    r.add(MDS_RULES[rule_type], where, penalty=rule_type, maximum=0)


def _zone_cap_rules(r: _PermitRules) -> None:
    """Caps and floors per zone; overlapping zones go to separate policies."""
    p = r.permit
    groups: list[list[Zone]] = []
    for zid in sorted(set(p.zone_caps) | set(p.zone_floors)):
        zs = [z for z in r.zones if z.id == zid and z.applies_to(p.operator)]
        if not zs:
            r.notes.append(f"{r.label}: zone cap/floor {zid!r} not published (no such zone)")
            continue
        (z,) = zs
        area = r.catalog.area_m(z)
        for group in groups:
            if not any(areas_overlap(area, r.catalog.area_m(o)) for o in group):
                group.append(z)
                break
        else:
            groups.append([z])
        facet = next(
            f"zone_caps-{i + 1}" if i else "zone_caps" for i, g in enumerate(groups) if z in g
        )
        cap, floor = p.zone_caps.get(zid), p.zone_floors.get(zid)
        if cap is not None:
            mapping, penalty = MDS_RULES[RuleType.ZONE_CAP], RuleType.ZONE_CAP
        else:
            mapping, penalty = MDS_RULES[RuleType.ZONE_FLOOR], RuleType.ZONE_FLOOR
        r.add(
            mapping,
            [z],
            facet=facet,
            penalty=penalty,
            counted=True,
            fmt={"zone": zid},
            maximum=cap,
            minimum=floor,
        )


def _fleet_and_time_rules(r: _PermitRules) -> None:
    p = r.permit
    area = r.of(["operating_area"], p.operating_area_zone_ids)
    if p.fleet_cap is not None:
        r.add(
            MDS_RULES[RuleType.FLEET_CAP],
            area,
            penalty=RuleType.FLEET_CAP,
            counted=True,
            maximum=p.fleet_cap,
        )
    for ff, cap in sorted(p.fleet_cap_by_form_factor.items()):
        if ff not in MDS_VEHICLE_TYPES:
            r.notes.append(f"{r.label}: fleet cap of {ff!r} not published (not an MDS type)")
            continue
        r.add(
            FLEET_CAP_BY_TYPE,
            area,
            penalty=RuleType.FLEET_CAP,
            counted=True,
            fmt={"vehicle_type": ff},
            vehicle_types=[ff],
            maximum=cap,
        )
    for rule_type, limit in (
        (RuleType.IDLE_TOO_LONG, p.max_idle),
        (RuleType.DISABLED_TOO_LONG, p.max_disabled),
    ):
        if limit is not None:
            units, value = time_units(limit.total_seconds())
            r.add(MDS_RULES[rule_type], area, penalty=rule_type, rule_units=units, maximum=value)


def _description(p: Permit, facet: str) -> str:
    parts = [f"Permit {p.operator} v{p.version}, {FACET_TITLES[facet.split('-')[0]]}"]
    if facet == "time":
        for rule_type in (RuleType.IDLE_TOO_LONG, RuleType.DISABLED_TOO_LONG):
            amount = p.penalties_eur.get(str(rule_type))
            if amount is not None:
                parts.append(f"{rule_type} penalty {amount:g} EUR per breach")
    d, n = p.data, p.notices
    parts.append(f"feed staleness <= {d.max_feed_staleness.total_seconds():g} s")
    if d.min_monthly_availability is not None:
        parts.append(f"monthly feed availability >= {d.min_monthly_availability:.2%}")
    parts.append(
        f"notice deadlines {n.day_deadline.total_seconds() / 3600:g} h by day,"
        f" {n.night_deadline.total_seconds() / 3600:g} h by night"
    )
    return sanitize_text("; ".join(parts))


def _digest(policy: dict[str, Any]) -> str:
    content = {
        k: v
        for k, v in policy.items()
        if k not in ("policy_id", "published_date", "start_date", "prev_policies")
    }
    content["rules"] = [{k: v for k, v in r.items() if k != "rule_id"} for r in policy["rules"]]
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _policy(
    p: Permit,
    facet: str,
    rules: list[dict[str, Any]],
    start: datetime,
    published: datetime,
    end: datetime | None = None,
) -> PolicyDraft:
    # "zone caps 2" for the second group of zone caps; an event's hash is not shown
    number = facet.split("-")[1] if facet.startswith("zone_caps-") else ""
    suffix = f" - {FACET_TITLES[facet.split('-')[0]]}" + (f" {number}" if number else "")
    base = sanitize_text(p.name or f"{p.operator} permit v{p.version}")
    policy: dict[str, Any] = {
        "name": base[: 255 - len(suffix)] + suffix,
        "mode_id": "micromobility",
        "policy_id": "",
        "provider_ids": [provider_id(p)],
        "description": _description(p, facet),
        "currency": "EUR",
        "start_date": ms(start),
        "published_date": ms(published),
        "rules": rules,
    }
    end = end or p.effective_to
    if end is not None:
        policy["end_date"] = ms(end)
    digest = _digest(policy)
    pid = mds_uuid(f"policy:{p.operator}:v{p.version}:{facet}:{digest}:{ms(published)}")
    policy["policy_id"] = pid
    policy["rules"] = [
        {"rule_id": mds_uuid(f"{pid}:rule:{i}"), **rule} for i, rule in enumerate(rules)
    ]
    return PolicyDraft(policy, p.operator, p.version, facet, digest)


def _event_policies(r: _PermitRules, published: datetime) -> list[PolicyDraft]:
    """One policy per one-off event of a scheduled restriction zone, from its start to
    its end; an event less than 20 minutes ahead (or past) cannot be published."""
    p, out = r.permit, []
    mapping = MDS_RULES[RuleType.SCHEDULED_RESTRICTION]
    for z in r.zones:
        if z.schedule is None or not z.applies_to(p.operator):
            continue
        for start, end in z.schedule.events:
            if not p.effective_from <= start < (p.effective_to or end) or end <= start:
                continue
            if start < published + MIN_LEAD:
                if end > published:
                    r.notes.append(f"{r.label}: event of {z.id} at {start.isoformat()} too close")
                continue
            key = hashlib.sha256(f"{z.id}|{start.isoformat()}".encode()).hexdigest()[:8]
            rule = {
                "name": sanitize_text(mapping.name.format(zone=z.id, start=start.isoformat())),
                "rule_type": mapping.mds_rule_type,
                "rule_units": "devices",
                "geographies": [r.catalog.zone_geography(z)],
                "states": {k: list(v) for k, v in mapping.states.items()},
                "maximum": 0,
            }
            out.append(_policy(p, f"event-{key}", [rule], start, published, end=end))
    return out


def _permits_to_publish(permits: Sequence[Permit], start_at: datetime) -> list[Permit]:
    """Per operator: the version in force at ``start_at`` and the versions starting later."""
    out = []
    for op in sorted({p.operator for p in permits}):
        current = select_permit(permits, op, start_at)
        if current is not None:
            out.append(current)
        out += sorted(
            (p for p in permits if p.operator == op and p.effective_from > start_at),
            key=lambda p: p.version,
        )
    return out


def build_mds(
    permits: Iterable[Permit],
    zones: Iterable[Zone],
    *,
    published_at: datetime,
    start_at: datetime | None = None,
    line_half_width_m: float = 1.5,
) -> MdsDrafts:
    """Draft policies (each with a fresh ``policy_id``) and the geographies they use."""
    start_at = published_at + MIN_LEAD if start_at is None else start_at
    if start_at < published_at + MIN_LEAD:
        raise MdsError("the start must be at least 20 minutes after the publication (MDS)")
    permits, zones = list(permits), list(zones)
    out = MdsDrafts()
    catalog = GeographyCatalog(zones, published_at, line_half_width_m)
    for p in _permits_to_publish(permits, start_at):
        start = max(p.effective_from, start_at)
        if p.effective_to is not None and p.effective_to <= start:
            continue
        r = _PermitRules(p, _zones_at(zones, start), catalog, out.notes)
        quotas: dict[str, int] = {}
        if p.parking.mandatory:
            at_start = parking_quotas(r.zones, permits, start)
            quotas = {zid: q[p.operator] for zid, q in at_start.items() if p.operator in q}
        _parking_rules(r, quotas)
        _zone_cap_rules(r)
        _fleet_and_time_rules(r)
        if not r.by_facet:
            out.notes.append(f"{r.label}: no clause MDS can express, no policy")
        for facet in sorted(r.by_facet, key=lambda f: (FACETS.index(f.split("-")[0]), f)):
            rules = [rule for _, rule in sorted(r.by_facet[facet], key=lambda x: x[0])]
            out.policies.append(_policy(p, facet, rules, start, published_at))
        out.policies += _event_policies(r, published_at)
    used = {g for d in out.policies for rule in d.policy["rules"] for g in rule["geographies"]}
    out.geographies = {g: catalog.documents[g] for g in sorted(used)}
    out.geography_lineage = {g: catalog.lineage[g] for g in sorted(used)}
    out.geography_operator = {g: catalog.operator[g] for g in sorted(used)}
    return out


# --------------------------------------------------------------------------- documents


def policies_document(policies: Sequence[dict[str, Any]], last_updated: datetime) -> dict[str, Any]:
    return {"version": MDS_VERSION, "last_updated": ms(last_updated), "policies": list(policies)}


def geographies_document(
    geographies: Sequence[dict[str, Any]], last_updated: datetime
) -> dict[str, Any]:
    return {
        "version": MDS_VERSION,
        "last_updated": ms(last_updated),
        "geographies": list(geographies),
    }


def permits_to_mds_policy(
    permits: Iterable[Permit],
    zones: Iterable[Zone],
    *,
    published_at: datetime,
    start_at: datetime | None = None,
    line_half_width_m: float = 1.5,
) -> dict[str, Any]:
    """A draft ``policies.json`` as a first publication at ``published_at`` would make it."""
    drafts = build_mds(
        permits,
        zones,
        published_at=published_at,
        start_at=start_at,
        line_half_width_m=line_half_width_m,
    )
    linked = link_policies(drafts.policies, [])
    return policies_document([d.policy for d in linked], published_at)


def zones_to_mds_geographies(
    zones: Iterable[Zone], *, published_at: datetime, line_half_width_m: float = 1.5
) -> dict[str, Any]:
    """Every zone version as an MDS Geography (``prev_geographies``: earlier versions)."""
    zones = sorted(zones, key=lambda z: (z.id, z.version))
    catalog = GeographyCatalog(zones, published_at, line_half_width_m)
    docs = []
    for z in zones:
        doc = dict(catalog.documents[catalog.zone_geography(z)])
        prev = [catalog.zone_geography(o) for o in zones if o.id == z.id and o.version < z.version]
        if prev:
            doc["prev_geographies"] = prev
        docs.append(doc)
    return geographies_document(docs, published_at)
