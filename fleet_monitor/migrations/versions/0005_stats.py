"""Statistics: daily aggregates, declared fleets, retention watermarks.

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-26 09:00:00

Depends on 0003 (``declared_fleet.entered_by_id`` refers to ``user_account``).
See ``fleet_monitor/models/stats.py``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0003",)

INT_ARRAY = postgresql.ARRAY(sa.Integer())
BOOL_ARRAY = postgresql.ARRAY(sa.Boolean())
TS = sa.DateTime(timezone=True)


def _dims(*, zone: bool = True) -> list[sa.Column]:
    cols = [
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("operator_id", sa.Integer(), autoincrement=False, nullable=False),
    ]
    if zone:
        cols += [
            sa.Column("form_factor", sa.String(length=32), nullable=False),
            sa.Column("zone_id", sa.Text(), nullable=False),
        ]
    return cols


def upgrade() -> None:
    op.create_table(
        "stats_coverage_day",
        *_dims(zone=False),
        sa.Column("first_sample", TS, nullable=False),
        sa.Column("step_s", sa.Integer(), nullable=False),
        sa.Column("expected", BOOL_ARRAY, nullable=False),
        sa.Column("observed", BOOL_ARRAY, nullable=False),
        sa.Column("idle_sampled_at", TS, nullable=False),
        sa.Column("idle_expected", sa.Boolean(), nullable=False),
        sa.Column("idle_observed", sa.Boolean(), nullable=False),
        sa.Column("id_policy", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("day", "operator_id", name=op.f("pk_stats_coverage_day")),
    )
    op.create_table(
        "stats_fleet_day",
        *_dims(),
        sa.Column("available", INT_ARRAY, nullable=False),
        sa.Column("reserved", INT_ARRAY, nullable=False),
        sa.Column("disabled", INT_ARRAY, nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "operator_id", "form_factor", "zone_id", name=op.f("pk_stats_fleet_day")
        ),
    )
    op.create_table(
        "stats_idle_day",
        *_dims(),
        sa.Column("vehicles", sa.Integer(), nullable=False),
        sa.Column("disabled", sa.Integer(), nullable=False),
        sa.Column("buckets", INT_ARRAY, nullable=False),
        sa.Column("lower_bound", sa.Integer(), nullable=False),
        sa.Column("p50_h", sa.Float(), nullable=True),
        sa.Column("p90_h", sa.Float(), nullable=True),
        sa.Column("max_h", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint(
            "day", "operator_id", "form_factor", "zone_id", name=op.f("pk_stats_idle_day")
        ),
    )
    op.create_table(
        "stats_use_day",
        *_dims(),
        sa.Column("departures", sa.Integer(), nullable=False),
        sa.Column("moved", sa.Integer(), nullable=False),
        sa.Column("vanished", sa.Integer(), nullable=False),
        sa.Column("excluded_outage", sa.Integer(), nullable=False),
        sa.Column("excluded_disabled", sa.Integer(), nullable=False),
        sa.Column("excluded_unconfirmed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "operator_id", "form_factor", "zone_id", name=op.f("pk_stats_use_day")
        ),
    )
    op.create_table(
        "stats_feed_day",
        *_dims(zone=False),
        sa.Column("feed_type", sa.String(length=40), nullable=False),
        sa.Column("fetches", sa.Integer(), nullable=False),
        sa.Column("successes", sa.Integer(), nullable=False),
        sa.Column("outcomes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("outage_s", sa.Float(), nullable=False),
        sa.Column("outages", sa.Integer(), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("invalid_records", sa.BigInteger(), nullable=False),
        sa.Column("schema_errors", sa.BigInteger(), nullable=False),
        sa.Column("latency_ms_p50", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("day", "operator_id", "feed_type", name=op.f("pk_stats_feed_day")),
    )
    op.create_table(
        "stats_violation_day",
        *_dims(zone=False),
        sa.Column("rule_type", sa.String(length=40), nullable=False),
        sa.Column("zone_id", sa.Text(), nullable=False),
        sa.Column("area_id", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.Column("closed_hours", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day",
            "operator_id",
            "rule_type",
            "zone_id",
            "area_id",
            "status",
            name=op.f("pk_stats_violation_day"),
        ),
    )
    op.create_table(
        "stats_aggregate_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("window_start", TS, nullable=False),
        sa.Column("window_end", TS, nullable=False),
        sa.Column("computed_at", TS, nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("dwells", sa.Integer(), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_stats_aggregate_day")),
    )
    op.create_table(
        "stats_carry",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dwell_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_stats_carry")),
    )
    op.create_table(
        "stats_state",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", TS, nullable=True),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("updated_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_stats_state")),
    )
    op.create_table(
        "declared_fleet",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("form_factor", sa.String(length=32), server_default="*", nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("declared", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("entered_by", sa.Text(), nullable=True),
        sa.Column("entered_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("declared >= 0", name=op.f("ck_declared_fleet_declared")),
        sa.CheckConstraint("period_end > period_start", name=op.f("ck_declared_fleet_period")),
        sa.CheckConstraint(
            "source IN ('ui', 'csv', 'cli', 'api')", name=op.f("ck_declared_fleet_source")
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_id"],
            ["user_account.id"],
            name=op.f("fk_declared_fleet_entered_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operator.id"],
            name=op.f("fk_declared_fleet_operator_id_operator"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_declared_fleet")),
        sa.UniqueConstraint(
            "operator_id",
            "form_factor",
            "period_start",
            "period_end",
            name=op.f("uq_declared_fleet_operator_id"),
        ),
    )
    op.create_index(
        "ix_declared_fleet_operator_period",
        "declared_fleet",
        ["operator_id", "period_start"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_declared_fleet_operator_period", table_name="declared_fleet")
    for table in (
        "declared_fleet",
        "stats_state",
        "stats_carry",
        "stats_aggregate_day",
        "stats_violation_day",
        "stats_feed_day",
        "stats_use_day",
        "stats_idle_day",
        "stats_fleet_day",
        "stats_coverage_day",
    ):
        op.drop_table(table)
