"""Statistics: daily aggregates computed on a schedule, and the fleet operators declare.

One row per *local* day (the city's time zone) and dimension combination.
Dimensions use ``0`` (operator) and ``'*'`` (form factor, zone) for "all", so
that a figure over all operators or all zones is read as it was computed (a
maximum or a percentile cannot be summed from its parts):

* ``stats_coverage_day``: per operator (0 = all), the day's sample grid
  (``first_sample`` + i x ``step_s``) with, per sample, whether it was expected
  (the operator's vehicle feed existed) and observed (fetched successfully
  within ``stats.observation_max_age_s`` and not in outage); the idle-time
  sample of the day; how the operator publishes ids (persistent / rotating).
* ``stats_fleet_day``: vehicles listed per sample and state (arrays aligned on
  the coverage grid); a missing row means zero vehicles of that combination.
* ``stats_idle_day``: the daily idle sample (03:30 local): vehicles by time
  parked (buckets <=1, 1-3, 3-7, 7-14, >14 days), percentiles.
* ``stats_use_day``: departures inferred from the feeds, and the events excluded.
* ``stats_feed_day``: fetches, outcomes, outage time and data quality per feed.
* ``stats_violation_day``: violations opened and closed, by rule, zone, area.
* ``stats_parked_cell_day``: at the daily idle sample, vehicles deployed per
  operator and H3 cell (resolution 9, the cell's 64-bit index): the parking
  density map of the negotiation pack (``stats.parked_cells``).
* ``stats_aggregate_day``: which days are aggregated, when, and how long it took.
* ``stats_carry``: the stays that continue past the end of the latest aggregated days.
* ``stats_state``: watermarks of the retention jobs.
* ``declared_fleet``: the fleet an operator declares for a period (UI or CSV).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from datastore import TS, Base

ALL = "*"  # form factor / zone: every one
ALL_OPERATORS = 0


def _day_pk() -> Mapped[date]:
    return mapped_column(Date, primary_key=True)


class StatsCoverageDay(Base):
    __tablename__ = "stats_coverage_day"
    day: Mapped[date] = _day_pk()
    operator_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    first_sample: Mapped[datetime] = mapped_column(TS)
    step_s: Mapped[int] = mapped_column(Integer)
    expected: Mapped[list[bool]] = mapped_column(ARRAY(Boolean))
    observed: Mapped[list[bool]] = mapped_column(ARRAY(Boolean))
    idle_sampled_at: Mapped[datetime] = mapped_column(TS)
    idle_expected: Mapped[bool] = mapped_column(Boolean)
    idle_observed: Mapped[bool] = mapped_column(Boolean)
    id_policy: Mapped[str | None] = mapped_column(String(16))  # persistent | rotating


class StatsFleetDay(Base):
    __tablename__ = "stats_fleet_day"
    day: Mapped[date] = _day_pk()
    operator_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    form_factor: Mapped[str] = mapped_column(String(32), primary_key=True)
    zone_id: Mapped[str] = mapped_column(Text, primary_key=True)
    available: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    reserved: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    disabled: Mapped[list[int]] = mapped_column(ARRAY(Integer))


class StatsIdleDay(Base):
    __tablename__ = "stats_idle_day"
    day: Mapped[date] = _day_pk()
    operator_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    form_factor: Mapped[str] = mapped_column(String(32), primary_key=True)
    zone_id: Mapped[str] = mapped_column(Text, primary_key=True)
    vehicles: Mapped[int] = mapped_column(Integer)
    disabled: Mapped[int] = mapped_column(Integer)
    buckets: Mapped[list[int]] = mapped_column(ARRAY(Integer))  # <=1, 1-3, 3-7, 7-14, >14 d
    lower_bound: Mapped[int] = mapped_column(Integer)  # parked since before our first look
    p50_h: Mapped[float | None] = mapped_column(Float)
    p90_h: Mapped[float | None] = mapped_column(Float)
    max_h: Mapped[float | None] = mapped_column(Float)


class StatsUseDay(Base):
    __tablename__ = "stats_use_day"
    day: Mapped[date] = _day_pk()
    operator_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    form_factor: Mapped[str] = mapped_column(String(32), primary_key=True)
    zone_id: Mapped[str] = mapped_column(Text, primary_key=True)
    departures: Mapped[int] = mapped_column(Integer)
    moved: Mapped[int] = mapped_column(Integer)
    vanished: Mapped[int] = mapped_column(Integer)
    excluded_outage: Mapped[int] = mapped_column(Integer)
    excluded_disabled: Mapped[int] = mapped_column(Integer)
    excluded_unconfirmed: Mapped[int] = mapped_column(Integer)


class StatsFeedDay(Base):
    __tablename__ = "stats_feed_day"
    day: Mapped[date] = _day_pk()
    operator_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    feed_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    fetches: Mapped[int] = mapped_column(Integer)
    successes: Mapped[int] = mapped_column(Integer)
    outcomes: Mapped[dict[str, int]] = mapped_column(JSONB)
    outage_s: Mapped[float] = mapped_column(Float)
    outages: Mapped[int] = mapped_column(Integer)
    records: Mapped[int] = mapped_column(BigInteger)
    invalid_records: Mapped[int] = mapped_column(BigInteger)
    schema_errors: Mapped[int] = mapped_column(BigInteger)
    latency_ms_p50: Mapped[float | None] = mapped_column(Float)


class StatsViolationDay(Base):
    __tablename__ = "stats_violation_day"
    day: Mapped[date] = _day_pk()
    operator_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rule_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    zone_id: Mapped[str] = mapped_column(Text, primary_key=True)  # the rule's zone, '' none
    area_id: Mapped[str] = mapped_column(Text, primary_key=True)  # '*' or a stats zone
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    opened: Mapped[int] = mapped_column(Integer)
    closed: Mapped[int] = mapped_column(Integer)
    closed_hours: Mapped[float] = mapped_column(Float)  # summed durations of those closed


class StatsParkedCellDay(Base):
    __tablename__ = "stats_parked_cell_day"
    day: Mapped[date] = _day_pk()
    operator_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    cell: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    vehicles: Mapped[int] = mapped_column(Integer)


class StatsAggregateDay(Base):
    __tablename__ = "stats_aggregate_day"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    window_start: Mapped[datetime] = mapped_column(TS)
    window_end: Mapped[datetime] = mapped_column(TS)
    computed_at: Mapped[datetime] = mapped_column(TS)
    duration_ms: Mapped[float] = mapped_column(Float)
    dwells: Mapped[int] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)


class StatsCarry(Base):
    """The stays still there at the end of an aggregated day: where the next day starts
    (found by primary key, so that no index on ``dwell.ended_at`` is needed and the
    ingest keeps closing a stay a HOT update). Only the last days are kept."""

    __tablename__ = "stats_carry"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    dwell_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))


class StatsState(Base):
    __tablename__ = "stats_state"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[datetime | None] = mapped_column(TS)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    updated_at: Mapped[datetime] = mapped_column(TS, server_default=text("now()"))


class DeclaredFleet(Base):
    """The fleet an operator declares for a period (``period_end`` exclusive)."""

    __tablename__ = "declared_fleet"
    __table_args__ = (
        UniqueConstraint("operator_id", "form_factor", "period_start", "period_end"),
        CheckConstraint("declared >= 0", name="declared"),
        CheckConstraint("period_end > period_start", name="period"),
        CheckConstraint("source IN ('ui', 'csv', 'cli', 'api')", name="source"),
        Index("ix_declared_fleet_operator_period", "operator_id", "period_start"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"))
    form_factor: Mapped[str] = mapped_column(String(32), server_default=ALL)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    declared: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(Text, server_default="")
    entered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    entered_by: Mapped[str | None] = mapped_column(Text)
    entered_at: Mapped[datetime] = mapped_column(TS, server_default=text("now()"))
