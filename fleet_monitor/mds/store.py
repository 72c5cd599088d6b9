"""Publishing MDS documents, and reading back what was published.

Publishing is an explicit act (``fleet-monitor mds publish``): it drafts the
policies of the permits in force from ``now + lead`` on (``rules.mds``),
compares them with what was published before, and stores only what changed:
a changed permit or zone makes a new policy (a new ``policy_id``, the old one
in ``prev_policies``) and new geography versions (``prev_geographies``: the
last published geography of the same zone, or union of zones). Nothing
published is ever rewritten: each document is stored as the exact bytes that
the API serves and the CLI exports, and the database refuses to update or
delete them (migration 0014). Publications are serialised by an advisory lock.

Reading: ``published_policies``/``published_geographies`` in publication
order; ``policies_json``/``geographies_json`` wrap stored bytes, unchanged, in
the MDS envelope.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

from rules import Permit, Zone
from rules.mds import (
    MDS_VERSION,
    MIN_LEAD,
    MdsError,
    build_mds,
)
from rules.mds_geo import ms
from rules.mds_versions import PublishedPolicy, link_policies

#: default time between publication and the policies' start (operators must adapt)
DEFAULT_LEAD = timedelta(hours=24)


@dataclass(slots=True)
class PublishResult:
    published_at: datetime
    start_at: datetime
    publication_id: int | None = None
    policies: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    geographies: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "publication_id": self.publication_id,
            "published_at": self.published_at.isoformat(),
            "start_at": self.start_at.isoformat(),
            "policies": self.policies,
            "unchanged_policies": self.unchanged,
            "new_geographies": self.geographies,
            "notes": self.notes,
        }


def _stored_policies(session: Session) -> list[PublishedPolicy]:
    rows = session.execute(
        text(
            "SELECT policy_id, operator, permit_version, facet, digest FROM mds_policy"
            " ORDER BY publication_id, position"
        )
    ).all()
    return [PublishedPolicy(*r) for r in rows]


def publish(
    session: Session,
    permits: Sequence[Permit],
    zones: Sequence[Zone],
    *,
    now: datetime,
    lead: timedelta = DEFAULT_LEAD,
    line_half_width_m: float = 1.5,
    actor: str | None = None,
    dry_run: bool = False,
) -> PublishResult:
    """Publish what changed since the last publication (see the module docstring).

    Raises ``MdsError`` for a lead time under 20 minutes. The caller owns the
    transaction (``dry_run`` writes nothing)."""
    if lead < MIN_LEAD:
        raise MdsError("the lead time must be at least 20 minutes (MDS)")
    now = now.astimezone(UTC).replace(microsecond=(now.microsecond // 1000) * 1000)
    result = PublishResult(published_at=now, start_at=now + lead)
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext('fleet_monitor.mds'))"))
    drafts = build_mds(
        permits,
        zones,
        published_at=now,
        start_at=result.start_at,
        line_half_width_m=line_half_width_m,
    )
    result.notes = drafts.notes
    stored = _stored_policies(session)
    drafted = {d.operator for d in drafts.policies}
    for operator in sorted({s.operator for s in stored} - drafted):
        result.notes.append(
            f"{operator}: nothing to publish now; its published policies stay as they are"
            " (MDS ends a policy only by publishing one that replaces it)"
        )
    new = link_policies(drafts.policies, stored)
    result.unchanged = len(drafts.policies) - len(new)
    result.policies = [
        {
            "policy_id": d.policy["policy_id"],
            "name": d.policy["name"],
            "operator": d.operator,
            "permit_version": d.permit_version,
            "facet": d.facet,
            "prev_policies": d.policy.get("prev_policies", []),
        }
        for d in new
    ]
    if not new:
        return result
    needed = sorted({g for d in new for r in d.policy["rules"] for g in r["geographies"]})
    known: dict[str, str] = dict(
        session.execute(
            text(
                "SELECT geography_id, lineage FROM mds_geography ORDER BY publication_id, position"
            )
        ).all()
    )
    latest_by_lineage: dict[str, str] = {}
    for gid, lineage in known.items():
        latest_by_lineage[lineage] = gid
    geographies = []
    for gid in needed:
        if gid in known:
            continue
        doc = dict(drafts.geographies[gid])
        lineage = drafts.geography_lineage[gid]
        prev = latest_by_lineage.get(lineage)
        if prev is not None:
            doc["prev_geographies"] = [prev]
        geographies.append((gid, lineage, drafts.geography_operator[gid], doc))
    result.geographies = len(geographies)
    if dry_run:
        return result
    result.publication_id = session.execute(
        text(
            "INSERT INTO mds_publication (published_at, start_at, actor, policies, geographies)"
            " VALUES (:p, :s, :a, :np, :ng) RETURNING id"
        ),
        {"p": now, "s": result.start_at, "a": actor, "np": len(new), "ng": len(geographies)},
    ).scalar_one()
    for i, (gid, lineage, geo_operator, doc) in enumerate(geographies):
        session.execute(
            text(
                "INSERT INTO mds_geography (geography_id, publication_id, position, lineage,"
                " operator, document) VALUES (:g, :pub, :i, :l, :o, :d)"
            ),
            {
                "g": gid,
                "pub": result.publication_id,
                "i": i,
                "l": lineage,
                "o": geo_operator,
                "d": orjson.dumps(doc),
            },
        )
    for i, d in enumerate(new):
        p = d.policy
        session.execute(
            text(
                "INSERT INTO mds_policy (policy_id, publication_id, position, operator,"
                " permit_version, facet, digest, start_date, end_date, document)"
                " VALUES (:id, :pub, :i, :op, :v, :f, :dg, :s, :e, :doc)"
            ),
            {
                "id": p["policy_id"],
                "pub": result.publication_id,
                "i": i,
                "op": d.operator,
                "v": d.permit_version,
                "f": d.facet,
                "dg": d.digest,
                "s": datetime.fromtimestamp(p["start_date"] / 1000, UTC),
                "e": datetime.fromtimestamp(p["end_date"] / 1000, UTC) if "end_date" in p else None,
                "doc": orjson.dumps(p),
            },
        )
    return result


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    policy_id: str
    operator: str
    start_date: datetime
    end_date: datetime | None
    document: bytes
    #: the start of the policy that replaced it (None: still the latest)
    superseded_at: datetime | None = None

    @property
    def effective_end(self) -> datetime | None:
        ends = [t for t in (self.end_date, self.superseded_at) if t is not None]
        return min(ends) if ends else None

    def effective_during(self, start: datetime, end: datetime | None) -> bool:
        """Does its period of effect meet ``[start, end)`` (``end`` None: no end)?"""
        eff_end = self.effective_end
        if eff_end is not None and eff_end <= self.start_date:
            return False  # replaced before it started
        return (end is None or self.start_date < end) and (eff_end is None or eff_end > start)


@dataclass(frozen=True, slots=True)
class StoredGeography:
    geography_id: str
    operator: str | None
    document: bytes


def published_policies(session: Session) -> list[StoredPolicy]:
    rows = session.execute(
        text(
            "SELECT policy_id, operator, start_date, end_date, document FROM mds_policy"
            " ORDER BY publication_id, position"
        )
    ).all()
    replaced: dict[str, datetime] = {}
    for r in rows:
        for prev in orjson.loads(r.document).get("prev_policies", []):
            if prev not in replaced or r.start_date < replaced[prev]:
                replaced[prev] = r.start_date
    return [StoredPolicy(r[0], r[1], r[2], r[3], bytes(r[4]), replaced.get(r[0])) for r in rows]


def published_geographies(session: Session) -> list[StoredGeography]:
    rows = session.execute(
        text(
            "SELECT geography_id, operator, document FROM mds_geography"
            " ORDER BY publication_id, position"
        )
    ).all()
    return [StoredGeography(r[0], r[1], bytes(r[2])) for r in rows]


def last_updated(session: Session) -> datetime | None:
    """When the last publication was made (None: never)."""
    value: datetime | None = session.execute(
        text("SELECT max(published_at) FROM mds_publication")
    ).scalar()
    return value


def _envelope(key: str, documents: Sequence[bytes], updated: datetime | None) -> bytes:
    head = orjson.dumps({"version": MDS_VERSION, "last_updated": ms(updated or _FLOOR)})
    return head[:-1] + b',"' + key.encode() + b'":[' + b",".join(documents) + b"]}"


_FLOOR = datetime(2018, 1, 1, tzinfo=UTC)


def policies_json(documents: Sequence[bytes], updated: datetime | None) -> bytes:
    """``{"version", "last_updated", "policies": [...]}`` around the stored bytes."""
    return _envelope("policies", documents, updated)


def geographies_json(documents: Sequence[bytes], updated: datetime | None) -> bytes:
    return _envelope("geographies", documents, updated)


def geography_json(document: bytes, updated: datetime | None) -> bytes:
    """The ``/geographies/{id}`` response: ``{"version", "last_updated", "geography"}``."""
    head = orjson.dumps({"version": MDS_VERSION, "last_updated": ms(updated or _FLOOR)})
    return head[:-1] + b',"geography":' + document + b"}"


def publications(session: Session) -> list[dict[str, Any]]:
    """Every publication, newest first, with the policies it added."""
    pubs = session.execute(
        text(
            "SELECT id, published_at, start_at, actor, policies, geographies"
            " FROM mds_publication ORDER BY id DESC"
        )
    ).all()
    policies = session.execute(
        text(
            "SELECT publication_id, policy_id, operator, permit_version, facet, start_date"
            " FROM mds_policy ORDER BY publication_id, position"
        )
    ).all()
    replaced = {p.policy_id: p.superseded_at for p in published_policies(session)}
    out = []
    for pub in pubs:
        out.append(
            {
                "id": pub.id,
                "published_at": pub.published_at,
                "start_at": pub.start_at,
                "actor": pub.actor,
                "geographies": pub.geographies,
                "policies": [
                    {
                        "policy_id": p.policy_id,
                        "operator": p.operator,
                        "permit_version": p.permit_version,
                        "facet": p.facet,
                        "start_date": p.start_date,
                        "replaced_from": replaced.get(p.policy_id),
                    }
                    for p in policies
                    if p.publication_id == pub.id
                ],
            }
        )
    return out
