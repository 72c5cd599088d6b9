"""Residents' reports (issue 15; migration 0021): see fleet_monitor.resident_reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from datastore import POINT, TS, Base


class ResidentReport(Base):
    """A resident's report: where, what, the vehicles matched then, its handling.
    The contact and the photo are for the city's staff only."""

    __tablename__ = "resident_report"
    __table_args__ = (
        CheckConstraint("source IN ('web', 'open311')", name="source"),
        CheckConstraint("status IN ('open', 'closed')", name="status"),
        CheckConstraint("lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180", name="position"),
        Index("idx_resident_report_geom", "geom", postgresql_using="gist"),
        Index("ix_resident_report_created_at", "created_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(TS, server_default=text("now()"))
    source: Mapped[str] = mapped_column(String(16))
    service_code: Mapped[str] = mapped_column(String(64))
    position_source: Mapped[str] = mapped_column(String(16))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    geom: Mapped[Any] = mapped_column(POINT)
    description: Mapped[str | None] = mapped_column(Text)
    operator_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("operator.id", ondelete="SET NULL")
    )
    contact_name: Mapped[str | None] = mapped_column(Text)
    contact_email: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(Text)
    photo: Mapped[bytes | None] = mapped_column(LargeBinary)
    photo_type: Mapped[str | None] = mapped_column(String(32))
    matched: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    nearest_vehicle_id: Mapped[int | None] = mapped_column(BigInteger)
    nearest_distance_m: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), server_default="open")
    closed_at: Mapped[datetime | None] = mapped_column(TS)
    # migration 0022: the tombstone left by the retention policy
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    private_erased_at: Mapped[datetime | None] = mapped_column(TS)
    private_erased_reason: Mapped[str | None] = mapped_column(Text)
