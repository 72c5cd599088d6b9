"""Rules: city zones, permits, violations and their timeline, count samples, rules runs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 21:02:18

Independent of 0003 (web accounts): both start from 0001 and
``fleet-monitor db upgrade`` migrates to all heads.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "count_sample",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("permit_version", sa.Integer(), nullable=True),
        sa.Column("deployed", sa.Integer(), nullable=False),
        sa.Column("coverage", sa.Float(), nullable=False),
        sa.Column("in_outage", sa.Boolean(), nullable=False),
        sa.Column("by_form_factor", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("by_zone", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("vehicles", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fetch_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "coverage >= 0 AND coverage <= 1", name=op.f("ck_count_sample_coverage")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_count_sample")),
        sa.UniqueConstraint("operator", "time", name=op.f("uq_count_sample_operator")),
    )
    op.create_index("ix_count_sample_time", "count_sample", ["time"], unique=False)
    op.create_table(
        "permit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effective_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("gps_tolerance_m", sa.Float(), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("parsed", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column(
            "imported_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "effective_to IS NULL OR effective_to > effective_from", name=op.f("ck_permit_period")
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_permit_version")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permit")),
        sa.UniqueConstraint("operator", "version", name=op.f("uq_permit_operator")),
    )
    op.create_table(
        "rules_run",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.Column("vehicles", sa.Integer(), nullable=False),
        sa.Column("findings", sa.Integer(), nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.Column("operators_in_outage", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("permits", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("zones_version", sa.Text(), nullable=True),
        sa.Column("by_rule", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("timings_ms", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules_run")),
    )
    op.create_index("ix_rules_run_as_of", "rules_run", ["as_of"], unique=False)
    op.create_geospatial_table(
        "zone",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("zone_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("buffer_m", sa.Float(), nullable=True),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("effective_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="GEOMETRY",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=False,
        ),
        sa.Column("properties", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column(
            "imported_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "modified_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('operating_area', 'no_parking', 'mandatory_parking', 'pedestrian', "
            "'water', 'tram_tracks', 'district')",
            name=op.f("ck_zone_kind"),
        ),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name=op.f("ck_zone_capacity")),
        sa.CheckConstraint(
            "effective_to IS NULL OR effective_from IS NULL OR effective_to > effective_from",
            name=op.f("ck_zone_period"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zone")),
        sa.UniqueConstraint("zone_id", "version", name=op.f("uq_zone_zone_id")),
    )
    op.create_geospatial_index(
        "idx_zone_geom", "zone", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index("ix_zone_kind_operator", "zone", ["kind", "operator"], unique=False)
    op.create_geospatial_table(
        "violation",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("rule_type", sa.String(length=40), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("vehicle_id", sa.BigInteger(), nullable=True),
        sa.Column("dwell_id", sa.BigInteger(), nullable=True),
        sa.Column("gbfs_id", sa.Text(), nullable=True),
        sa.Column("zone_id", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_reason", sa.String(length=24), nullable=True),
        sa.Column("closed_fetch_id", sa.BigInteger(), nullable=True),
        sa.Column("measured", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("clause", sa.Text(), nullable=False),
        sa.Column("permit_version", sa.Integer(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("coverage", sa.Float(), nullable=True),
        sa.Column("penalty_eur", sa.Float(), nullable=True),
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
        sa.Column("vehicles_beyond", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("evidence", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("first_fetch_id", sa.BigInteger(), nullable=True),
        sa.Column("last_fetch_id", sa.BigInteger(), nullable=True),
        sa.Column("opened_run_id", sa.BigInteger(), nullable=True),
        sa.Column("last_run_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "(state = 'closed') = (closed_at IS NOT NULL)", name=op.f("ck_violation_closed_at")
        ),
        sa.CheckConstraint("state IN ('open', 'held', 'closed')", name=op.f("ck_violation_state")),
        sa.CheckConstraint(
            "status IN ('violation', 'uncertain')", name=op.f("ck_violation_status")
        ),
        sa.CheckConstraint(
            "subject_kind IN ('vehicle', 'zone', 'operator')",
            name=op.f("ck_violation_subject_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["opened_run_id"],
            ["rules_run.id"],
            name=op.f("fk_violation_opened_run_id_rules_run"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_violation")),
    )
    op.create_geospatial_index(
        "idx_violation_geom",
        "violation",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_violation_key", "violation", ["key"], unique=False)
    # every run rewrites the open violations (last seen, measured value): with free
    # space on each page and no indexed column touched, those are HOT updates
    op.execute("ALTER TABLE violation SET (fillfactor = 70)")
    op.create_index("ix_violation_operator_state", "violation", ["operator", "state"], unique=False)
    op.create_index(
        "ix_violation_rule_opened", "violation", ["rule_type", "opened_at"], unique=False
    )
    op.create_index("ix_violation_vehicle_id", "violation", ["vehicle_id"], unique=False)
    op.create_index(
        "uq_violation_key_active",
        "violation",
        ["key"],
        unique=True,
        postgresql_where=sa.text("state <> 'closed'"),
    )
    op.create_table(
        "violation_event",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("violation_id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("measured", sa.Float(), nullable=True),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.CheckConstraint(
            "kind IN ('opened', 'updated', 'held', 'resumed', 'closed')",
            name=op.f("ck_violation_event_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["rules_run.id"],
            name=op.f("fk_violation_event_run_id_rules_run"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["violation_id"],
            ["violation.id"],
            name=op.f("fk_violation_event_violation_id_violation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_violation_event")),
    )
    op.create_index(
        "ix_violation_event_violation_at", "violation_event", ["violation_id", "at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_violation_event_violation_at", table_name="violation_event")
    op.drop_table("violation_event")
    op.drop_index(
        "uq_violation_key_active",
        table_name="violation",
        postgresql_where=sa.text("state <> 'closed'"),
    )
    op.drop_index("ix_violation_vehicle_id", table_name="violation")
    op.drop_index("ix_violation_rule_opened", table_name="violation")
    op.drop_index("ix_violation_operator_state", table_name="violation")
    op.drop_index("ix_violation_key", table_name="violation")
    op.drop_geospatial_index(
        "idx_violation_geom", table_name="violation", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("violation")
    op.drop_index("ix_zone_kind_operator", table_name="zone")
    op.drop_geospatial_index(
        "idx_zone_geom", table_name="zone", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("zone")
    op.drop_index("ix_rules_run_as_of", table_name="rules_run")
    op.drop_table("rules_run")
    op.drop_table("permit")
    op.drop_index("ix_count_sample_time", table_name="count_sample")
    op.drop_table("count_sample")
