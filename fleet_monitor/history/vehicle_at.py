"""One vehicle's state at a past instant, and whether the feed could tell it then.

The notice deadline check asks, at a deadline: which feed lists the vehicle, was
that feed in outage, which fetch confirmed the state (``CONFIRMING_OUTCOMES``), and
where and in which state the vehicle stood (its stay covering the instant, and
whether it had just been unlisted, pending an ID-rotation link).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from fleet_monitor.history.definitions import CONFIRMING_OUTCOMES

STAY_AT_SQL = """
SELECT d.state,
       d.ended_at IS NULL AND EXISTS (SELECT 1 FROM vehicle_current vc
         WHERE vc.vehicle_id = d.vehicle_id AND vc.dwell_id = d.id
         AND vc.missing_since IS NOT NULL AND vc.missing_since <= :t) AS pending,
       CASE WHEN d.geom IS NULL OR CAST(:lon AS float8) IS NULL THEN NULL
            ELSE ST_Distance(d.geom::geography,
                             ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) END
FROM dwell d
WHERE d.vehicle_id = :vid AND d.started_at <= :t AND (d.ended_at IS NULL OR d.ended_at > :t)
ORDER BY d.started_at DESC, d.id DESC LIMIT 1
"""


def vehicle_feed(session: Session, vehicle_id: int) -> tuple[int, datetime | None] | None:
    """(feed id, the feed's last observation) of the vehicle's feed; None if unknown."""
    row = session.execute(
        text(
            "SELECT f.id, f.last_observed_at FROM vehicle ve JOIN feed f ON f.id = ve.feed_id"
            " WHERE ve.id = :vid"
        ),
        {"vid": vehicle_id},
    ).first()
    return None if row is None else (row[0], row[1])


def outage_at(
    session: Session, feed_id: int, t: datetime
) -> tuple[datetime, datetime | None] | None:
    """(start, end or None while it lasts) of the feed's outage covering ``t``."""
    row = session.execute(
        text(
            "SELECT started_at, ended_at FROM outage WHERE feed_id = :f AND started_at <= :t"
            " AND (ended_at IS NULL OR ended_at > :t) ORDER BY started_at DESC LIMIT 1"
        ),
        {"f": feed_id, "t": t},
    ).first()
    return None if row is None else (row[0], row[1])


def confirming_fetch(session: Session, feed_id: int, t: datetime) -> int | None:
    """The latest fetch at or before ``t`` (within two days) that confirmed the state."""
    value = session.execute(
        text(
            "SELECT id FROM feed_fetch WHERE feed_id = :f AND observed_at <= :t"
            " AND started_at >= CAST(:t AS timestamptz) - interval '2 days'"
            " AND outcome = ANY(:ok) ORDER BY observed_at DESC, id DESC LIMIT 1"
        ),
        {"f": feed_id, "t": t, "ok": list(CONFIRMING_OUTCOMES)},
    ).scalar()
    return None if value is None else int(value)


def stay_at(
    session: Session, vehicle_id: int, t: datetime, lon: float | None, lat: float | None
) -> Any:
    """(state, pending rotation link, distance in metres from (lon, lat) or None) of the
    vehicle's stay covering ``t``; None when it had no stay then (removed)."""
    return session.execute(
        text(STAY_AT_SQL), {"vid": vehicle_id, "t": t, "lon": lon, "lat": lat}
    ).first()
