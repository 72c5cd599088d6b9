"""The facts of each stay at an evaluation time, for ``rules.stays`` (issue 11).

Read set-based for the stays of a snapshot set, as they stood at ``at``: the
state (a state change in place is an event inside the stay), when the vehicle
entered it, the gaps and absences bridged and the ID rotations linked up to
``at``. Counting them from the events rather than from the stay's running
totals makes ``rules run --at T`` and a replay give what a live evaluation at
T gave, whatever was stored after T.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rules.stays import StayFacts


@dataclass(slots=True)
class _Acc:
    state: str | None = None
    state_since: datetime | None = None
    gaps: int = 0
    backs: int = 0
    unobserved: float = 0.0


#: (rotations, lowest link confidence, bridged gaps, unobserved s, absences bridged)
Running = tuple[int, float | None, int, float, int]


def read_stay_facts(
    cur: Any,
    feeds: list[int],
    at: datetime,
    stays: list[tuple[int, int, datetime, str, str]],
    running: dict[int, Running] | None = None,
) -> dict[int, tuple[str, StayFacts]]:
    """``stays``: (dwell id, vehicle id, started_at, state at start, start confidence)
    of second-definition stays. Returns dwell id -> (state at ``at``, facts).

    ``running``: the stays' stored totals, exact when ``at`` is the latest
    observation (the current state): then only the state events are read."""
    if not stays:
        return {}
    since = min(s[2] for s in stays)
    wanted = {s[0] for s in stays}
    acc: dict[int, _Acc] = defaultdict(_Acc)
    kinds = ["state"] if running is not None else ["state", "gap", "back"]
    cur.execute(
        "SELECT dwell_id, kind, state, at, seconds FROM dwell_event"
        " WHERE feed_id = ANY(%s) AND at >= %s AND at <= %s AND kind = ANY(%s)"
        " ORDER BY at, id",
        (feeds, since, at, kinds),
    )
    for dwell_id, kind, state, when, seconds in cur.fetchall():
        if dwell_id not in wanted:
            continue
        a = acc[dwell_id]
        if kind == "state":
            a.state, a.state_since = state, when
        elif kind == "gap":
            a.gaps += 1
            a.unobserved += seconds or 0.0
        elif kind == "back":
            a.backs += 1
            a.unobserved += seconds or 0.0
    # ID rotations linked within each stay, up to ``at`` (links that began a stay
    # carry the stay's own start time and are not counted)
    if running is not None:
        return {
            d: (
                (acc.get(d) or _Acc()).state or state,
                StayFacts(
                    2,
                    start_conf,
                    *running[d],
                    state_since=(acc.get(d) or _Acc()).state_since or started,
                ),
            )
            for d, _v, started, state, start_conf in stays
        }
    vehicles = {s[1]: s for s in stays}
    links: dict[int, list[float]] = defaultdict(list)
    cur.execute(
        "SELECT vehicle_id, first_seen_at, link_confidence FROM vehicle_alias"
        " WHERE feed_id = ANY(%s) AND linked_from IS NOT NULL AND first_seen_at > %s"
        " AND first_seen_at <= %s",
        (feeds, since, at),
    )
    for vehicle_id, when, conf in cur.fetchall():
        stay = vehicles.get(vehicle_id)
        if stay is not None and when > stay[2] and conf is not None:
            links[vehicle_id].append(conf)
    out: dict[int, tuple[str, StayFacts]] = {}
    for dwell_id, vehicle_id, started, state, start_conf in stays:
        a = acc.get(dwell_id) or _Acc()
        rot = links.get(vehicle_id, [])
        out[dwell_id] = (
            a.state or state,
            StayFacts(
                definition=2,
                start=start_conf,
                rotations=len(rot),
                min_link_confidence=min(rot) if rot else None,
                bridged_gaps=a.gaps,
                bridged_s=a.unobserved,
                grace_absences=a.backs,
                state_since=a.state_since or started,
            ),
        )
    return out
