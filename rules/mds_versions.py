"""Published means immutable: which drafted MDS policies are new, and what they replace.

MDS policies never change once published; a change is a new policy that lists the
policies it replaces in ``prev_policies``. ``link_policies`` compares drafts
(``rules.mds.build_mds``) with the policies published before (in publication
order) and keeps only the new ones, linked to their predecessors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class PolicyDraft:
    """One policy to publish: ``lineage`` is what successive versions share
    (operator, permit version, facet); ``digest`` hashes the content that makes it
    this policy (everything except ids, dates of publication and ``prev_policies``)."""

    policy: dict[str, Any]
    operator: str
    permit_version: int
    facet: str
    digest: str


@dataclass(frozen=True, slots=True)
class PublishedPolicy:
    """What a publication needs to know of a stored policy."""

    policy_id: str
    operator: str
    permit_version: int
    facet: str
    digest: str


def link_policies(
    drafts: Sequence[PolicyDraft], published: Sequence[PublishedPolicy]
) -> list[PolicyDraft]:
    """The drafts that are new, with ``prev_policies``; unchanged ones are left out.

    A draft is unchanged when the last policy published for the same operator,
    permit version and facet has the same digest. A new one replaces that policy,
    or, for a new permit version, the last policy of the same facet of earlier
    versions; the first new policy of a permit version also replaces the facets
    that version no longer has."""
    heads: dict[tuple[str, str], PublishedPolicy] = {}
    for row in published:  # in publication order: the last one is the head
        heads[(row.operator, row.facet)] = row
    same_version = {(r.operator, r.permit_version, r.facet): r for r in published}
    out: list[PolicyDraft] = []
    for d in sorted(drafts, key=lambda d: (d.operator, d.permit_version)):
        last = same_version.get((d.operator, d.permit_version, d.facet))
        if last is not None and last.digest == d.digest:
            heads[(d.operator, d.facet)] = last
            continue
        prev = last or heads.get((d.operator, d.facet))
        ids = [prev.policy_id] if prev is not None else []
        if not any(o.operator == d.operator and o.permit_version == d.permit_version for o in out):
            facets = {
                x.facet
                for x in drafts
                if (x.operator, x.permit_version) == (d.operator, d.permit_version)
            }
            ids += [
                h.policy_id
                for (op, facet), h in heads.items()
                if op == d.operator
                and facet not in facets
                and not facet.startswith("event")  # an event ends on its own
                and h.permit_version < d.permit_version
            ]
        policy = dict(d.policy)
        if ids:
            policy["prev_policies"] = sorted(set(ids))
        new = replace(d, policy=policy)
        out.append(new)
        heads[(d.operator, d.facet)] = PublishedPolicy(
            policy["policy_id"], d.operator, d.permit_version, d.facet, d.digest
        )
    return out
