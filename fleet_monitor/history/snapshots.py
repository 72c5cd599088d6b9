"""Vehicle snapshots for the rules engine, read from the ingest's tables.

Two readers, both set-based (one query for the vehicles, a few per feed):

* ``current``: ``vehicle_current`` joined to the open ``dwell`` of each
  vehicle: the last known state of every vehicle published now. Vehicles that
  vanished and await a rotation link (``missing_since``) are not in public
  space as far as we know: they are left out, and reported apart
  (``SnapshotSet.pending``) so that their violations are neither updated nor
  closed until the next poll decides.
* ``as of T``: the dwells covering T (``started_at <= T`` and not ended by
  T): the last observation at or before T, i.e. the state at a past time, for
  replays, ``rules run --at`` before the latest observation and late count
  samples. Its cost grows with the history stored before T (no index on
  ``dwell.ended_at``: the ingest keeps closing a dwell a HOT update). A dwell
  continues across linked ID rotations; the GBFS id shown is the one published
  at T (from ``vehicle_alias``).

Per vehicle: ``key`` = the physical vehicle id (stable across ID rotations),
``parked_since`` = start of the current dwell (it continues across linked ID
rotations; a state change in place, such as a repair or a reservation, starts a
new dwell: GBFS cannot tell a cancelled reservation from an operator's
visit), its confidence
(``rotation_linked`` when the dwell survived a rotation, ``across_gaps`` when
an outage overlapped it or its start is only an upper bound, else
``continuous``), ``disabled_since`` = start of the run of consecutive disabled
dwells (a disabled vehicle moved by a truck stays disabled since the same
time), and the evidence: the fetch that opened the dwell and the latest fetch (ids and raw
content hashes).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from datastore import pg_connection
from fleet_monitor.history.definitions import EVIDENCE_OUTCOMES
from fleet_monitor.history.stay_facts import read_stay_facts
from gbfs_ingest.model import VehicleState
from rules import UnplacedVehicle, VehicleSnapshot
from rules.inputs import DwellConfidence
from rules.stays import StayFacts

_STATES = {s.value: s for s in VehicleState}


@dataclass(frozen=True, slots=True)
class FeedState:
    """One operator's vehicle feed as seen at the evaluation time."""

    feed_id: int
    operator_id: int
    operator: str
    last_observed_at: datetime | None
    #: the latest fetch at or before the evaluation time that confirmed the data
    latest_fetch_at: datetime | None
    latest_fetch_id: int | None
    latest_hash: str | None
    in_outage: bool
    outage_id: int | None
    #: end of the latest outage begun at or before the evaluation time (None: none)
    last_outage_end: datetime | None

    def ref(self) -> tuple[str, ...]:
        return fetch_refs(self.latest_fetch_id, self.latest_hash)


def fetch_refs(fetch_id: int | None, digest: str | None) -> tuple[str, ...]:
    """Evidence references of one fetch: ``fetch:<id>`` and ``raw:<sha256>``."""
    out: list[str] = []
    if fetch_id is not None:
        out.append(f"fetch:{fetch_id}")
    if digest:
        out.append(f"raw:{digest}")
    return tuple(out)


@dataclass(slots=True)
class SnapshotSet:
    """Snapshots plus what the lifecycle needs to explain them."""

    at: datetime
    snapshots: list[VehicleSnapshot]
    dwell_ids: list[int]
    feeds: dict[int, FeedState]
    #: vehicle keys that vanished at the last poll and may yet be linked to a new id
    pending: frozenset[str] = frozenset()
    source: str = "current"
    #: vehicles listed without a position (docked at a station, GBFS 2.x): not in
    #: ``snapshots`` (no rule can place them), counted in the fleet caps only
    unplaced: list[UnplacedVehicle] = field(default_factory=list)
    _index: dict[str, int] | None = field(default=None, repr=False)

    def index(self) -> dict[str, int]:
        if self._index is None:
            self._index = {s.key: i for i, s in enumerate(self.snapshots)}
        return self._index

    def by_operator(self) -> dict[str, FeedState]:
        return {f.operator: f for f in self.feeds.values()}


def vehicle_feeds(session: Session, now: datetime) -> dict[int, FeedState]:
    """Every active vehicle feed with its latest usable fetch and outage status at ``now``
    (a feed its operator no longer lists in discovery is inactive: its last state is
    not evidence of anything now)."""
    cur = pg_connection(session).cursor()
    cur.execute(
        "SELECT f.id, f.operator_id, o.slug, f.last_observed_at, lf.started_at, lf.id,"
        " lf.content_hash, oo.id, lo.last_end"
        " FROM feed f JOIN operator o ON o.id = f.operator_id"
        " LEFT JOIN LATERAL (SELECT ff.started_at, ff.id, ff.content_hash FROM feed_fetch ff"
        "   WHERE ff.feed_id = f.id AND ff.started_at <= %(now)s"
        "   AND ff.outcome = ANY(%(ok)s) ORDER BY ff.started_at DESC LIMIT 1) lf ON true"
        " LEFT JOIN LATERAL (SELECT ou.id FROM outage ou WHERE ou.feed_id = f.id"
        "   AND ou.started_at <= %(now)s AND (ou.ended_at IS NULL OR ou.ended_at > %(now)s)"
        "   ORDER BY ou.started_at DESC LIMIT 1) oo ON true"
        " LEFT JOIN LATERAL (SELECT max(COALESCE(ou.ended_at, %(now)s)) AS last_end"
        "   FROM outage ou WHERE ou.feed_id = f.id AND ou.started_at <= %(now)s) lo ON true"
        " WHERE f.feed_type = 'vehicle_status' AND f.active",
        {"now": now, "ok": list(EVIDENCE_OUTCOMES)},
    )
    out: dict[int, FeedState] = {}
    for (
        fid,
        op_id,
        slug,
        observed,
        fetch_at,
        fetch_id,
        digest,
        outage_id,
        last_end,
    ) in cur.fetchall():
        out[fid] = FeedState(
            fid,
            op_id,
            slug,
            observed,
            fetch_at,
            fetch_id,
            digest,
            outage_id is not None,
            outage_id,
            last_end,
        )
    return out


def _form_factors(cur: Any) -> dict[tuple[int, str], str]:
    """(operator id, vehicle_type_id) -> GBFS form factor, from the vehicle_types documents."""
    cur.execute(
        "SELECT f.operator_id, r->>'vehicle_type_id', r->>'form_factor'"
        " FROM feed_document d JOIN feed f ON f.id = d.feed_id,"
        " jsonb_array_elements(d.records) r WHERE f.feed_type = 'vehicle_types'"
    )
    return {(op, vt): ff for op, vt, ff in cur.fetchall() if vt and ff}


def _fetch_hashes(cur: Any, ids: set[int]) -> dict[int, str | None]:
    if not ids:
        return {}
    cur.execute("SELECT id, content_hash FROM feed_fetch WHERE id = ANY(%s)", (list(ids),))
    return dict(cur.fetchall())


# Columns of both readers, in this order; the last one marks a vehicle that vanished
# at the last poll and awaits a rotation link.
_COLS = (
    "d.vehicle_id, d.feed_id, {gbfs_id}, {lat}, {lon}, {state}, {vtype}, d.id, d.started_at,"
    " d.start_confidence, d.rotations, d.start_fetch_id, {pending}, d.definition_version,"
    " d.min_link_confidence, d.bridged_gaps, d.bridged_s, d.grace_absences, d.state"
)

# Every open dwell is the dwell of a ``vehicle_current`` row (a vehicle published
# now, or just vanished and awaiting a rotation link): reading them through it
# needs no index on ``dwell.ended_at`` (the ingest keeps closing a dwell a HOT
# update, touching no indexed column).
_CURRENT = (
    "SELECT "
    + _COLS.format(
        gbfs_id="vc.gbfs_id",
        lat="vc.lat",
        lon="vc.lon",
        vtype="vc.vehicle_type_id",
        pending="vc.missing_since IS NOT NULL",
        state="vc.state",  # a state change in place is an event inside the stay
    )
    + " FROM vehicle_current vc JOIN dwell d ON d.id = vc.dwell_id"
    " WHERE vc.feed_id = ANY(%(feeds)s)"
)

# The state at T is the last observation at or before T: a dwell runs from the
# observation that opened it to the one that closed it (``ended_at``: first seen
# elsewhere, in another state, or gone). Open dwells come through vehicle_current
# (unless their vehicle vanished by T); closed ones from the (feed, start) index,
# so the cost grows with the history stored before T.
_AS_OF = (
    "SELECT "
    + _COLS.format(
        # the id published at T: the stay's first id, or the last one linked by T
        gbfs_id="CASE WHEN d.rotations = 0 THEN d.gbfs_id ELSE COALESCE((SELECT a.gbfs_id"
        " FROM vehicle_alias a WHERE a.vehicle_id = d.vehicle_id AND a.first_seen_at <= %(at)s"
        " ORDER BY a.first_seen_at DESC, a.id DESC LIMIT 1), d.gbfs_id) END",
        lat="d.lat",
        lon="d.lon",
        vtype="d.vehicle_type_id",
        pending="false",
        state="d.state",  # at the stay's start: the events say what it was at T
    )
    + " FROM ("
    "  SELECT d.* FROM vehicle_current vc JOIN dwell d ON d.id = vc.dwell_id"
    "   WHERE vc.feed_id = ANY(%(feeds)s) AND d.started_at <= %(at)s"
    "   AND (vc.missing_since IS NULL OR vc.missing_since > %(at)s) AND d.ended_at IS NULL"
    "  UNION ALL"
    "  SELECT * FROM dwell WHERE feed_id = ANY(%(feeds)s) AND started_at <= %(at)s"
    "   AND ended_at > %(at)s"
    " ) d"
)

# Start of the run of disabled time ending where the given one starts: back through
# the stays that ended disabled and moved (a truck), to when the vehicle became
# disabled (a state event inside a stay, or the start of a stay that began so).
_DISABLED_RUN_START = """
WITH RECURSIVE chain(vehicle_id, started_at, go_on) AS (
  SELECT v, s, true FROM unnest(%(vehicles)s::bigint[], %(starts)s::timestamptz[]) AS t(v, s)
  UNION ALL
  SELECT p.vehicle_id, COALESCE(ev.at, p.started_at), ev.at IS NULL FROM chain c JOIN dwell p
    ON p.vehicle_id = c.vehicle_id AND p.ended_at = c.started_at
   AND p.started_at < c.started_at AND p.end_reason IN ('moved', 'state')
  LEFT JOIN LATERAL (SELECT e.state, e.at FROM dwell_event e WHERE e.dwell_id = p.id
    AND e.kind = 'state' ORDER BY e.at DESC LIMIT 1) ev ON true
  WHERE c.go_on AND COALESCE(ev.state, p.state) = 'disabled'
)
SELECT vehicle_id, min(started_at) FROM chain GROUP BY vehicle_id
"""


def _disabled_run_starts(cur: Any, seeds: list[tuple[Any, Any]]) -> dict[int, datetime]:
    if not seeds:
        return {}
    vehicles, starts = zip(*seeds, strict=True)
    cur.execute(_DISABLED_RUN_START, {"vehicles": list(vehicles), "starts": list(starts)})
    return dict(cur.fetchall())


def _observed_as(f: StayFacts) -> DwellConfidence:
    """The coarse label of a second-definition stay (its number is ``rules.stays``)."""
    if f.rotations:
        return "rotation_linked"
    if f.start != "observed" or f.bridged_gaps or f.grace_absences:
        return "across_gaps"
    return "continuous"


def deployed_since(session: Session, keys: list[str]) -> dict[str, datetime]:
    """When each physical vehicle was first seen (only needed to name the vehicles
    beyond a cap, so not read for every snapshot)."""
    if not keys:
        return {}
    cur = pg_connection(session).cursor()
    cur.execute(
        "SELECT id, first_seen_at FROM vehicle WHERE id = ANY(%s)", ([int(k) for k in keys],)
    )
    return {str(k): v for k, v in cur.fetchall()}


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building 100,000 objects (it would rescan them all)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def load_snapshots(
    session: Session,
    at: datetime,
    *,
    as_of: bool | None = None,
    feeds: dict[int, FeedState] | None = None,
) -> SnapshotSet:
    """Snapshots of every vehicle believed in public space at ``at``.

    ``as_of``: None = the current state when ``at`` is at or after every
    feed's latest observation, the dwell history otherwise; True/False force
    one reader. Vehicles of operators in outage at ``at`` are included,
    flagged ``in_outage``. ``deployed_since`` is left empty (see
    :func:`deployed_since`).
    """
    with gc_paused():
        return _load(session, at, as_of, feeds)


def _load(
    session: Session, at: datetime, as_of: bool | None, feeds: dict[int, FeedState] | None
) -> SnapshotSet:
    feeds = feeds if feeds is not None else vehicle_feeds(session, at)
    conn = pg_connection(session)
    cur = conn.cursor()
    if as_of is None:
        cur.execute(
            "SELECT count(*) FROM feed WHERE id = ANY(%s) AND last_observed_at > %s",
            (list(feeds), at),
        )
        as_of = cur.fetchone()[0] > 0
    params = {"feeds": list(feeds), "at": at}
    big = conn.cursor(binary=True)  # 100,000 rows: binary transfer is faster
    big.execute(_AS_OF if as_of else _CURRENT, params)
    rows = big.fetchall()
    pending = frozenset(str(r[0]) for r in rows if r[12])
    if pending:
        rows = [r for r in rows if not r[12]]
    v2 = [(r[7], r[0], r[8], r[18], r[9]) for r in rows if r[13] >= 2]
    running = None if as_of else {r[7]: (r[10], r[14], r[15], r[16], r[17]) for r in rows}
    facts = read_stay_facts(cur, list(feeds), at, v2, running)
    disabled_since = _disabled_run_starts(
        cur,
        [
            (r[0], facts[r[7]][1].state_since if r[7] in facts else r[8])
            for r in rows
            if r[3] is not None and (facts[r[7]][0] if r[7] in facts else r[5]) == "disabled"
        ],
    )
    hashes = _fetch_hashes(cur, {r[11] for r in rows if r[11] is not None})
    form_factors = _form_factors(cur)

    last_seen: dict[int, datetime] = {}
    for fid, f in feeds.items():
        seen = f.latest_fetch_at if as_of else (f.last_observed_at or f.latest_fetch_at)
        last_seen[fid] = at if seen is None else min(seen, at)
    latest_refs = {fid: f.ref() for fid, f in feeds.items()}
    ref_cache: dict[tuple[int | None, int], tuple[str, ...]] = {}
    snapshots: list[VehicleSnapshot] = []
    dwell_ids: list[int] = []
    unplaced: list[UnplacedVehicle] = []
    append = snapshots.append
    for (
        vehicle_id,
        feed_id,
        gbfs_id,
        lat,
        lon,
        state,
        vtype,
        dwell_id,
        started,
        start_conf,
        rotations,
        start_fetch,
        _pending,
        *_stay,
    ) in rows:
        feed = feeds[feed_id]
        if lat is None or lon is None:
            form_factor = form_factors.get((feed.operator_id, vtype)) if vtype else None
            unplaced.append(UnplacedVehicle(str(vehicle_id), feed.operator, form_factor))
            continue
        since = started
        stay = facts.get(dwell_id)
        if stay is not None:  # second definition: the state at T, and how it was observed
            state, stay_facts = stay
            disabled_from = disabled_since.get(vehicle_id, stay_facts.state_since or started)
            confidence = _observed_as(stay_facts)
        else:
            stay_facts = None
            disabled_from = disabled_since.get(vehicle_id, started)
            if rotations:
                confidence = "rotation_linked"
            elif start_conf != "observed" or (
                feed.last_outage_end is not None and feed.last_outage_end > since
            ):
                confidence = "across_gaps"
            else:
                confidence = "continuous"
        refs = ref_cache.get((start_fetch, feed_id))
        if refs is None:
            refs = ref_cache[(start_fetch, feed_id)] = tuple(
                dict.fromkeys(
                    fetch_refs(start_fetch, hashes.get(start_fetch)) + latest_refs[feed_id]
                )
            )
        append(
            VehicleSnapshot(
                str(vehicle_id),
                feed.operator,
                gbfs_id,
                lat,
                lon,
                _STATES[state],
                last_seen[feed_id],
                since,
                confidence,
                disabled_from if state == "disabled" else None,
                None,
                vtype,
                form_factors.get((feed.operator_id, vtype)) if vtype else None,
                refs,
                feed.in_outage,
                stay_facts,
            )
        )
        dwell_ids.append(dwell_id)
    return SnapshotSet(
        at,
        snapshots,
        dwell_ids,
        feeds,
        pending,
        source="as_of" if as_of else "current",
        unplaced=unplaced,
    )
