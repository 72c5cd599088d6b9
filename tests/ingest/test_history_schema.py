"""The ingest schema: migrations match the models; history goes with its feed.

The history tables have no per-row foreign keys (migration 0006, for the poll
time); a statement trigger on ``feed`` must still delete a feed's history.
"""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gbfs_ingest.db import Base
from gbfs_ingest.model import FeedType, Vehicle
from gbfs_ingest.registry import ensure_feed, ensure_operator
from gbfs_ingest.vehicle_store import VehicleStateCache, store_vehicle_snapshot

HISTORY = ("vehicle", "vehicle_alias", "vehicle_current", "dwell")  # vehicle: a view
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def test_migrations_match_the_ingest_models(engine: Engine) -> None:
    tables = set(Base.metadata.tables)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    ours = [d for d in diffs if any(f"'{t}'" in str(d) or f"{t}." in str(d) for t in tables)]
    assert ours == []


def test_history_tables_have_no_row_level_foreign_keys(engine: Engine) -> None:
    with engine.connect() as conn:
        fks = conn.execute(
            text(
                "SELECT conrelid::regclass::text FROM pg_constraint"
                " WHERE contype = 'f' AND conrelid::regclass::text = ANY(:t)"
            ),
            {"t": list(HISTORY)},
        ).all()
    assert fks == []


def _counts(engine: Engine, feed_id: int) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: conn.execute(
                text(f"SELECT count(*) FROM {t} WHERE feed_id = :f"), {"f": feed_id}
            ).scalar_one()
            for t in HISTORY
        }


def test_deleting_an_operator_deletes_its_history_only(engine: Engine) -> None:
    feeds = []
    with Session(engine) as s, s.begin():
        for slug in ("gone", "kept"):
            op = ensure_operator(s, slug, slug.title(), None)
            fid = ensure_feed(s, op, FeedType.VEHICLE_STATUS, "free_bike_status", "x", "2.3")
            feeds.append((op, fid))
    cache = VehicleStateCache()
    for op, fid in feeds:
        with Session(engine) as s, s.begin():
            store_vehicle_snapshot(
                s,
                feed_id=fid,
                operator_id=op,
                vehicles=[Vehicle(f"v{i}", 45.9 + i * 0.001, 6.13) for i in range(3)],
                observed_at=T0,
                fetch_id=None,
                cache=cache,
                link_m=15,
            )
    assert _counts(engine, feeds[0][1]) == dict.fromkeys(HISTORY, 3)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM operator WHERE slug = 'gone'"))
    assert _counts(engine, feeds[0][1]) == dict.fromkeys(HISTORY, 0)
    assert _counts(engine, feeds[1][1]) == dict.fromkeys(HISTORY, 3)


def test_a_binary_copy_that_cannot_start_leaves_the_connection_usable(engine: Engine) -> None:
    import pytest

    from datastore.connection import pg_connection
    from gbfs_ingest.vehicle_store.binary_copy import binary_copy, ewkb, register_geometry

    with Session(engine) as s:
        register_geometry(pg_connection(s))
        cur = pg_connection(s).cursor()
        cur.execute("CREATE TEMP TABLE t (a int4, g geometry(Point, 4326))")
        with binary_copy(cur, "COPY t (a, g)", ["int4", "geometry"]) as cp:
            cp.write_row((1, ewkb(45.899247, 6.129384)))
            cp.write_row((2, None))
        cur.execute("SELECT a, ST_X(g), ST_Y(g), ST_SRID(g) FROM t ORDER BY a")
        assert cur.fetchall() == [(1, 6.129384, 45.899247, 4326), (2, None, None, None)]
        with pytest.raises(KeyError), binary_copy(cur, "COPY t (a, g)", ["int4", "no_such"]):
            pass
        s.rollback()
        assert s.execute(text("SELECT 1")).scalar_one() == 1


def test_the_history_points_have_spatial_indexes_that_serve_bbox_queries(engine: Engine) -> None:
    with engine.connect() as conn:
        methods = dict(
            conn.execute(
                text(
                    "SELECT c.relname, am.amname FROM pg_index i"
                    " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam"
                    " WHERE c.relname IN ('idx_dwell_geom', 'idx_vehicle_current_geom')"
                )
            ).all()
        )
        assert methods == {"idx_dwell_geom": "spgist", "idx_vehicle_current_geom": "spgist"}
        conn.execute(text("SET enable_seqscan = off"))
        for table in ("dwell", "vehicle_current"):
            plan = "\n".join(
                r[0]
                for r in conn.execute(
                    text(
                        f"EXPLAIN SELECT 1 FROM {table} WHERE ST_Intersects(geom,"
                        " ST_MakeEnvelope(6.1, 45.89, 6.15, 45.91, 4326))"
                    )
                )
            )
            assert f"idx_{table}_geom" in plan, plan
