"""What keeps a bad configuration from halting the rules, on record.

* ``rules_config_error``: one row per problem met preparing the rules' inputs
  (a zone or permit skipped, or used after a repair; zone rules left out of an
  evaluation; rules runs voided because they were dated in the future), from
  the first to the last evaluation that met it; ``resolved_at`` is set when an
  evaluation no longer meets it (the zone retired or fixed, the permit
  replaced). Listed on ``/admin/rules``.
* ``zone_retired``: zone versions undone by ``fleet-monitor zones retire``,
  moved out of ``zone`` with their original row id, and the version that
  applies again in their place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, CheckConstraint, Float, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from datastore import TS, Base

CONFIG_ERROR_KINDS: tuple[str, ...] = ("zone", "permit", "zones", "evaluation", "rules_run")


class RulesConfigError(Base):
    """A problem with the rules' configuration, as the engine met it."""

    __tablename__ = "rules_config_error"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('zone', 'permit', 'zones', 'evaluation', 'rules_run')", name="kind"
        ),
        CheckConstraint("severity IN ('error', 'warning')", name="severity"),
        Index("ix_rules_config_error_subject", "kind", "subject", "version"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(Text)  # zone id, operator slug, run ids
    version: Mapped[int | None] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(8))  # error: skipped; warning: used
    reason: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(TS)
    last_seen_at: Mapped[datetime] = mapped_column(TS)
    seen_count: Mapped[int] = mapped_column(Integer, default=1)
    resolved_at: Mapped[datetime | None] = mapped_column(TS)


class RetiredZone(Base):
    """A zone version undone by ``zones retire`` (see the module docstring)."""

    __tablename__ = "zone_retired"
    __table_args__ = (Index("ix_zone_retired_zone_id", "zone_id", "version"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    zone_id: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(Text)
    operator: Mapped[str | None] = mapped_column(String(64))
    capacity: Mapped[int | None] = mapped_column(Integer)
    buffer_m: Mapped[float | None] = mapped_column(Float)
    effective_from: Mapped[datetime | None] = mapped_column(TS)
    effective_to: Mapped[datetime | None] = mapped_column(TS)
    geom = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB)
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(TS)
    retired_at: Mapped[datetime] = mapped_column(TS, server_default=text("now()"))
    reason: Mapped[str] = mapped_column(Text)
    restored_version: Mapped[int | None] = mapped_column(Integer)
