"""Operators' disputes of single vehicles in a notice, their attachments, the city's decision.

* ``notice_dispute``: one per notice item (an operator disputes a vehicle once),
  with its reasons; ``open`` until a supervisor decides it ``upheld`` (the
  operator is right: no penalty, the case is dismissed) or ``rejected`` (the
  penalty stands), with the decision's reasons.
* ``dispute_attachment``: a file sent with a dispute (a trip-log extract, a
  photo), checked for size and type, stored with its SHA-256.

Notices gain (migration 0016) their ``kind`` on the escalation ladder
(``breach``: avis de manquement, ``formal``: mise en demeure,
``penalty_statement``: état des pénalités) and when the operator first read them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from datastore import TS, Base

NOTICE_KINDS: tuple[str, ...] = ("breach", "formal", "penalty_statement")
DISPUTE_STATUSES: tuple[str, ...] = ("open", "upheld", "rejected")


class NoticeDispute(Base):
    __tablename__ = "notice_dispute"
    __table_args__ = (
        UniqueConstraint("notice_item_id"),
        Index("ix_notice_dispute_notice_id", "notice_id"),
        Index("ix_notice_dispute_operator_submitted", "operator_id", "submitted_at"),
        CheckConstraint("status IN ('open', 'upheld', 'rejected')", name="status"),
        CheckConstraint("(status = 'open') = (decided_at IS NULL)", name="decided"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"))
    notice_item_id: Mapped[int] = mapped_column(ForeignKey("notice_item.id", ondelete="CASCADE"))
    violation_id: Mapped[int] = mapped_column(BigInteger)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id", ondelete="RESTRICT"))
    reason: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(TS)
    submitted_by: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    decided_at: Mapped[datetime | None] = mapped_column(TS)
    decided_by: Mapped[str | None] = mapped_column(Text)
    decision_reason: Mapped[str | None] = mapped_column(Text)


class DisputeAttachment(Base):
    __tablename__ = "dispute_attachment"
    __table_args__ = (
        UniqueConstraint("dispute_id", "sha256"),
        CheckConstraint("size_bytes > 0", name="size"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("notice_dispute.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(Text)
    media_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[datetime] = mapped_column(TS)
