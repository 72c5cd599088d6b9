"""The fast ingest path (typed decoding, memo of the previous file, incremental
diff) stores exactly what the tolerant path stores, poll after poll.

Two feeds get the same vehicles: one as clean files, which take the fast path;
the other with its booleans written 0/1, which the fast path declines, so every
file goes through the tolerant parser and the full diff. Their history must be
the same, ids aside.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gbfs_ingest.config import IngestSettings
from gbfs_ingest.model import FeedType
from gbfs_ingest.process import ProcessResult, load_feed_row, process_body
from gbfs_ingest.registry import ensure_feed, ensure_operator
from gbfs_ingest.vehicle_store import VehicleStateCache

T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
SETTINGS = IngestSettings(validate_schema=False)


def _bodies(polls: int, n: int = 300) -> list[tuple[bytes, bytes]]:
    """(clean body, the same with 0/1 booleans) per poll."""
    rng = random.Random(11)
    fleet = [
        {
            "bike_id": f"b{i}",
            "lat": round(45.90 + rng.uniform(0, 0.03), 6),
            "lon": round(6.12 + rng.uniform(0, 0.03), 6),
            "is_reserved": False,
            "is_disabled": False,
            "vehicle_type_id": "scooter",
            "current_range_meters": 20000,
            "last_reported": int(T0.timestamp()),
        }
        for i in range(n)
    ]
    riding: list[tuple[int, dict]] = []
    out = []
    for k in range(polls):
        at = int((T0 + timedelta(minutes=k)).timestamp())
        for _t, v in [r for r in riding if r[0] == k]:  # trips end elsewhere, new id
            v["bike_id"] = f"t{k}-{v['bike_id']}"
            v["lat"] = round(v["lat"] + rng.uniform(0.003, 0.01), 6)
            fleet.append(v)
        riding = [r for r in riding if r[0] != k]
        for v in rng.sample(fleet, 12):
            r = rng.random()
            if r < 0.2:
                v["lat"] = round(v["lat"] + 2e-5, 6)  # GPS jitter: new text, same place
            elif r < 0.35:
                v["lat"] = round(v["lat"] + 0.002, 6)  # moved
            elif r < 0.5:
                v["is_disabled"] = not v["is_disabled"]
            elif r < 0.6:
                v["current_range_meters"] -= 500
            elif r < 0.7:
                v["last_reported"] = at
            elif r < 0.8:
                v["bike_id"] = f"r{k}-{v['bike_id']}"  # id rotated in place
            elif v in fleet:  # a trip starts: gone for a few polls
                fleet.remove(v)
                riding.append((k + rng.randint(1, 4), v))
        doc = {"last_updated": at, "ttl": 0, "version": "2.3", "data": {"bikes": fleet}}
        ints = [
            {**v, "is_reserved": int(v["is_reserved"]), "is_disabled": int(v["is_disabled"])}
            for v in fleet
        ]
        out.append((orjson.dumps(doc), orjson.dumps({**doc, "data": {"bikes": ints}})))
    return out


def _history(engine: Engine, feed_id: int) -> dict[str, list[tuple]]:
    queries = {
        "dwell": "SELECT gbfs_id, lat, lon, state, started_at, start_confidence, ended_at,"
        " last_seen_at, end_reason, rotations, min_link_confidence FROM dwell WHERE feed_id = :f",
        "current": "SELECT gbfs_id, lat, lon, state, range_m, last_reported, missing_since,"
        " last_seen_at FROM vehicle_current WHERE feed_id = :f",
        "alias": "SELECT gbfs_id, linked_from, link_distance_m, link_confidence, first_seen_at"
        " FROM vehicle_alias WHERE feed_id = :f",
        "vehicle": "SELECT first_gbfs_id, first_seen_at FROM vehicle WHERE feed_id = :f",
    }
    with engine.connect() as conn:
        return {
            name: sorted(tuple(r) for r in conn.execute(text(sql), {"f": feed_id}))
            for name, sql in queries.items()
        }


def _process(
    s: Session, feed_id: int, body: bytes, at: datetime, cache: VehicleStateCache
) -> ProcessResult:
    return process_body(
        s,
        load_feed_row(s, feed_id),
        body,
        fetched_at=at,
        settings=SETTINGS,
        cache=cache,
        live=False,
        fetch_meta={},
    )


def test_fast_and_tolerant_paths_store_the_same_history(engine: Engine) -> None:
    with Session(engine) as s, s.begin():
        feeds = []
        for slug in ("fast", "tolerant"):
            op = ensure_operator(s, slug, slug, None)
            feeds.append(
                ensure_feed(s, op, FeedType.VEHICLE_STATUS, "free_bike_status", "x", "2.3")
            )
    cache = VehicleStateCache()
    bodies = _bodies(24)
    for k, pair in enumerate(bodies):
        at = T0 + timedelta(minutes=k)
        for feed_id, body in zip(feeds, pair, strict=True):
            if k == 10:  # a poll rolled back: the cache must not be trusted afterwards
                with Session(engine) as s:
                    _process(s, feed_id, body, at, cache)
                    s.rollback()
            with Session(engine) as s, s.begin():
                res = _process(s, feed_id, body, at, cache)
                assert res.outcome == "ok", res
    fast, tolerant = (_history(engine, f) for f in feeds)
    assert fast == tolerant
    with engine.connect() as conn:  # points written as EWKB: exactly the stored lat/lon
        for table in ("dwell", "vehicle_current"):
            wrong = conn.execute(
                text(
                    f"SELECT count(*) FROM {table} WHERE geom IS NULL OR ST_SRID(geom) <> 4326"
                    " OR ST_X(geom) <> lon OR ST_Y(geom) <> lat"
                )
            ).scalar_one()
            assert wrong == 0, table
    assert len(fast["alias"]) > len(fast["vehicle"]) > 300  # rotations were linked
    assert any(r[8] == "moved" for r in fast["dwell"]) and any(r[6] for r in fast["current"])
    # the fast feed really went the fast way: its memo holds the last file
    fc = cache.for_feed(feeds[0])
    assert len(fc.parse_memo) == len(orjson.loads(bodies[-1][0])["data"]["bikes"])
    assert fc.applied is fc.parse_memo.vehicles
    assert len(cache.for_feed(feeds[1]).parse_memo) == 0
