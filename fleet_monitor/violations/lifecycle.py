"""Turn the findings of one evaluation into violations: open, update, hold, close.

For each finding (``rules.Finding``), by its stable ``key``:

* no violation open or held under that key: open one (event ``opened``);
* one open or held with the same ``since``: it persists; ``last_seen_at``,
  the measured value and the latest fetch are updated, and an ``updated``
  event is written when something material changed (status, zone, position,
  or a measured value other than a duration, which grows by itself); a held
  one is ``resumed``;
* one with another ``since``: the subject left and came back (another dwell,
  another outage...): the old one is closed (``new_episode``), a new one opened.

Violations not found again:

* of an operator whose feed is in outage at that time: ``held`` (vehicle and
  count rules are suspended, nothing is known);
* of a vehicle that vanished at the last poll and may yet be linked to a new
  GBFS id (rotation in progress): left untouched until the next poll decides;
* otherwise closed, with the reason and the observation that resolved it:
  the fetch that ended the vehicle's stay (moved, changed state, gone), else
  the operator's latest fetch (count back under the cap, feed back...).

The unique partial index on ``violation(key) WHERE state <> 'closed'`` makes
a duplicate impossible even if two evaluations raced (they are serialised by
an advisory lock anyway). Raw feed files named by a violation's evidence are
pinned (kept past the retention): at opening, the file that began the stay
and the first detection; at closing, the last file showing the breach and
the one that resolved it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from datastore import pg_connection
from fleet_monitor.history.evidence import fetch_hashes, pin_raw
from fleet_monitor.history.snapshots import FeedState, SnapshotSet, fetch_refs
from fleet_monitor.history.stay_timeline import ended_stays
from rules import Finding, RuleType
from rules.findings import iso, jsonable
from rules.registry import rules_about, spec

#: rule types about one vehicle (the registry says what each rule is about)
VEHICLE_RULES = frozenset(RuleType(r) for r in rules_about("vehicle"))
_END_REASONS = {
    "moved": "vehicle_moved",
    "state": "state_changed",
    "vanished": "vehicle_gone",
    "absent": "vehicle_gone",  # stays of the second definition (docs/ingest.md "Stays")
}
#: a vehicle's reported position may wander this much within one stay without an event
_POSITION_EPS_DEG = 1e-5


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


def subject_kind(rule: RuleType | str) -> str:
    return spec(rule).subject


def _refs(values: Iterable[str]) -> tuple[list[int], list[str]]:
    fetches, raws = [], []
    for v in values:
        if v.startswith("fetch:"):
            fetches.append(int(v[6:]))
        elif v.startswith("raw:"):
            raws.append(v[4:])
    return fetches, raws


def _finding_refs(f: Finding, feed: FeedState | None) -> tuple[str, ...]:
    ev = f.evidence
    refs = list(ev.get("fetch_refs") or ())
    if ev.get("fetch_ref"):
        refs.append(str(ev["fetch_ref"]))
    if feed is not None:
        refs.extend(feed.ref())
    return tuple(dict.fromkeys(refs))


@dataclass(slots=True)
class Active:
    """A violation not closed yet, as the lifecycle needs it."""

    id: int
    key: str
    operator: str
    rule_type: str
    subject_kind: str
    state: str
    status: str
    since: datetime | None
    measured: float | None
    unit: str
    zone_id: str | None
    dwell_id: int | None
    last_fetch_id: int | None
    lon: float | None
    lat: float | None
    permit_version: int | None
    clause: str
    confidence: float | None = None
    #: how the stay behind the latest evidence was observed (continuous, rotation_linked...)
    dwell_confidence: str | None = None


@dataclass(slots=True)
class LifecycleResult:
    opened: list[int] = field(default_factory=list)
    updated: int = 0
    unchanged: int = 0
    held: int = 0
    resumed: int = 0
    closed: int = 0
    untouched: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "opened": len(self.opened),
            "updated": self.updated,
            "unchanged": self.unchanged,
            "held": self.held,
            "resumed": self.resumed,
            "closed": self.closed,
            "untouched": self.untouched,
        }


def load_active(session: Session) -> dict[str, Active]:
    cur = pg_connection(session).cursor()
    cur.execute(
        "SELECT id, key, operator, rule_type, subject_kind, state, status, since, measured,"
        " unit, zone_id, dwell_id, last_fetch_id, ST_X(geom), ST_Y(geom), permit_version, clause,"
        " confidence, evidence #>> '{latest,evidence,dwell_confidence}'"
        " FROM violation WHERE state <> 'closed'"
    )
    return {r[1]: Active(*r) for r in cur.fetchall()}


class Lifecycle:
    """Applies one evaluation's findings; the caller owns the transaction."""

    def __init__(
        self,
        session: Session,
        *,
        now: datetime,
        run_id: int,
        snapshots: SnapshotSet,
        in_outage: frozenset[str],
        permitted: frozenset[str],
    ) -> None:
        self.session = session
        self.cur = pg_connection(session).cursor()
        self.now = now
        self.run_id = run_id
        self.snaps = snapshots
        self.feeds = snapshots.by_operator()
        self.in_outage = in_outage
        self.permitted = permitted
        self.result = LifecycleResult()
        self._events: list[tuple[Any, ...]] = []
        self._pins: set[str] = set()

    # ------------------------------------------------------------------ main

    def apply(self, findings: list[Finding]) -> LifecycleResult:
        active = load_active(self.session)
        to_open: list[Finding] = []
        updates: list[tuple[Active, Finding]] = []
        to_close: list[tuple[Active, str | None]] = []
        seen: set[str] = set()
        for f in findings:
            key = f.key
            if key in seen:  # the engine never repeats a key; be safe anyway
                continue
            seen.add(key)
            cur = active.get(key)
            if cur is None:
                to_open.append(f)
            elif cur.since != f.since:
                to_close.append((cur, "new_episode"))
                to_open.append(f)
            else:
                updates.append((cur, f))
        hold: list[Active] = []
        for key, cur in active.items():
            if key in seen:
                continue
            if cur.operator in self.in_outage:
                hold.append(cur)
            elif cur.subject_kind == "vehicle" and self._subject(cur) in self.snaps.pending:
                self.result.untouched += 1
            else:
                to_close.append((cur, None))
        self._close(to_close)
        self._hold(hold)
        self._update(updates)
        self._open(to_open)
        self._flush_events()
        if self._pins:
            pin_raw(self.session, sorted(self._pins))
        return self.result

    @staticmethod
    def _subject(cur: Active) -> str:
        return cur.key.split("|")[2]

    # ------------------------------------------------------------------ helpers

    def _dwell_of(self, f: Finding) -> int | None:
        if f.rule_type not in VEHICLE_RULES:
            return None
        i = self.snaps.index().get(f.subject_key)
        return None if i is None else self.snaps.dwell_ids[i]

    def _observation(self, f: Finding, refs: tuple[str, ...]) -> dict[str, Any]:
        ev = f.evidence
        obs: dict[str, Any] = {"at": iso(self.now), "status": f.status, "measured": f.measured}
        for k in ("position", "state", "gbfs_id", "sample_time", "sample_coverage"):
            if k in ev:
                obs[k] = jsonable(ev[k])
        obs["fetch_refs"] = list(refs)
        return obs

    def _event(
        self, vid: int, kind: str, status: str | None, measured: float | None, detail: dict
    ) -> None:
        self._events.append((vid, self.run_id, self.now, kind, status, measured, detail))

    # ------------------------------------------------------------------ open

    def _open(self, findings: list[Finding]) -> None:
        if not findings:
            return
        rows = []
        for f in findings:
            feed = self.feeds.get(f.operator)
            refs = _finding_refs(f, feed)
            fetches, raws = _refs(refs)
            self._pins.update(raws)
            doc = f.to_dict()
            evidence = {
                "opened": doc,
                "latest": doc,
                "observations": [self._observation(f, refs)],
                "raw_hashes": raws,
            }
            pos = f.evidence.get("position")
            vehicle = f.rule_type in VEHICLE_RULES
            rows.append(
                (
                    f.key,
                    str(f.rule_type),
                    f.operator,
                    subject_kind(f.rule_type),
                    f.subject_key,
                    int(f.subject_key) if vehicle and f.subject_key.isdigit() else None,
                    self._dwell_of(f),
                    f.evidence.get("gbfs_id") if vehicle else None,
                    f.zone_id,
                    f.status,
                    f.since,
                    _f(f.measured),
                    f.unit,
                    _f(f.threshold),
                    f.clause,
                    f.permit_version,
                    _f(f.confidence),
                    _f(f.coverage),
                    _f(f.penalty_eur),
                    None if pos is None else float(pos[0]),
                    None if pos is None else float(pos[1]),
                    orjson.dumps(list(f.vehicles_beyond)).decode(),
                    orjson.dumps(jsonable(evidence)).decode(),
                    fetches[0] if fetches else None,
                    fetches[-1] if fetches else None,
                )
            )
        cols = list(zip(*rows, strict=True))
        self.cur.execute(
            "INSERT INTO violation (key, rule_type, operator, subject_kind, subject, vehicle_id,"
            " dwell_id, gbfs_id, zone_id, status, since, measured, unit, threshold, clause,"
            " permit_version, confidence, coverage, penalty_eur, geom, vehicles_beyond,"
            " evidence, first_fetch_id, last_fetch_id, state, opened_at, last_seen_at,"
            " opened_run_id, last_run_id)"
            " SELECT t.key, t.rule, t.op, t.sk, t.subj, t.vid, t.did, t.gid, t.zid, t.st,"
            " t.since, t.m, t.u, t.th, t.cl, t.pv, t.conf, t.cov, t.pen,"
            " CASE WHEN t.lon IS NULL THEN NULL"
            "  ELSE ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326) END,"
            " t.vb::jsonb, t.ev::jsonb, t.ff, t.lf, 'open', %s, %s, %s, %s"
            " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
            " %s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::text[], %s::timestamptz[],"
            " %s::float8[], %s::text[], %s::float8[], %s::text[], %s::int[], %s::float8[],"
            " %s::float8[], %s::float8[], %s::float8[], %s::float8[], %s::text[], %s::text[],"
            " %s::bigint[], %s::bigint[])"
            " AS t(key, rule, op, sk, subj, vid, did, gid, zid, st, since, m, u, th, cl, pv, conf,"
            " cov, pen, lon, lat, vb, ev, ff, lf)"
            " RETURNING id, status, measured",
            (self.now, self.now, self.run_id, self.run_id, *[list(c) for c in cols]),
        )
        for vid, status, measured in self.cur.fetchall():
            self.result.opened.append(vid)
            self._event(vid, "opened", status, measured, {})

    # ------------------------------------------------------------------ update

    def _material(self, cur: Active, f: Finding) -> dict[str, Any]:
        """What changed enough to be worth an event (empty: nothing)."""
        changes: dict[str, Any] = {}
        if cur.status != f.status:
            changes["status"] = [cur.status, f.status]
        if f.unit != "s" and cur.measured != f.measured:
            changes["measured"] = [cur.measured, f.measured]
        if cur.zone_id != f.zone_id:
            changes["zone_id"] = [cur.zone_id, f.zone_id]
        if cur.permit_version != f.permit_version or cur.clause != f.clause:
            changes["clause"] = [cur.clause, f.clause]
        # a rotation link, a bridged gap or absence lowers a stay's confidence (issue 11):
        # material, with the evidence that shows it (its slow rise as the observed share
        # of a long stay grows is not)
        if (
            f.confidence is not None
            and cur.confidence is not None
            and f.confidence < cur.confidence - 0.01
        ):
            changes["confidence"] = [cur.confidence, f.confidence]
        observed = f.evidence.get("dwell_confidence")
        if observed is not None and cur.dwell_confidence not in (None, observed):
            changes["dwell_confidence"] = [cur.dwell_confidence, observed]
        pos = f.evidence.get("position")
        if pos is not None and cur.lon is not None and cur.lat is not None:
            eps = _POSITION_EPS_DEG
            if abs(cur.lon - pos[0]) > eps or abs(cur.lat - pos[1]) > eps:
                changes["position"] = [[cur.lon, cur.lat], list(pos)]
        return changes

    def _update(self, updates: list[tuple[Active, Finding]]) -> None:
        """Found again: every run writes the last sighting (a HOT update of a few
        columns); a material change also rewrites the rest and the latest evidence."""
        if not updates:
            return
        plain: list[tuple[Any, ...]] = []
        material: list[tuple[Any, ...]] = []
        for cur, f in updates:
            refs = _finding_refs(f, self.feeds.get(f.operator))
            fetches, _ = _refs(refs)
            base = (
                cur.id,
                _f(f.measured),
                _f(f.confidence),
                _f(f.coverage),
                self._dwell_of(f) or cur.dwell_id,
                fetches[-1] if fetches else cur.last_fetch_id,
                f.evidence.get("gbfs_id") if f.rule_type in VEHICLE_RULES else None,
                orjson.dumps(list(f.vehicles_beyond)).decode(),
            )
            changes = self._material(cur, f)
            resumed = cur.state == "held"
            if not changes and not resumed:
                plain.append(base)
                self.result.unchanged += 1
                continue
            pos = f.evidence.get("position")
            material.append(
                (
                    *base,
                    f.status,
                    _f(f.threshold),
                    _f(f.penalty_eur),
                    f.zone_id,
                    None if pos is None else float(pos[0]),
                    None if pos is None else float(pos[1]),
                    f.permit_version,
                    f.clause,
                    orjson.dumps(jsonable(f.to_dict())).decode(),
                    orjson.dumps(jsonable(self._observation(f, refs))).decode(),
                )
            )
            if resumed:
                self.result.resumed += 1
                self._event(cur.id, "resumed", f.status, f.measured, changes)
            if changes:
                self.result.updated += 1
                self._event(cur.id, "updated", f.status, f.measured, changes)
        sighting = (
            "last_seen_at = %s, last_run_id = %s, measured = t.m, confidence = t.conf,"
            " coverage = t.cov, dwell_id = t.did, last_fetch_id = t.lf,"
            " gbfs_id = COALESCE(t.gid, v.gbfs_id), vehicles_beyond = t.vb::jsonb"
        )
        arrays = (
            "%s::bigint[], %s::float8[], %s::float8[], %s::float8[], %s::bigint[], %s::bigint[],"
            " %s::text[], %s::text[]"
        )
        names = "id, m, conf, cov, did, lf, gid, vb"
        if plain:
            self.cur.execute(
                f"UPDATE violation v SET {sighting} FROM unnest({arrays}) AS t({names})"
                " WHERE v.id = t.id",
                (self.now, self.run_id, *[list(c) for c in zip(*plain, strict=True)]),
            )
        if material:
            self.cur.execute(
                f"UPDATE violation v SET {sighting}, state = 'open', status = t.st,"
                " threshold = t.th, penalty_eur = t.pen, zone_id = t.zid,"
                " geom = CASE WHEN t.lon IS NULL THEN v.geom"
                "  ELSE ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326) END,"
                " permit_version = t.pv, clause = t.cl,"
                " evidence = jsonb_set(jsonb_set(v.evidence, '{latest}', t.latest::jsonb),"
                "  '{observations}', (v.evidence->'observations') || t.obs::jsonb)"
                f" FROM unnest({arrays}, %s::text[], %s::float8[], %s::float8[], %s::text[],"
                " %s::float8[], %s::float8[], %s::int[], %s::text[], %s::text[], %s::text[])"
                f" AS t({names}, st, th, pen, zid, lon, lat, pv, cl, latest, obs)"
                " WHERE v.id = t.id",
                (self.now, self.run_id, *[list(c) for c in zip(*material, strict=True)]),
            )

    # ------------------------------------------------------------------ hold / close

    def _hold(self, rows: list[Active]) -> None:
        newly = [r.id for r in rows if r.state != "held"]
        self.result.unchanged += len(rows) - len(newly)
        if not newly:
            return
        self.cur.execute(
            "UPDATE violation SET state = 'held', last_run_id = %s WHERE id = ANY(%s)",
            (self.run_id, newly),
        )
        for r in rows:
            if r.state != "held":
                feed = self.feeds.get(r.operator)
                detail = {"reason": "operator feed in outage", "outage_id": feed and feed.outage_id}
                self._event(r.id, "held", r.status, r.measured, detail)
        self.result.held += len(newly)

    def _close(self, rows: list[tuple[Active, str | None]]) -> None:
        if not rows:
            return
        dwell_ids = [r.dwell_id for r, _ in rows if r.dwell_id is not None]
        ended: dict[int, tuple[str | None, int | None]] = {}
        if dwell_ids:
            ended = ended_stays(self.cur, dwell_ids)
        closes = []
        for r, forced in rows:
            feed = self.feeds.get(r.operator)
            fetch_id = feed.latest_fetch_id if feed is not None else None
            reason = forced or "resolved"
            if forced is None and r.dwell_id in ended:
                end_reason, end_fetch = ended[r.dwell_id]
                reason = _END_REASONS.get(end_reason or "", "resolved")
                fetch_id = end_fetch if end_fetch is not None else fetch_id
            elif forced is None and r.subject_kind == "vehicle":
                i = self.snaps.index().get(self._subject(r))
                if i is None:
                    reason = "vehicle_gone"
            if forced is None and r.operator not in self.permitted:
                reason = "no_permit"
            closes.append((r, reason, fetch_id))
        fetch_ids = {f for _, _, f in closes if f is not None}
        fetch_ids |= {r.last_fetch_id for r, _, _ in closes if r.last_fetch_id is not None}
        hashes = fetch_hashes(self.cur, fetch_ids)
        ids, reasons, fetches, observations = [], [], [], []
        for r, reason, fetch_id in closes:
            refs = fetch_refs(fetch_id, hashes.get(fetch_id) if fetch_id is not None else None)
            last = r.last_fetch_id
            last_refs = fetch_refs(last, hashes.get(last) if last is not None else None)
            self._pins.update(_refs(refs + last_refs)[1])
            obs = {
                "at": iso(self.now),
                "closed": reason,
                "fetch_refs": list(refs),
                "last_showing_breach": list(last_refs),
            }
            ids.append(r.id)
            reasons.append(reason)
            fetches.append(fetch_id)
            observations.append(orjson.dumps(obs).decode())
            self._event(r.id, "closed", r.status, r.measured, {"reason": reason, "fetch": fetch_id})
        self.cur.execute(
            "UPDATE violation v SET state = 'closed', closed_at = %s, closed_reason = t.r,"
            " closed_fetch_id = t.f, last_run_id = %s,"
            " evidence = jsonb_set(v.evidence, '{closed}', t.o::jsonb)"
            " FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::text[]) AS t(id, r, f, o)"
            " WHERE v.id = t.id",
            (self.now, self.run_id, ids, reasons, fetches, observations),
        )
        self.result.closed += len(ids)

    def _flush_events(self) -> None:
        if not self._events:
            return
        with self.cur.copy(
            "COPY violation_event (violation_id, run_id, at, kind, status, measured, detail)"
            " FROM STDIN"
        ) as cp:
            for e in self._events:
                cp.write_row((*e[:6], orjson.dumps(jsonable(e[6])).decode()))
        self._events.clear()
