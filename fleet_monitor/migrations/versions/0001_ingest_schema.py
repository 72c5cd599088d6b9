"""Ingest schema: operators, feeds, fetches, raw evidence, vehicles, dwells.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 20:32:54.399175
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "operator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("discovery_url", sa.Text(), nullable=True),
        sa.Column("gbfs_version", sa.String(length=16), nullable=True),
        sa.Column("version_detected", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("system_information", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("discovered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator")),
        sa.UniqueConstraint("slug", name=op.f("uq_operator_slug")),
    )
    op.create_table(
        "raw_blob",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("compressed_size", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_raw_blob")),
    )
    op.create_index(op.f("ix_raw_blob_last_seen_at"), "raw_blob", ["last_seen_at"], unique=False)
    op.create_table(
        "feed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("feed_type", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("version", sa.String(length=16), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("ttl_s", sa.Integer(), nullable=True),
        sa.Column("poll_interval_s", sa.Integer(), nullable=True),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("last_fetch_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_content_hash", sa.String(length=64), nullable=True),
        sa.Column("last_data_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_observed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_count", sa.Integer(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("state_token", sa.BigInteger(), nullable=False),
        sa.Column("retry_after_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operator.id"],
            name=op.f("fk_feed_operator_id_operator"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed")),
        sa.UniqueConstraint("operator_id", "feed_type", name=op.f("uq_feed_operator_id")),
    )
    op.create_geospatial_table(
        "dwell",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("vehicle_id", sa.BigInteger(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("gbfs_id", sa.Text(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("vehicle_type_id", sa.Text(), nullable=True),
        sa.Column("station_id", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("start_confidence", sa.String(length=16), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=16), nullable=True),
        sa.Column("start_fetch_id", sa.BigInteger(), nullable=True),
        sa.Column("end_fetch_id", sa.BigInteger(), nullable=True),
        sa.Column("rotations", sa.Integer(), nullable=False),
        sa.Column("min_link_confidence", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feed.id"], name=op.f("fk_dwell_feed_id_feed"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dwell")),
    )
    op.create_geospatial_index(
        "idx_dwell_geom",
        "dwell",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_dwell_feed_started", "dwell", ["feed_id", "started_at"], unique=False)
    op.create_index("ix_dwell_vehicle_started", "dwell", ["vehicle_id", "started_at"], unique=False)
    op.create_table(
        "feed_document",
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("records", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feed.id"], name=op.f("fk_feed_document_feed_id_feed"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("feed_id", name=op.f("pk_feed_document")),
    )
    op.create_table(
        "feed_fetch",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("data_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("wire_bytes", sa.Integer(), nullable=True),
        sa.Column("body_bytes", sa.Integer(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("record_count", sa.Integer(), nullable=True),
        sa.Column("invalid_count", sa.Integer(), nullable=True),
        sa.Column("changed_count", sa.Integer(), nullable=True),
        sa.Column("schema_error_count", sa.Integer(), nullable=True),
        sa.Column("findings", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error_kind", sa.String(length=40), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("version", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feed.id"], name=op.f("fk_feed_fetch_feed_id_feed"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_fetch")),
    )
    op.create_index(
        "ix_feed_fetch_feed_started", "feed_fetch", ["feed_id", "started_at"], unique=False
    )
    op.create_table(
        "outage",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("start_fetch_id", sa.BigInteger(), nullable=True),
        sa.Column("end_fetch_id", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feed.id"], name=op.f("fk_outage_feed_id_feed"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outage")),
    )
    op.create_index(
        "ix_outage_open",
        "outage",
        ["feed_id"],
        unique=False,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_geospatial_table(
        "station",
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Text(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("is_virtual", sa.Boolean(), nullable=False),
        sa.Column("region_id", sa.Text(), nullable=True),
        sa.Column("num_vehicles_available", sa.Integer(), nullable=True),
        sa.Column("num_vehicles_disabled", sa.Integer(), nullable=True),
        sa.Column("num_docks_available", sa.Integer(), nullable=True),
        sa.Column("is_renting", sa.Boolean(), nullable=True),
        sa.Column("last_reported", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feed.id"], name=op.f("fk_station_feed_id_feed"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("feed_id", "station_id", name=op.f("pk_station")),
    )
    op.create_geospatial_index(
        "idx_station_geom",
        "station",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_table(
        "vehicle",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_gbfs_id", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feed.id"], name=op.f("fk_vehicle_feed_id_feed"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operator.id"],
            name=op.f("fk_vehicle_operator_id_operator"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vehicle")),
    )
    op.create_index(op.f("ix_vehicle_feed_id"), "vehicle", ["feed_id"], unique=False)
    op.create_geospatial_table(
        "vehicle_current",
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("gbfs_id", sa.Text(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("vehicle_id", sa.BigInteger(), nullable=False),
        sa.Column("dwell_id", sa.BigInteger(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("vehicle_type_id", sa.Text(), nullable=True),
        sa.Column("station_id", sa.Text(), nullable=True),
        sa.Column("range_m", sa.Float(), nullable=True),
        sa.Column("fuel_percent", sa.Float(), nullable=True),
        sa.Column("last_reported", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("missing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fetch_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["feed.id"],
            name=op.f("fk_vehicle_current_feed_id_feed"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operator.id"],
            name=op.f("fk_vehicle_current_operator_id_operator"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("feed_id", "gbfs_id", name=op.f("pk_vehicle_current")),
    )
    op.create_geospatial_index(
        "idx_vehicle_current_geom",
        "vehicle_current",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        op.f("ix_vehicle_current_vehicle_id"), "vehicle_current", ["vehicle_id"], unique=False
    )
    op.create_table(
        "vehicle_alias",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("vehicle_id", sa.BigInteger(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("gbfs_id", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("linked_from", sa.Text(), nullable=True),
        sa.Column("link_distance_m", sa.Float(), nullable=True),
        sa.Column("link_confidence", sa.Float(), nullable=True),
        sa.Column("fetch_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feed.id"], name=op.f("fk_vehicle_alias_feed_id_feed"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"],
            ["vehicle.id"],
            name=op.f("fk_vehicle_alias_vehicle_id_vehicle"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vehicle_alias")),
    )
    op.create_index(
        "ix_vehicle_alias_feed_gbfs", "vehicle_alias", ["feed_id", "gbfs_id"], unique=False
    )
    op.create_index(
        op.f("ix_vehicle_alias_vehicle_id"), "vehicle_alias", ["vehicle_id"], unique=False
    )
    # Closing a dwell and marking a vehicle missing touch no indexed column, so with
    # free space left on each page PostgreSQL updates them in place (HOT updates).
    op.execute("ALTER TABLE dwell SET (fillfactor = 85)")
    op.execute("ALTER TABLE vehicle_current SET (fillfactor = 70)")


def downgrade() -> None:
    op.drop_index(op.f("ix_vehicle_alias_vehicle_id"), table_name="vehicle_alias")
    op.drop_index("ix_vehicle_alias_feed_gbfs", table_name="vehicle_alias")
    op.drop_table("vehicle_alias")
    op.drop_index(op.f("ix_vehicle_current_vehicle_id"), table_name="vehicle_current")
    op.drop_geospatial_index(
        "idx_vehicle_current_geom",
        table_name="vehicle_current",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("vehicle_current")
    op.drop_index(op.f("ix_vehicle_feed_id"), table_name="vehicle")
    op.drop_table("vehicle")
    op.drop_geospatial_index(
        "idx_station_geom", table_name="station", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("station")
    op.drop_index(
        "ix_outage_open", table_name="outage", postgresql_where=sa.text("ended_at IS NULL")
    )
    op.drop_table("outage")
    op.drop_index("ix_feed_fetch_feed_started", table_name="feed_fetch")
    op.drop_table("feed_fetch")
    op.drop_table("feed_document")
    op.drop_index("ix_dwell_vehicle_started", table_name="dwell")
    op.drop_index("ix_dwell_feed_started", table_name="dwell")
    op.drop_geospatial_index(
        "idx_dwell_geom", table_name="dwell", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("dwell")
    op.drop_table("feed")
    op.drop_index(op.f("ix_raw_blob_last_seen_at"), table_name="raw_blob")
    op.drop_table("raw_blob")
    op.drop_table("operator")
