"""What the outbox sends, and how a failed attempt is classified."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FailureKind = Literal["transient", "permanent", "unknown"]


class DeliveryError(Exception):
    """A delivery attempt that did not succeed.

    ``kind``: ``transient`` (nothing was delivered; worth retrying later),
    ``permanent`` (nothing was delivered; retrying will not help), ``unknown``
    (the message may have been delivered: never retried automatically).
    """

    def __init__(self, kind: FailureKind, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind
        self.code = code


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str  # "application/pdf", "text/csv"
    data: bytes


@dataclass(frozen=True, slots=True)
class EmailMessageSpec:
    subject: str
    html: str
    text: str
    attachments: tuple[Attachment, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class WebhookMessageSpec:
    """A JSON body posted to the recipient URL, signed with the operator's secret."""

    event: str
    body: bytes
    operator_slug: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SendReceipt:
    """What the receiving server answered."""

    code: int | None
    detail: str
    message_id: str | None = None
