"""The outbox: messages to operators and staff, recorded before they are sent.

Detection and delivery are separate (as in healthchecks.io): whoever decides
that a message must go out (a notice issued, a daily report generated) only
inserts ``delivery`` rows, in its own transaction; senders then claim due rows
and send them. Guarantees:

* **At most once.** A sender claims rows with ``SELECT ... FOR UPDATE SKIP
  LOCKED`` and marks them ``sending`` in a transaction committed *before* any
  byte leaves; only then does it send, and it records the outcome afterwards.
  Two senders never hold the same row; a row is never claimed again once it
  left ``pending``. A sender that dies mid-send leaves its rows ``sending``;
  when their lease expires they become ``unknown`` (the message may or may not
  have left), which a person resolves (``retry``), never a timer.
* **Retries.** A transient error (SMTP 4xx, connection refused, timeout before
  the message was handed over, HTTP 5xx/429) puts the row back to ``pending``
  with an exponential backoff; after ``max_attempts`` it is ``failed``. A
  permanent error (SMTP 5xx, HTTP 4xx, a refused URL, no webhook secret) is
  ``failed`` at once. Failures are shown on the notice and report pages.
* **Idempotency keys.** ``delivery.idempotency_key`` is unique (one row per
  subject, channel and recipient); it is also the e-mail's ``Message-ID`` seed
  and the webhook's ``X-Fleet-Delivery`` header, so receivers can deduplicate
  a message a person chose to send again.

Modules: :mod:`.message` (what is sent), :mod:`.smtp`, :mod:`.webhook`,
:mod:`.store` (the rows), :mod:`.worker` (claim, send, record).
"""

from fleet_monitor.outbox.message import (
    Attachment,
    DeliveryError,
    EmailMessageSpec,
    WebhookMessageSpec,
)
from fleet_monitor.outbox.store import (
    ClaimedDelivery,
    cancel_deliveries,
    enqueue,
    retry_delivery,
)
from fleet_monitor.outbox.worker import SendSummary, send_due

__all__ = [
    "Attachment",
    "ClaimedDelivery",
    "DeliveryError",
    "EmailMessageSpec",
    "SendSummary",
    "WebhookMessageSpec",
    "cancel_deliveries",
    "enqueue",
    "retry_delivery",
    "send_due",
]
