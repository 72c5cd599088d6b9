"""Store one vehicle snapshot: write only what changed.

The caller owns the transaction (and should hold the feed's advisory lock).
A per-feed in-memory cache of the current rows avoids re-reading 100,000 rows
every poll; it is validated against ``feed.state_token``, a random value
rewritten on every store, so a rolled-back transaction or another process
writing the same feed simply causes a reload.

The modules, in the order a poll uses them:

- :mod:`.state_cache`: the per-feed copy of the current rows and its token;
- :mod:`.stay_changes`: from the diff to the rows to write (which stays end,
  go on or begin; aliases, events, the new current rows);
- :mod:`.writes`: those rows written, set-based;
- :mod:`.binary_copy`: binary COPY with points as EWKB, used by both.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from datastore.connection import pg_connection
from gbfs_ingest.model import Vehicle
from gbfs_ingest.stays import StaySettings, bridge_gap, end_stays_at_gap, judge_gap
from gbfs_ingest.vehicle_diff import VehicleDiff, diff_vehicles
from gbfs_ingest.vehicle_store.binary_copy import register_geometry
from gbfs_ingest.vehicle_store.state_cache import FeedCache, VehicleStateCache
from gbfs_ingest.vehicle_store.stay_changes import plan_stay_changes
from gbfs_ingest.vehicle_store.writes import write_stay_changes

__all__ = ["FeedCache", "StoreResult", "VehicleStateCache", "store_vehicle_snapshot"]


@dataclass(slots=True)
class StoreResult:
    applied: bool
    reason: str = ""
    diff: VehicleDiff | None = None
    new_dwells: int = 0
    closed_dwells: int = 0


def store_vehicle_snapshot(
    session: Session,
    *,
    feed_id: int,
    operator_id: int,
    vehicles: list[Vehicle],
    observed_at: datetime,
    fetch_id: int | None,
    cache: VehicleStateCache,
    link_m: float,
    noise_m: float = 15.0,
    stays: StaySettings | None = None,
    after_gap: bool = False,
    partial: str | None = None,
    carried_from: Any = None,
    carry_base: list[Vehicle] | None = None,
) -> StoreResult:
    """Write what changed since the feed's current rows (see the module doc).

    ``stays``: the definition's settings for this operator (docs/ingest.md
    "Stays"). ``after_gap``: an outage ended with this poll. ``partial``: why
    the file is known to be incomplete (records dropped as invalid), or None;
    an absence from a partial file is bridged, never an end.
    ``carried_from``/``carry_base``: the parser's note of which vehicles repeat
    the previous file's records (``ParsedFeed``); used when that file is the one
    the cache was last synced with.
    """
    st = stays or StaySettings()
    conn = pg_connection(session)
    register_geometry(conn)
    cur = conn.cursor()
    cur.execute(
        "SELECT state_token, last_observed_at FROM feed WHERE id = %s FOR UPDATE", (feed_id,)
    )
    token, prev_obs = cur.fetchone()
    if prev_obs is not None and observed_at <= prev_obs:
        return StoreResult(applied=False, reason="not newer than the last observation")
    fc = cache.for_feed(feed_id)
    fc.sync(cur, feed_id, token)
    diff = diff_vehicles(
        fc.rows,
        vehicles,
        drift_m=st.drift_m,
        # an id rotated in place is linked anywhere within the stay's tolerance
        link_m=max(link_m, st.drift_m),
        noise_m=noise_m,
        previous=fc.applied,
        pending_ids=fc.pending,
        carried_from=carried_from if carry_base is not None and carry_base is fc.applied else None,
    )
    gap = judge_gap(prev_obs, observed_at, after_gap, st)
    if prev_obs is None:
        start_conf = "first_seen"
    elif after_gap or gap.bridged or gap.ends_stays:
        start_conf = "after_gap"
    else:
        start_conf = "observed"
    changes = plan_stay_changes(
        cur,
        diff=diff,
        rows=fc.rows,
        outliers=fc.outliers,
        feed_id=feed_id,
        operator_id=operator_id,
        observed_at=observed_at,
        prev_obs=prev_obs,
        fetch_id=fetch_id,
        stays=st,
        start_conf=start_conf,
        partial=partial,
    )
    write_stay_changes(
        cur,
        changes,
        feed_id=feed_id,
        operator_id=operator_id,
        observed_at=observed_at,
        prev_obs=prev_obs,
        fetch_id=fetch_id,
    )
    reload = False
    if gap.ends_stays:
        reload = end_stays_at_gap(cur, feed_id, observed_at, prev_obs, fetch_id) > 0
    elif gap.bridged:
        bridge_gap(cur, feed_id, gap, observed_at, fetch_id)

    new_token = secrets.randbits(62)
    cur.execute(
        "UPDATE feed SET state_token = %s, last_observed_at = %s, last_count = %s WHERE id = %s",
        (new_token, observed_at, len(vehicles), feed_id),
    )
    fc.follow(
        deletes=changes.deletes,
        updates=changes.updates,
        inserts=changes.inserts,
        missing=changes.missing,
        applied=vehicles,
        # new stays after a gap: reload their anchors
        token=None if reload else new_token,
    )
    return StoreResult(
        applied=True,
        diff=diff,
        new_dwells=len(changes.new_dwells),
        closed_dwells=len(changes.closes),
    )
