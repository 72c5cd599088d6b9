"""Case files, notices to operators, their deliveries, penalties, operator contacts.

* ``operator_contact``: where an operator receives notices and reports (an
  e-mail address or a webhook URL), managed from the UI and the CLI.
* ``operator_api_token``: an operator's API tokens (only their SHA-256 is kept)
  to acknowledge or dispute notices from its own systems.
* ``case_file``: the officers' workflow status of a violation (no row: ``open``);
  ``dismissed`` cases are never noticed nor billed. ``case_note``: officers'
  comments, on-site confirmations and status changes.
* ``notice``: one formal notice to one operator, with a unique reference
  (``ANN-2026-000123``), the deadline from its permit, the document sent (JSON
  payload and PDF, with its hash), the operator's response and, after the
  deadline, the outcome. ``notice_item``: one violation in a notice; a violation
  is in at most one notice not cancelled (unique partial index).
* ``penalty``: one line per overdue item, with the permit's amount.
* ``delivery``: one message to one recipient over one channel, for a notice or a
  daily report (an outbox): claimed by one sender at a time, sent at most once.
* ``notice_counter``: the per-year sequence behind notice references.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from datastore import TS, Base

CHANNELS: tuple[str, ...] = ("email", "webhook")
CASE_STATUSES: tuple[str, ...] = ("open", "confirmed", "resolved", "dismissed")
NOTICE_STATUSES: tuple[str, ...] = ("draft", "issued", "cancelled", "closed")
RESPONSES: tuple[str, ...] = ("acknowledged", "disputed")
ITEM_OUTCOMES: tuple[str, ...] = ("remedied", "overdue", "undetermined")
NOTICE_OUTCOMES: tuple[str, ...] = ("remedied", "overdue", "partial", "undetermined")
DELIVERY_STATUSES: tuple[str, ...] = (
    "pending",
    "sending",
    "sent",
    "failed",
    "unknown",
    "cancelled",
)


class OperatorContact(Base):
    __tablename__ = "operator_contact"
    __table_args__ = (
        UniqueConstraint("operator_id", "channel", "address"),
        CheckConstraint("channel IN ('email', 'webhook')", name="channel"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text, server_default="")
    notices: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    reports: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(TS, server_default=text("now()"))
    created_by: Mapped[str | None] = mapped_column(Text)


class OperatorApiToken(Base):
    __tablename__ = "operator_api_token"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator_id: Mapped[int] = mapped_column(
        ForeignKey("operator.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(TS, server_default=text("now()"))
    created_by: Mapped[str | None] = mapped_column(Text)
    last_used_at: Mapped[datetime | None] = mapped_column(TS)
    revoked_at: Mapped[datetime | None] = mapped_column(TS)
    expires_at: Mapped[datetime] = mapped_column(TS)  # added by migration 0011


class CaseFile(Base):
    __tablename__ = "case_file"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'confirmed', 'resolved', 'dismissed')", name="status"),
    )
    violation_id: Mapped[int] = mapped_column(
        ForeignKey("violation.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(TS)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    updated_by: Mapped[str | None] = mapped_column(Text)


class CaseNote(Base):
    __tablename__ = "case_note"
    __table_args__ = (
        Index("ix_case_note_violation_at", "violation_id", "at"),
        CheckConstraint("kind IN ('comment', 'on_site', 'status')", name="kind"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    violation_id: Mapped[int] = mapped_column(ForeignKey("violation.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(TS)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    author: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text, server_default="")
    present: Mapped[bool | None] = mapped_column(Boolean)  # on_site: vehicle found there?
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))


class NoticeCounter(Base):
    __tablename__ = "notice_counter"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(Integer)


class Notice(Base):
    __tablename__ = "notice"
    __table_args__ = (
        UniqueConstraint("operator_id", "batch_key"),
        Index("ix_notice_operator_created", "operator_id", "created_at"),
        Index(
            "ix_notice_deadline_open",
            "deadline_at",
            postgresql_where=text("status = 'issued'"),
        ),
        CheckConstraint("status IN ('draft', 'issued', 'cancelled', 'closed')", name="status"),
        CheckConstraint(
            "response IS NULL OR response IN ('acknowledged', 'disputed')", name="response"
        ),
        CheckConstraint(
            "outcome IS NULL OR outcome IN ('remedied', 'overdue', 'partial', 'undetermined')",
            name="outcome",
        ),
        CheckConstraint("status = 'draft' OR issued_at IS NOT NULL", name="issued"),
        CheckConstraint("kind IN ('breach', 'formal', 'penalty_statement')", name="kind"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(32), unique=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id", ondelete="RESTRICT"))
    operator_slug: Mapped[str] = mapped_column(String(64))
    urgent: Mapped[bool] = mapped_column(Boolean)
    batch_key: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    permit_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(TS)
    created_by: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime | None] = mapped_column(TS)
    issued_by: Mapped[str | None] = mapped_column(Text)
    deadline_at: Mapped[datetime | None] = mapped_column(TS)
    sent_at: Mapped[datetime | None] = mapped_column(TS)  # first delivery that succeeded
    cancelled_at: Mapped[datetime | None] = mapped_column(TS)
    cancelled_by: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    response: Mapped[str | None] = mapped_column(String(16))
    responded_at: Mapped[datetime | None] = mapped_column(TS)
    responded_by: Mapped[str | None] = mapped_column(Text)
    response_note: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(16))
    checked_at: Mapped[datetime | None] = mapped_column(TS)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    # migration 0016: the act on the escalation ladder (models.disputes.NOTICE_KINDS),
    # why, and when the operator first opened it (signed link, account or API)
    kind: Mapped[str] = mapped_column(String(24), server_default=text("'breach'"))
    escalation: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    read_at: Mapped[datetime | None] = mapped_column(TS)
    read_by: Mapped[str | None] = mapped_column(Text)


class NoticeItem(Base):
    __tablename__ = "notice_item"
    __table_args__ = (
        Index(
            "uq_notice_item_violation_active",
            "violation_id",
            unique=True,
            postgresql_where=text("active"),
        ),
        Index("ix_notice_item_notice_id", "notice_id"),
        CheckConstraint(
            "outcome IS NULL OR outcome IN ('remedied', 'overdue', 'undetermined')",
            name="outcome",
        ),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"))
    violation_id: Mapped[int] = mapped_column(ForeignKey("violation.id", ondelete="RESTRICT"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    rule_type: Mapped[str] = mapped_column(String(40))
    clause: Mapped[str] = mapped_column(Text)
    vehicle_id: Mapped[int | None] = mapped_column(BigInteger)
    gbfs_id: Mapped[str | None] = mapped_column(Text)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    since: Mapped[datetime | None] = mapped_column(TS)
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    penalty_eur: Mapped[float | None] = mapped_column(Float)  # the permit's, if overdue
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_reason: Mapped[str | None] = mapped_column(String(24))
    checked_at: Mapped[datetime | None] = mapped_column(TS)
    distance_m: Mapped[float | None] = mapped_column(Float)
    checked_fetch_id: Mapped[int | None] = mapped_column(BigInteger)


class Penalty(Base):
    __tablename__ = "penalty"
    __table_args__ = (
        Index("ix_penalty_operator_created", "operator_id", "created_at"),
        CheckConstraint("status IN ('due', 'void')", name="status"),
        CheckConstraint("amount_eur >= 0", name="amount"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"))
    notice_item_id: Mapped[int] = mapped_column(
        ForeignKey("notice_item.id", ondelete="CASCADE"), unique=True
    )
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id", ondelete="RESTRICT"))
    violation_id: Mapped[int] = mapped_column(BigInteger)
    rule_type: Mapped[str] = mapped_column(String(40))
    clause: Mapped[str] = mapped_column(Text)
    amount_eur: Mapped[Any] = mapped_column(Numeric(10, 2))
    status: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(TS)


class Delivery(Base):
    """One message to one recipient: the outbox shared by notices and reports."""

    __tablename__ = "delivery"
    __table_args__ = (
        Index(
            "ix_delivery_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_delivery_notice_id", "notice_id"),
        Index("ix_delivery_report_id", "report_id"),
        CheckConstraint("channel IN ('email', 'webhook')", name="channel"),
        CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'cancelled')",
            name="status",
        ),
        CheckConstraint("(notice_id IS NULL) <> (report_id IS NULL)", name="one_subject"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("daily_report.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("operator_contact.id", ondelete="SET NULL")
    )
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(Text, unique=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(TS)
    last_attempt_at: Mapped[datetime | None] = mapped_column(TS)
    claimed_by: Mapped[str | None] = mapped_column(Text)
    claimed_until: Mapped[datetime | None] = mapped_column(TS)
    sent_at: Mapped[datetime | None] = mapped_column(TS)
    last_error: Mapped[str | None] = mapped_column(Text)
    response_code: Mapped[int | None] = mapped_column(Integer)
    message_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TS)
