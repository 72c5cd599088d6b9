"""Daily compliance reports, archived.

``daily_report``: one row per (local day, subject, version); ``subject`` is an
operator's slug, or ``*`` for the city-wide summary sent to staff. The figures
(``data``) and the generated files (HTML body, PDF, CSV) are kept with the
SHA-256 of the files (``content_hash``): regenerating a day from unchanged data
gives the same hash, and a changed result is stored as a new version (the
version sent stays archived as it was). Deliveries are in ``delivery``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from datastore import TS, Base

CITY_SUBJECT = "*"


class DailyReport(Base):
    __tablename__ = "daily_report"
    __table_args__ = (
        UniqueConstraint("day", "subject", "version"),
        Index("ix_daily_report_operator_day", "operator_id", "day"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    subject: Mapped[str] = mapped_column(String(64))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id", ondelete="RESTRICT"))
    version: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(Text)
    generated_at: Mapped[datetime] = mapped_column(TS)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    html: Mapped[str] = mapped_column(Text)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    csv: Mapped[bytes] = mapped_column(LargeBinary)
    content_hash: Mapped[str] = mapped_column(String(64))
