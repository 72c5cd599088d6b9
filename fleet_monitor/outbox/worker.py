"""Claim due deliveries of one kind, send them, record what happened.

``send_due`` is what the scheduler jobs and ``notices send-pending`` run; the
caller gives a ``compose`` function that builds the message of a claimed
delivery from its notice or report, and optional hooks run in the transaction
that records a success or a final failure (audit, ``notice.sent_at``).

Transport timestamps (the e-mail ``Date``, the webhook signature time) are the
wall clock's; what is recorded uses ``clock`` (the scheduler's, simulated in
the demo).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fleet_monitor.outbox import store
from fleet_monitor.outbox.message import (
    DeliveryError,
    EmailMessageSpec,
    SendReceipt,
    WebhookMessageSpec,
)
from fleet_monitor.outbox.smtp import build_message, message_id_for, send_email
from fleet_monitor.outbox.store import ClaimedDelivery, Subject
from fleet_monitor.outbox.webhook import post_webhook, webhook_secret
from fleet_monitor.settings import MailSettings, NoticeSettings

log = logging.getLogger(__name__)

Compose = Callable[[Session, ClaimedDelivery], EmailMessageSpec | WebhookMessageSpec]
Hook = Callable[[Session, ClaimedDelivery, datetime, str], None]


@dataclass(slots=True)
class SendSummary:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    unknown: int = 0
    swept: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "claimed": self.claimed,
            "sent": self.sent,
            "retrying": self.retrying,
            "failed": self.failed,
            "unknown": self.unknown,
            "swept": self.swept,
            "errors": self.errors,
        }


_counter = iter(range(1, 1 << 62))
_counter_lock = threading.Lock()


def worker_name() -> str:
    """Unique per process and call: host, pid, thread, sequence."""
    with _counter_lock:
        n = next(_counter)
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{n}"


def _send_one(
    d: ClaimedDelivery,
    spec: EmailMessageSpec | WebhookMessageSpec,
    mail: MailSettings,
    notices: NoticeSettings,
    env: Mapping[str, str] | None,
) -> SendReceipt:
    if d.channel == "email":
        if not isinstance(spec, EmailMessageSpec):
            raise DeliveryError("permanent", "internal: no e-mail composed for an e-mail delivery")
        message_id = message_id_for(d.idempotency_key, mail.from_address or "fleet-monitor")
        msg = build_message(mail, d.recipient, spec, message_id=message_id, date=time.time())
        return send_email(mail, d.recipient, msg)
    if not isinstance(spec, WebhookMessageSpec):
        raise DeliveryError("permanent", "internal: no webhook composed for a webhook delivery")
    return post_webhook(
        d.recipient,
        spec,
        key=d.idempotency_key,
        secret=webhook_secret(spec.operator_slug, notices, env),
        settings=notices,
        timestamp=int(time.time()),
    )


def send_due(
    engine: Engine,
    *,
    subject: Subject,
    mail: MailSettings,
    notices: NoticeSettings,
    compose: Compose,
    clock: Callable[[], datetime],
    on_sent: Hook | None = None,
    on_failed: Hook | None = None,
    limit: int = 50,
    worker: str | None = None,
    env: Mapping[str, str] | None = None,
) -> SendSummary:
    """Send every due delivery of ``subject`` (up to ``limit``), at most once each."""
    worker = worker or worker_name()
    summary = SendSummary()
    lease = timedelta(seconds=notices.sending_lease_s)
    with Session(engine) as s, s.begin():
        summary.swept = store.sweep_stale(s, clock())
        channels = ("email", "webhook") if mail.smtp_host else ("webhook",)
        claimed = store.claim(
            s,
            subject=subject,
            now=clock(),
            worker=worker,
            lease=lease,
            limit=limit,
            channels=channels,
        )
    summary.claimed = len(claimed)
    for d in claimed:
        receipt: SendReceipt | None = None
        failure: DeliveryError | None = None
        try:
            with Session(engine) as s, s.begin():  # composing may store (a notice's print)
                spec = compose(s, d)
            receipt = _send_one(d, spec, mail, notices, env)
        except DeliveryError as exc:
            failure = exc
        except Exception as exc:  # a bug must not leave the row 'sending' for a lease
            log.exception("delivery %s: unexpected error", d.id)
            failure = DeliveryError("transient", f"internal error: {type(exc).__name__}: {exc}")
        now = clock()
        with Session(engine) as s, s.begin():
            if receipt is not None:
                store.mark_sent(
                    s,
                    d.id,
                    worker,
                    now=now,
                    code=receipt.code,
                    detail=receipt.detail,
                    message_id=receipt.message_id,
                )
                summary.sent += 1
                if on_sent is not None:
                    on_sent(s, d, now, receipt.detail)
                continue
            assert failure is not None
            status = store.mark_failed(
                s,
                d.id,
                worker,
                now=now,
                kind=failure.kind,
                error=str(failure),
                code=failure.code,
                attempts=d.attempts,
                max_attempts=notices.max_attempts,
                base_s=notices.retry_base_s,
                max_s=notices.retry_max_s,
            )
            summary.errors.append(f"{d.channel} {d.recipient}: {failure}")
            if status == "pending":
                summary.retrying += 1
            else:
                summary.failed += status == "failed"
                summary.unknown += status == "unknown"
                if on_failed is not None:
                    on_failed(s, d, now, str(failure))
        log.info(
            "delivery %s (%s %s): %s",
            d.id,
            d.channel,
            d.recipient,
            "sent" if receipt else f"{failure.kind if failure else '?'}: {failure}",
        )
    return summary
