"""The per-feed, in-memory copy of the current rows (``vehicle_current``).

It avoids re-reading 100,000 rows every poll. It is valid while its token
equals ``feed.state_token``, a random value rewritten on every store: a
rolled-back transaction or another process writing the same feed makes them
differ, and the next poll reloads the rows (:meth:`FeedCache.sync`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gbfs_ingest.model import Vehicle
from gbfs_ingest.parse.vehicle_memo import VehicleMemo
from gbfs_ingest.vehicle_diff import CurrentRow


@dataclass(slots=True)
class FeedCache:
    token: int | None = None
    rows: dict[str, CurrentRow] = field(default_factory=dict)
    # the snapshot ``rows`` were last synced with, and the ids marked missing
    applied: list[Vehicle] | None = None
    pending: set[str] = field(default_factory=set)
    # ids seen beyond their stay's tolerance once (``far_since``), awaiting the next poll
    outliers: set[str] = field(default_factory=set)
    # the previous clean file's records, for the parser (independent of the token)
    parse_memo: VehicleMemo = field(default_factory=VehicleMemo)

    def sync(self, cur: Any, feed_id: int, token: int | None) -> None:
        """Reload the feed's current rows unless the cache holds them as of ``token``."""
        if self.token is not None and self.token == token:
            return
        self.rows = load_current_rows(cur, feed_id)
        self.token = token
        self.applied = None
        self.pending = {gid for gid, row in self.rows.items() if row.missing_since is not None}
        self.outliers = {gid for gid, row in self.rows.items() if row.far_since is not None}

    def follow(
        self,
        *,
        deletes: list[str],
        updates: list[tuple[CurrentRow, datetime | None]],
        inserts: list[tuple[CurrentRow, datetime | None]],
        missing: list[CurrentRow],
        applied: list[Vehicle],
        token: int | None,
    ) -> None:
        """Apply a store's writes to the cache; ``token`` None makes the next poll reload.

        The cache follows the transaction: if it rolls back, the token no longer
        matches the feed's and the rows are reloaded.
        """
        rows = self.rows
        pending = self.pending
        for gid in deletes:
            rows.pop(gid, None)
            pending.discard(gid)
        for r, _reported in updates:
            rows[r.gbfs_id] = r
            pending.discard(r.gbfs_id)
        for r, _reported in inserts:
            rows[r.gbfs_id] = r
        pending.update(r.gbfs_id for r in missing)
        outliers = self.outliers
        for gid in deletes:
            outliers.discard(gid)
        for r, _reported in (*updates, *inserts):
            if r.far_since is None:
                outliers.discard(r.gbfs_id)
            else:
                outliers.add(r.gbfs_id)
        self.applied = applied
        self.token = token


class VehicleStateCache:
    """Current rows per feed, shared by the polls of one process."""

    def __init__(self) -> None:
        self._feeds: dict[int, FeedCache] = {}

    def for_feed(self, feed_id: int) -> FeedCache:
        return self._feeds.setdefault(feed_id, FeedCache())

    def invalidate(self, feed_id: int | None = None) -> None:
        if feed_id is None:
            self._feeds.clear()
        else:
            self._feeds.pop(feed_id, None)


def load_current_rows(cur: Any, feed_id: int) -> dict[str, CurrentRow]:
    """The feed's rows of ``vehicle_current`` with their stay's anchor, by GBFS id."""
    cur.execute(
        "SELECT vc.gbfs_id, vc.vehicle_id, vc.dwell_id, vc.lat, vc.lon, vc.state,"
        " vc.vehicle_type_id, vc.station_id, vc.range_m, vc.fuel_percent, vc.missing_since,"
        " vc.last_seen_at, vc.absent_polls, d.lat, d.lon, d.ended_at IS NULL, vc.far_since"
        " FROM vehicle_current vc LEFT JOIN dwell d ON d.id = vc.dwell_id"
        " WHERE vc.feed_id = %s",
        (feed_id,),
    )
    # the stay is open unless it ended (no stay row: open)
    return {r[0]: CurrentRow(*(*r[:15], r[15] is not False, r[16])) for r in cur.fetchall()}
