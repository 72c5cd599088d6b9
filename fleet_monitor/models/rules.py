"""City zones, permits, violations and what the rules engine recorded.

* ``zone``: one row per *version* of a city zone. ``zone_id`` is stable across
  versions (``no_parking:paquier``); a new version closes the previous one
  (``effective_to``). ``operator`` restricts a zone to one operator (an
  operator's own geofencing zones); NULL = every operator. Geometry in WGS 84
  (SRID 4326) with a GiST index; tram tracks may be lines.
* ``permit``: one row per version of an operator's permit, with the TOML text
  it was imported from (the source of truth, re-parsed by the rules layer) and
  its parsed form as JSON (for display and SQL).
* ``violation``: one row per episode of a breach. ``key`` is the rules
  engine's stable finding key; at most one row per key is not closed (unique
  partial index), so re-evaluating the same data never duplicates a violation.
  ``state`` is the lifecycle (open, held while the operator's feed is in
  outage, closed); ``status`` says whether it is a ``violation`` or only
  ``uncertain`` (within the GPS tolerance of a border: shown, never billed).
* ``violation_event``: the timeline of each violation.
* ``count_sample``: deployed vehicles per operator on the permit's sampling
  grid, with data coverage and the counting method (the base of cap rules).
* ``rules_run``: one row per evaluation (as-of time, duration, counts).

Operators are named by slug (as in the permits) rather than by foreign key:
a permit or zone may be imported before the operator's feed is registered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from datastore import TS, Base
from rules.inputs import ZONE_KINDS

#: the zone kinds of the rules engine (``rules.inputs.ZONE_KINDS``); a new kind needs a
#: migration that widens the constraint the same way
ZONE_KINDS_SQL = "kind IN (" + ", ".join(f"'{k}'" for k in ZONE_KINDS) + ")"
VIOLATION_STATES: tuple[str, ...] = ("open", "held", "closed")
EVENT_KINDS: tuple[str, ...] = ("opened", "updated", "held", "resumed", "closed")
CLOSED_REASONS: tuple[str, ...] = (
    "resolved",  # the rule is no longer breached (count back under the cap, feed back...)
    "vehicle_moved",  # the vehicle moved away
    "state_changed",  # the vehicle changed state in place (rented, repaired, disabled)
    "vehicle_gone",  # the vehicle is no longer listed (collected, rented)
    "new_episode",  # the same subject breached again with another start: a new row
    "no_permit",  # no permit in force for the operator any more
    "voided",  # opened by a run dated in the future (voided; see violations/recovery.py)
)


class CityZone(Base):
    """One version of a city zone (or of an operator's zone used as a city zone)."""

    __tablename__ = "zone"
    __table_args__ = (
        UniqueConstraint("zone_id", "version"),
        CheckConstraint(ZONE_KINDS_SQL, name="kind"),
        CheckConstraint(
            "effective_to IS NULL OR effective_from IS NULL OR effective_to > effective_from",
            name="period",
        ),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity"),
        Index("ix_zone_kind_operator", "kind", "operator"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    zone_id: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(Text, default="")
    operator: Mapped[str | None] = mapped_column(String(64))
    capacity: Mapped[int | None] = mapped_column(Integer)
    buffer_m: Mapped[float | None] = mapped_column(Float)
    effective_from: Mapped[datetime | None] = mapped_column(TS)
    effective_to: Mapped[datetime | None] = mapped_column(TS)
    geom = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=True), nullable=False)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(TS, server_default=text("now()"))
    modified_at: Mapped[datetime] = mapped_column(TS, server_default=text("now()"))


class PermitVersion(Base):
    """One version of an operator's permit, as imported from TOML."""

    __tablename__ = "permit"
    __table_args__ = (
        UniqueConstraint("operator", "version"),
        CheckConstraint("version >= 1", name="version"),
        CheckConstraint("effective_to IS NULL OR effective_to > effective_from", name="period"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text, default="")
    effective_from: Mapped[datetime] = mapped_column(TS)
    effective_to: Mapped[datetime | None] = mapped_column(TS)
    gps_tolerance_m: Mapped[float] = mapped_column(Float)
    source_text: Mapped[str] = mapped_column(Text)
    parsed: Mapped[dict[str, Any]] = mapped_column(JSONB)
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(TS, server_default=text("now()"))


class RulesRun(Base):
    """One evaluation of every rule at one instant (``as_of``)."""

    __tablename__ = "rules_run"
    __table_args__ = (Index("ix_rules_run_as_of", "as_of"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    trigger: Mapped[str] = mapped_column(String(16))  # scheduler | cli | demo | test
    as_of: Mapped[datetime] = mapped_column(TS)
    started_at: Mapped[datetime] = mapped_column(TS, server_default=text("clock_timestamp()"))
    duration_ms: Mapped[float | None] = mapped_column(Float)
    vehicles: Mapped[int] = mapped_column(Integer, default=0)
    findings: Mapped[int] = mapped_column(Integer, default=0)
    opened: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    held: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[int] = mapped_column(Integer, default=0)
    operators_in_outage: Mapped[list[str]] = mapped_column(JSONB, default=list)
    permits: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict)
    zones_version: Mapped[str | None] = mapped_column(Text)
    by_rule: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    timings_ms: Mapped[dict[str, float]] = mapped_column(JSONB, default=dict)
    # a run dated after the clock (a bad --at) is voided: it no longer bounds later runs
    voided_at: Mapped[datetime | None] = mapped_column(TS)
    voided_reason: Mapped[str | None] = mapped_column(Text)


class Violation(Base):
    """One episode of a rule breach, from first detection to resolution."""

    __tablename__ = "violation"
    __table_args__ = (
        Index(
            "uq_violation_key_active",
            "key",
            unique=True,
            postgresql_where=text("state <> 'closed'"),
        ),
        Index("ix_violation_key", "key"),
        Index("ix_violation_operator_state", "operator", "state"),
        Index("ix_violation_rule_opened", "rule_type", "opened_at"),
        Index("ix_violation_vehicle_id", "vehicle_id"),
        CheckConstraint("state IN ('open', 'held', 'closed')", name="state"),
        CheckConstraint("status IN ('violation', 'uncertain')", name="status"),
        CheckConstraint("subject_kind IN ('vehicle', 'zone', 'operator')", name="subject_kind"),
        CheckConstraint("(state = 'closed') = (closed_at IS NOT NULL)", name="closed_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(Text)
    rule_type: Mapped[str] = mapped_column(String(40))
    operator: Mapped[str] = mapped_column(String(64))
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(Text)
    vehicle_id: Mapped[int | None] = mapped_column(BigInteger)  # physical vehicle
    dwell_id: Mapped[int | None] = mapped_column(BigInteger)  # the stay it was found in
    gbfs_id: Mapped[str | None] = mapped_column(Text)  # published id when last seen
    zone_id: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(TS)  # first detection
    since: Mapped[datetime | None] = mapped_column(TS)  # start of the episode
    last_seen_at: Mapped[datetime] = mapped_column(TS)  # last evaluation that found it
    closed_at: Mapped[datetime | None] = mapped_column(TS)
    closed_reason: Mapped[str | None] = mapped_column(String(24))
    closed_fetch_id: Mapped[int | None] = mapped_column(BigInteger)  # resolving observation
    measured: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16))
    threshold: Mapped[float | None] = mapped_column(Float)
    clause: Mapped[str] = mapped_column(Text)
    permit_version: Mapped[int | None] = mapped_column(Integer)
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    coverage: Mapped[float | None] = mapped_column(Float)
    penalty_eur: Mapped[float | None] = mapped_column(Float)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=True)
    vehicles_beyond: Mapped[list[str]] = mapped_column(JSONB, default=list)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    first_fetch_id: Mapped[int | None] = mapped_column(BigInteger)
    last_fetch_id: Mapped[int | None] = mapped_column(BigInteger)
    opened_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("rules_run.id", ondelete="SET NULL")
    )
    # no foreign key: rewritten by every run for every open violation (a key check each)
    last_run_id: Mapped[int | None] = mapped_column(BigInteger)


class ViolationEvent(Base):
    """Timeline of a violation: opened, updated (value or status changed), held,
    resumed (after an outage), closed."""

    __tablename__ = "violation_event"
    __table_args__ = (
        Index("ix_violation_event_violation_at", "violation_id", "at"),
        CheckConstraint("kind IN ('opened', 'updated', 'held', 'resumed', 'closed')", name="kind"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    violation_id: Mapped[int] = mapped_column(ForeignKey("violation.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("rules_run.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(TS)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(16))
    measured: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class CountSample(Base):
    """Deployed vehicles of one operator at one sample time, with its coverage."""

    __tablename__ = "count_sample"
    __table_args__ = (
        UniqueConstraint("operator", "time"),
        Index("ix_count_sample_time", "time"),
        CheckConstraint("coverage >= 0 AND coverage <= 1", name="coverage"),
        CheckConstraint(
            "positionless >= 0 AND positionless <= deployed", name="positionless_within_deployed"
        ),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    time: Mapped[datetime] = mapped_column(TS)
    operator: Mapped[str] = mapped_column(String(64))
    permit_version: Mapped[int | None] = mapped_column(Integer)
    deployed: Mapped[int] = mapped_column(Integer)
    coverage: Mapped[float] = mapped_column(Float)
    in_outage: Mapped[bool] = mapped_column(Boolean, default=False)
    by_form_factor: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict)
    by_zone: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict)
    method: Mapped[str] = mapped_column(Text)
    # for a sample above one of the permit's caps, the vehicles beyond the caps (the
    # most recently deployed): [[key, form_factor, [zones], deployed since], ...]
    vehicles: Mapped[list[Any] | None] = mapped_column(JSONB)
    observed_at: Mapped[datetime | None] = mapped_column(TS)  # data the count rests on
    fetch_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(TS, server_default=text("now()"))
    # of ``deployed``, the vehicles listed without a position (migration 0019)
    positionless: Mapped[int] = mapped_column(Integer, server_default=text("0"))
