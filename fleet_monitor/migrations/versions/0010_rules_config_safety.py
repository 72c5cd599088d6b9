"""Rules configuration safety: recorded configuration errors, retired zone versions,
voided rules runs.

Revision ID: 0010
Revises: 0002
Create Date: 2026-12-04 20:00:00

* ``rules_config_error``: a zone or permit the engine skipped (or used after a
  repair), with the reason and when it was seen; shown on ``/admin/rules``.
* ``zone_retired``: zone versions undone by ``fleet-monitor zones retire``,
  moved out of ``zone`` (every reader of ``zone`` stops seeing them) and kept
  here for the record.
* ``rules_run.voided_at``/``voided_reason``: runs dated after the clock (a
  ``rules run --at`` in the future by an older version) are voided, no longer
  blocking the evaluations at the real time.

Branches from 0002 (the rules chain), beside 0004 and 0005; see
``fleet_monitor/models/rules_config.py``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rules_config_error",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("seen_count", sa.Integer(), nullable=False),
        sa.Column("resolved_at", TS, nullable=True),
        sa.CheckConstraint(
            "kind IN ('zone', 'permit', 'zones', 'evaluation', 'rules_run')",
            name=op.f("ck_rules_config_error_kind"),
        ),
        sa.CheckConstraint(
            "severity IN ('error', 'warning')", name=op.f("ck_rules_config_error_severity")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules_config_error")),
    )
    op.create_index(
        "ix_rules_config_error_subject",
        "rules_config_error",
        ["kind", "subject", "version"],
        unique=False,
    )
    op.create_table(
        "zone_retired",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("zone_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("buffer_m", sa.Float(), nullable=True),
        sa.Column("effective_from", TS, nullable=True),
        sa.Column("effective_to", TS, nullable=True),
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
        sa.Column("imported_at", TS, nullable=False),
        sa.Column("retired_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("restored_version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zone_retired")),
    )
    op.create_index("ix_zone_retired_zone_id", "zone_retired", ["zone_id", "version"], unique=False)
    op.add_column("rules_run", sa.Column("voided_at", TS, nullable=True))
    op.add_column("rules_run", sa.Column("voided_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("rules_run", "voided_reason")
    op.drop_column("rules_run", "voided_at")
    op.drop_index("ix_zone_retired_zone_id", table_name="zone_retired")
    op.drop_table("zone_retired")
    op.drop_index("ix_rules_config_error_subject", table_name="rules_config_error")
    op.drop_table("rules_config_error")
