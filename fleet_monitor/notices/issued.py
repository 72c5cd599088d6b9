"""The notices issued in a window and their responses: one query, two readers.

The daily compliance report and the statistics count notices and response times
with :func:`issued_notices` (definitions: ``history.definitions``): a notice counts
for the window of its ``issued_at`` unless it is a draft or was cancelled; its
response time is ``responded_at - coalesce(sent_at, issued_at)``, in seconds; the
median is the nearest-rank median.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fleet_monitor.history.definitions import nearest_rank

ISSUED_SQL = """
SELECT operator_id, response,
  extract(epoch FROM responded_at - coalesce(sent_at, issued_at))::float8,
  outcome, deadline_at, urgent
FROM notice
WHERE status NOT IN ('draft', 'cancelled')
  AND issued_at >= %(s)s AND issued_at < %(e)s AND operator_id = ANY(%(ops)s)
ORDER BY operator_id, issued_at, id
"""


@dataclass(frozen=True, slots=True)
class IssuedNotice:
    operator_id: int
    response: str | None
    response_s: float | None  # None: no response yet
    outcome: str | None
    deadline_at: datetime | None
    urgent: bool


def issued_notices(
    cur: Any, operator_ids: Sequence[int], start: datetime, end: datetime
) -> list[IssuedNotice]:
    """Notices issued in ``[start, end)`` to these operators (not drafts, not cancelled)."""
    cur.execute(ISSUED_SQL, {"s": start, "e": end, "ops": list(operator_ids)})
    return [IssuedNotice(*row) for row in cur.fetchall()]


def response_seconds(notices: Sequence[IssuedNotice]) -> list[float]:
    """The response times (seconds), sorted, of the notices that were answered."""
    return sorted(n.response_s for n in notices if n.response_s is not None)


def median_response_s(notices: Sequence[IssuedNotice]) -> float | None:
    return nearest_rank(response_seconds(notices), 0.5)
