"""Photos of on-site checks (migration 0020): the server's re-encoding, its hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from datastore import TS, Base


class CasePhoto(Base):
    __tablename__ = "case_photo"
    __table_args__ = (
        Index("ix_case_photo_violation", "violation_id"),
        UniqueConstraint("violation_id", "sha256", name="uq_case_photo_violation_sha"),
        # migration 0022: an erased photo keeps its row (hash, metadata): a tombstone
        CheckConstraint("(data IS NULL) = (erased_at IS NOT NULL)", name="erased"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    violation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("violation.id", ondelete="CASCADE")
    )
    note_id: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    #: None once erased by the retention policy (the row stays: a tombstone)
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    uploaded_at: Mapped[datetime] = mapped_column(TS)
    uploaded_by: Mapped[str] = mapped_column(Text)
    erased_at: Mapped[datetime | None] = mapped_column(TS)
    erased_reason: Mapped[str | None] = mapped_column(Text)
