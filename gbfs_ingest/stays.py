"""The stay of a vehicle: the settings that define it and the feed-wide steps.

Definition (docs/ingest.md "Stays", version 2): a stay is the time a physical
vehicle has been observed, without interruption, within ``drift_m`` of its
anchor (the first position of the stay). It ends when the vehicle is seen
beyond that tolerance (``moved``), is absent from a healthy vehicle file
(``absent``: rented or removed; up to ``grace_polls`` absences are bridged when
an operator's feed is known to drop vehicles), or the feed's history has a gap
longer than ``max_gap_s`` (``gap``). A gap longer than ``gap_s``, or one that an
outage explains, is bridged: the stay goes on with the gap counted against its
confidence. State flags are events inside a stay (``dwell_event``).

The per-vehicle work is in :mod:`gbfs_ingest.vehicle_store`; here are the steps
that touch every open stay of a feed at once (set-based, one statement each,
only on polls that follow a gap).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: Version of the definition written on every stay (migration 0013).
DEFINITION_VERSION = 2


@dataclass(frozen=True, slots=True)
class StaySettings:
    #: a stay goes on while its positions stay within this many metres of its anchor
    drift_m: float = 30.0
    #: healthy polls a vehicle may be absent from without ending its stay (0: none)
    grace_polls: int = 0
    #: an interval between two applied observations longer than this is a gap
    gap_s: float = 3600.0
    #: a gap longer than this cannot be bridged: every open stay of the feed ends
    max_gap_s: float = 7 * 86_400.0


@dataclass(frozen=True, slots=True)
class GapVerdict:
    seconds: float
    bridged: bool  # the open stays go on, with the gap counted against them
    ends_stays: bool  # too long: the open stays end with reason ``gap``


def judge_gap(
    prev_obs: datetime | None, observed_at: datetime, after_outage: bool, st: StaySettings
) -> GapVerdict:
    if prev_obs is None:
        return GapVerdict(0.0, False, False)
    seconds = (observed_at - prev_obs).total_seconds()
    if seconds > st.max_gap_s:
        return GapVerdict(seconds, False, True)
    return GapVerdict(seconds, after_outage or seconds > st.gap_s, False)


_OPEN_STAYS = (
    "SELECT vc.dwell_id FROM vehicle_current vc WHERE vc.feed_id = %(feed)s"
    " AND vc.missing_since IS NULL"
)


def bridge_gap(cur: Any, feed_id: int, gap: GapVerdict, at: datetime, fetch_id: int | None) -> int:
    """Every open stay of the feed that began before ``at`` bridges the gap."""
    params = {"feed": feed_id, "at": at, "s": gap.seconds, "fetch": fetch_id}
    cur.execute(
        "WITH b AS (UPDATE dwell d SET bridged_gaps = d.bridged_gaps + 1,"
        " bridged_s = d.bridged_s + %(s)s"
        f" WHERE d.id IN ({_OPEN_STAYS}) AND d.ended_at IS NULL AND d.started_at < %(at)s"
        "  RETURNING d.id, d.vehicle_id, d.feed_id)"
        " INSERT INTO dwell_event (dwell_id, vehicle_id, feed_id, at, kind, seconds, fetch_id)"
        " SELECT id, vehicle_id, feed_id, %(at)s, 'gap', %(s)s, %(fetch)s FROM b",
        params,
    )
    return int(cur.rowcount)


def end_stays_at_gap(
    cur: Any,
    feed_id: int,
    at: datetime,
    prev_obs: datetime | None,
    fetch_id: int | None,
) -> int:
    """A gap too long to bridge: the open stays that began before ``at`` end
    (reason ``gap``) and each vehicle still published opens a new stay at ``at``
    (``after_gap``: it may have arrived at any time during the gap). The caller
    drops its cache of the current rows."""
    params = {"feed": feed_id, "at": at, "prev": prev_obs, "fetch": fetch_id}
    cur.execute(
        "UPDATE dwell d SET ended_at = %(at)s, last_seen_at = %(prev)s, end_reason = 'gap',"
        " end_fetch_id = %(fetch)s"
        f" WHERE d.id IN ({_OPEN_STAYS}) AND d.ended_at IS NULL AND d.started_at < %(at)s",
        params,
    )
    ended = int(cur.rowcount)
    cur.execute(
        "WITH fresh AS (SELECT vc.gbfs_id, nextval('dwell_id_seq') AS id FROM vehicle_current vc"
        "  JOIN dwell d ON d.id = vc.dwell_id WHERE vc.feed_id = %(feed)s"
        "  AND vc.missing_since IS NULL AND d.end_reason = 'gap' AND d.ended_at = %(at)s),"
        " ins AS (INSERT INTO dwell (id, vehicle_id, feed_id, operator_id, gbfs_id, lat, lon,"
        "  geom, state, vehicle_type_id, station_id, started_at, start_confidence,"
        "  start_fetch_id, rotations)"
        "  SELECT f.id, vc.vehicle_id, vc.feed_id, vc.operator_id, vc.gbfs_id, vc.lat, vc.lon,"
        "  vc.geom, vc.state, vc.vehicle_type_id, vc.station_id, %(at)s, 'after_gap',"
        "  %(fetch)s, 0 FROM fresh f JOIN vehicle_current vc"
        "  ON vc.feed_id = %(feed)s AND vc.gbfs_id = f.gbfs_id)"
        " UPDATE vehicle_current vc SET dwell_id = f.id FROM fresh f"
        " WHERE vc.feed_id = %(feed)s AND vc.gbfs_id = f.gbfs_id",
        params,
    )
    return ended
