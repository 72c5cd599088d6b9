"""What one local day's aggregation reads from the ingest's and the rules' tables.

Set-based SQL on the caller's psycopg connection (its transaction); times come
back as epoch seconds (floats) for numpy. Index use, for a year of history:

* dwells overlapping the day: those still there at the end of the previous
  aggregated day (their ids, kept in ``stats_carry``), those begun in the day
  (``(feed_id, started_at)``), the open ones through ``vehicle_current.dwell_id``
  (every open dwell is a current row's); a scan only for the first day of a run;
* fetches and outages of the day: ``(feed_id, started_at)`` indexes;
* the chain of stays of a vehicle (idle time): ``(vehicle_id, started_at)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import shapely

from fleet_monitor.history.definitions import DEPLOYED_STATES, FETCH_SUCCESS_OUTCOMES

SUCCESS_OUTCOMES = FETCH_SUCCESS_OUTCOMES  # defined once: history.definitions
INF = float("inf")

# City zones of the configured kinds in force during the window: the latest version
# of each zone id that overlaps the window; operators' own zones are left out.
ZONES_CTE = """
zones AS (
  SELECT DISTINCT ON (zone_id) zone_id, geom FROM zone
  WHERE kind = ANY(%(kinds)s) AND operator IS NULL
    AND (effective_from IS NULL OR effective_from < %(w1)s)
    AND (effective_to IS NULL OR effective_to > %(w0)s)
  ORDER BY zone_id, version DESC
)"""

FORM_FACTORS_CTE = """
ff AS (
  SELECT DISTINCT ON (f.operator_id, r->>'vehicle_type_id')
         f.operator_id, r->>'vehicle_type_id' AS vt, r->>'form_factor' AS form_factor
  FROM feed_document d JOIN feed f ON f.id = d.feed_id,
       jsonb_array_elements(d.records) r
  WHERE f.feed_type = 'vehicle_types' AND jsonb_typeof(d.records) = 'array'
)"""

_DWELL_COLS = """d.id, d.vehicle_id, d.feed_id, d.operator_id, d.state, d.vehicle_type_id,
  d.started_at, d.ended_at, d.last_seen_at, d.end_reason, d.start_confidence, d.lat, d.lon,
  d.geom"""

# end reasons and states as small integers (no Python string per stay)
REASONS = {"moved": 1, "vanished": 2, "state": 3}
MOVED, VANISHED = REASONS["moved"], REASONS["vanished"]

# The stays overlapping the window, without an index on ``dwell.ended_at`` (the ingest
# keeps closing a stay a HOT update): the stays still there at the end of the previous
# aggregated day (``carry``, by primary key), those begun in the window (feed, start
# index), and the open ones (through ``vehicle_current``). Without a carry (the first
# day of a run), one scan of the table finds them.
_IDS_CARRY = """
  SELECT unnest(%(carry)s::bigint[]) AS id
  UNION SELECT id FROM dwell WHERE feed_id = ANY(%(feeds)s)
    AND started_at >= %(w0)s::timestamptz - interval '1 second' AND started_at < %(w1)s
  UNION SELECT dwell_id FROM vehicle_current"""
_IDS_SCAN = """
  SELECT id FROM dwell WHERE started_at < %(w1)s
    AND (ended_at IS NULL OR ended_at >= %(w0)s::timestamptz - interval '1 second')"""

DWELLS_SQL = f"""
WITH {FORM_FACTORS_CTE},
ids AS ({{ids}}),
span AS (
  SELECT {_DWELL_COLS}, coalesce(d.ended_at, vc.missing_since) AS effective_end
  FROM ids JOIN dwell d ON d.id = ids.id
  LEFT JOIN vehicle_current vc ON vc.dwell_id = d.id AND d.ended_at IS NULL
  WHERE d.started_at < %(w1)s
    AND (d.ended_at IS NULL OR d.ended_at >= %(w0)s::timestamptz - interval '1 second')
)
SELECT s.id, s.vehicle_id, s.feed_id, s.operator_id,
  CASE s.state WHEN 'available' THEN 0 WHEN 'reserved' THEN 1 ELSE 2 END,
  coalesce(ff.form_factor, CASE WHEN s.vehicle_type_id IS NULL
    AND (o.gbfs_version LIKE '1.%%' OR o.gbfs_version = '2.0') THEN 'bicycle' END, 'unknown'),
  extract(epoch FROM s.started_at)::float8,
  coalesce(extract(epoch FROM s.effective_end)::float8, 'Infinity'::float8),
  extract(epoch FROM coalesce(s.last_seen_at, s.started_at))::float8,
  CASE s.end_reason WHEN 'moved' THEN 1 WHEN 'vanished' THEN 2 WHEN 'state' THEN 3 ELSE 0 END,
  s.start_confidence = 'observed',
  CASE WHEN s.geom IS NULL THEN 'NaN'::float8 ELSE ST_X(s.geom) END,
  CASE WHEN s.geom IS NULL THEN 'NaN'::float8 ELSE ST_Y(s.geom) END
FROM span s
JOIN operator o ON o.id = s.operator_id
LEFT JOIN ff ON ff.operator_id = s.operator_id AND ff.vt = s.vehicle_type_id
WHERE s.state = ANY(%(states)s)
"""

ZONES_SQL = f"WITH {ZONES_CTE} SELECT zone_id, ST_AsBinary(geom) FROM zones ORDER BY zone_id"


@dataclass(slots=True)
class Dwells:
    """Stays overlapping the window, as parallel arrays (one item per dwell), and the
    stats zones each one lies in (pairs of dwell index and 1-based zone code)."""

    ids: np.ndarray  # int64
    vehicle: np.ndarray  # int64
    feed: np.ndarray  # int64
    operator: np.ndarray  # int64
    state: np.ndarray  # int8, index in DEPLOYED_STATES
    ff: np.ndarray  # int64, index in ff_names
    ff_names: list[str]
    start: np.ndarray  # float64 epoch s
    end: np.ndarray  # float64 epoch s (inf: still there)
    last_seen: np.ndarray  # float64 epoch s
    reason: np.ndarray  # int8: 0 open, 1 moved, 2 vanished, 3 state
    observed_start: np.ndarray  # bool: arrival seen (not first_seen / after_gap)
    zone_ids: list[str]
    zone_dwell: np.ndarray  # int64
    zone_code: np.ndarray  # int64, 1-based index in zone_ids

    def __len__(self) -> int:
        return len(self.ids)


def load_zones(
    cur: Any, w0: datetime, w1: datetime, zone_kinds: Sequence[str]
) -> list[tuple[str, Any]]:
    """(zone id, shapely geometry) of the stats zones in force during the window."""
    cur.execute(ZONES_SQL, {"w0": w0, "w1": w1, "kinds": list(zone_kinds)})
    return [(zid, shapely.from_wkb(bytes(wkb))) for zid, wkb in cur.fetchall()]


def load_dwells(
    cur: Any,
    w0: datetime,
    w1: datetime,
    zone_kinds: Sequence[str],
    *,
    feeds: Sequence[int] = (),
    carry: Sequence[int] | None = None,
) -> Dwells:
    """The stays overlapping ``[w0, w1)``; ``carry``: the stays still there at ``w0``
    according to the previous day's aggregation (None: scan the table)."""
    sql = DWELLS_SQL.replace("{ids}", _IDS_SCAN if carry is None else _IDS_CARRY)
    cur.execute(
        sql,
        {
            "w0": w0,
            "w1": w1,
            "states": list(DEPLOYED_STATES),
            "feeds": list(feeds),
            "carry": list(carry or ()),
        },
    )
    rows = cur.fetchall()
    cols: list[Any] = [list(c) for c in zip(*rows, strict=True)] if rows else [[]] * 13
    ff_names, ff = np.unique(np.asarray(cols[5], dtype=object), return_inverse=True)
    lon = np.asarray(cols[11], dtype=np.float64)
    lat = np.asarray(cols[12], dtype=np.float64)
    zones = load_zones(cur, w0, w1, zone_kinds)
    pairs_d, pairs_z = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
    has_pos = ~np.isnan(lon)
    for code, (_zid, geom) in enumerate(zones, start=1):
        shapely.prepare(geom)
        inside = np.zeros(len(lon), dtype=bool)
        inside[has_pos] = shapely.intersects_xy(geom, lon[has_pos], lat[has_pos])
        hit = np.nonzero(inside)[0]
        pairs_d.append(hit)
        pairs_z.append(np.full(len(hit), code, dtype=np.int64))
    return Dwells(
        ids=np.asarray(cols[0], dtype=np.int64),
        vehicle=np.asarray(cols[1], dtype=np.int64),
        feed=np.asarray(cols[2], dtype=np.int64),
        operator=np.asarray(cols[3], dtype=np.int64),
        state=np.asarray(cols[4], dtype=np.int8),
        ff=np.asarray(ff, dtype=np.int64).reshape(-1),
        ff_names=[str(n) for n in ff_names],
        start=np.asarray(cols[6], dtype=np.float64),
        end=np.asarray(cols[7], dtype=np.float64),
        last_seen=np.asarray(cols[8], dtype=np.float64),
        reason=np.asarray(cols[9], dtype=np.int8),
        observed_start=np.asarray(cols[10], dtype=bool),
        zone_ids=[zid for zid, _g in zones],
        zone_dwell=np.concatenate(pairs_d),
        zone_code=np.concatenate(pairs_z),
    )


@dataclass(frozen=True, slots=True)
class VehicleFeed:
    feed_id: int
    operator_id: int
    slug: str
    active: bool
    first_ok: float | None  # epoch s of its first successful fetch
    last_fetch: float | None


def load_vehicle_feeds(cur: Any) -> list[VehicleFeed]:
    cur.execute(
        "SELECT f.id, f.operator_id, o.slug, f.active,"
        " (SELECT extract(epoch FROM x.started_at)::float8 FROM feed_fetch x"
        "   WHERE x.feed_id = f.id AND x.outcome = ANY(%(ok)s) ORDER BY x.started_at LIMIT 1),"
        " extract(epoch FROM f.last_fetch_at)::float8"
        " FROM feed f JOIN operator o ON o.id = f.operator_id"
        " WHERE f.feed_type = 'vehicle_status' ORDER BY f.operator_id, f.id",
        {"ok": list(SUCCESS_OUTCOMES)},
    )
    return [VehicleFeed(*row) for row in cur.fetchall()]


def load_observations(
    cur: Any, feed_ids: Sequence[int], w0: datetime, w1: datetime, max_age_s: float
) -> dict[int, np.ndarray]:
    """Successful fetch times per feed in ``[w0 - max_age, w1)``, sorted."""
    cur.execute(
        "SELECT feed_id, extract(epoch FROM started_at)::float8 FROM feed_fetch"
        " WHERE feed_id = ANY(%(feeds)s) AND started_at >= %(a)s AND started_at < %(b)s"
        " AND outcome = ANY(%(ok)s) ORDER BY feed_id, started_at",
        {
            "feeds": list(feed_ids),
            "a": w0 - timedelta(seconds=max_age_s),
            "b": w1,
            "ok": list(SUCCESS_OUTCOMES),
        },
    )
    out: dict[int, list[float]] = {f: [] for f in feed_ids}
    for feed_id, at in cur.fetchall():
        out[feed_id].append(at)
    return {f: np.asarray(v, dtype=np.float64) for f, v in out.items()}


def load_outages(
    cur: Any, feed_ids: Sequence[int], w0: datetime, w1: datetime, lookback: timedelta
) -> dict[int, list[tuple[float, float]]]:
    """Outage spans per feed overlapping ``[w0 - lookback, w1)`` (open ones end at +inf)."""
    cur.execute(
        "SELECT feed_id, extract(epoch FROM started_at)::float8,"
        " coalesce(extract(epoch FROM ended_at)::float8, 'Infinity'::float8)"
        " FROM outage WHERE feed_id = ANY(%(feeds)s) AND started_at < %(w1)s"
        " AND (ended_at IS NULL OR ended_at > %(a)s) ORDER BY feed_id, started_at",
        {"feeds": list(feed_ids), "w1": w1, "a": w0 - lookback},
    )
    out: dict[int, list[tuple[float, float]]] = {f: [] for f in feed_ids}
    for feed_id, a, b in cur.fetchall():
        out[feed_id].append((a, b))
    return out


CHAIN_SQL = """
WITH RECURSIVE c(root, id, vehicle_id, started_at, lat, lon, conf, depth) AS (
  SELECT d.id, d.id, d.vehicle_id, d.started_at, d.lat, d.lon, d.start_confidence, 0
  FROM dwell d WHERE d.id = ANY(%(ids)s)
  UNION ALL
  SELECT c.root, p.id, p.vehicle_id, p.started_at, p.lat, p.lon, p.start_confidence,
         c.depth + 1
  FROM c JOIN LATERAL (
    SELECT q.id, q.vehicle_id, q.started_at, q.ended_at, q.end_reason, q.lat, q.lon,
           q.start_confidence
    FROM dwell q WHERE q.vehicle_id = c.vehicle_id AND q.started_at < c.started_at
    ORDER BY q.started_at DESC LIMIT 1
  ) p ON p.end_reason = 'state'
     AND p.ended_at >= c.started_at - interval '1 hour'
     AND p.started_at >= %(horizon)s
     AND p.lat IS NOT NULL AND c.lat IS NOT NULL
     AND 111132.0 * sqrt(power(p.lat - c.lat, 2)
         + power((p.lon - c.lon) * cos(radians(c.lat)), 2)) <= %(noise)s
  WHERE c.depth < 100
)
SELECT DISTINCT ON (root) root, extract(epoch FROM started_at)::float8, conf
FROM c ORDER BY root, depth DESC
"""


def load_parked_since(
    cur: Any, dwell_ids: Sequence[int], horizon: datetime, noise_m: float
) -> dict[int, tuple[float, str]]:
    """Per dwell: when the vehicle parked there, following back the stays that ended
    by a change of state in place (a reservation, a repair), and how that start is known."""
    if not dwell_ids:
        return {}
    cur.execute(
        CHAIN_SQL, {"ids": [int(i) for i in dwell_ids], "horizon": horizon, "noise": noise_m}
    )
    return {root: (at, conf) for root, at, conf in cur.fetchall()}


REAPPEAR_SQL = """
SELECT d.id,
  EXISTS (SELECT 1 FROM vehicle_alias a
          WHERE a.feed_id = d.feed_id AND a.gbfs_id = d.gbfs_id
            AND a.first_seen_at >= d.ended_at
            AND a.first_seen_at <= d.ended_at + %(window)s),
  EXISTS (SELECT 1 FROM vehicle_alias a
          JOIN dwell n ON n.vehicle_id = a.vehicle_id AND n.started_at = a.first_seen_at
          WHERE a.feed_id = d.feed_id AND a.gbfs_id = d.gbfs_id
            AND a.first_seen_at >= d.ended_at
            AND a.first_seen_at <= d.ended_at + %(window)s
            AND (n.lat IS NULL OR d.lat IS NULL OR 111132.0 * sqrt(power(n.lat - d.lat, 2)
                 + power((n.lon - d.lon) * cos(radians(d.lat)), 2)) > %(noise)s))
FROM dwell d WHERE d.id = ANY(%(ids)s)
"""


def load_reappearances(
    cur: Any, dwell_ids: Sequence[int], window: timedelta, noise_m: float
) -> dict[int, tuple[bool, bool]]:
    """Per vanished dwell: (its GBFS id came back within ``window``, and elsewhere)."""
    if not dwell_ids:
        return {}
    cur.execute(
        REAPPEAR_SQL, {"ids": [int(i) for i in dwell_ids], "window": window, "noise": noise_m}
    )
    return {row[0]: (row[1], row[2]) for row in cur.fetchall()}


def first_successful_vehicle_fetch(cur: Any) -> datetime | None:
    """When the earliest successful fetch of any vehicle feed started (one index
    probe per feed, ``(feed_id, started_at)``); None before the first one. The
    statistics' first pending day starts there."""
    cur.execute(
        "SELECT min(x.started_at) FROM feed f JOIN LATERAL (SELECT started_at FROM feed_fetch"
        " WHERE feed_id = f.id AND outcome = ANY(%s) ORDER BY started_at LIMIT 1) x ON true"
        " WHERE f.feed_type = 'vehicle_status'",
        (list(SUCCESS_OUTCOMES),),
    )
    row = cur.fetchone()
    return None if row is None else row[0]
