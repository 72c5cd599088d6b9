"""Residents' reports of badly parked vehicles (issue 15), from the public page and
Open311 GeoReport v2.

Revision ID: 0021
Revises: 0011
Create Date: 2026-12-04 23:45:00

``resident_report``: one row per report: where (a point: phone position, tap on
the map or Open311 lat/long), what (a service code, a description), an optional
re-encoded photo and operator, an optional private contact (never shown to
operators, never in an export), the vehicles matched at the time of the report
(nearest first) and the officers' handling (open, closed).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0021"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_geospatial_table(
        "resident_report",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.Column("position_source", sa.String(length=16), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("contact_name", sa.Text(), nullable=True),
        sa.Column("contact_email", sa.Text(), nullable=True),
        sa.Column("contact_phone", sa.Text(), nullable=True),
        sa.Column("photo", sa.LargeBinary(), nullable=True),
        sa.Column("photo_type", sa.String(length=32), nullable=True),
        sa.Column(
            "matched",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("nearest_vehicle_id", sa.BigInteger(), nullable=True),
        sa.Column("nearest_distance_m", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.CheckConstraint("source IN ('web', 'open311')", name=op.f("ck_resident_report_source")),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_resident_report_status")),
        sa.CheckConstraint(
            "lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180",
            name=op.f("ck_resident_report_position"),
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operator.id"],
            name=op.f("fk_resident_report_operator_id_operator"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident_report")),
        sa.UniqueConstraint("reference", name=op.f("uq_resident_report_reference")),
    )
    op.create_geospatial_index(
        "idx_resident_report_geom",
        "resident_report",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_resident_report_created_at", "resident_report", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_resident_report_created_at", table_name="resident_report")
    op.drop_geospatial_index(
        "idx_resident_report_geom", table_name="resident_report", postgresql_using="gist"
    )
    op.drop_geospatial_table("resident_report")
