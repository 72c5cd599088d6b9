"""Dispute and acceptance rates: one definition for the statistics and the daily reports.

Over the notices of breach and formal notices issued in a period (drafts and
cancelled notices excluded), as known at ``as_of``:

* ``vehicles``: vehicles noticed; ``disputed``: those the operator disputed;
* ``upheld`` / ``rejected``: disputes the city decided so;
* ``dispute_rate`` = disputed / vehicles;
* ``acceptance_rate`` = upheld / (upheld + rejected): the share of decided
  disputes the city accepted (None while none is decided).

``as_of`` keeps a past day's report the same when it is generated again: a
dispute filed or decided after it does not count.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

SQL = """
SELECT n.operator_id, count(i.id) AS vehicles,
       count(d.id) FILTER (WHERE d.submitted_at < %(as_of)s) AS disputed,
       count(d.id) FILTER (WHERE d.status = 'upheld' AND d.decided_at < %(as_of)s) AS upheld,
       count(d.id) FILTER (WHERE d.status = 'rejected' AND d.decided_at < %(as_of)s)
         AS rejected
FROM notice n JOIN notice_item i ON i.notice_id = n.id
LEFT JOIN notice_dispute d ON d.notice_item_id = i.id
WHERE n.kind IN ('breach', 'formal') AND n.status IN ('issued', 'closed')
  AND n.issued_at >= %(start)s AND n.issued_at < %(end)s AND n.operator_id = ANY(%(ops)s)
GROUP BY n.operator_id
"""

KEYS = ("vehicles", "disputed", "upheld", "rejected")


def query_params(
    operator_ids: Sequence[int], start: datetime, end: datetime, as_of: datetime
) -> dict[str, Any]:
    return {"ops": list(operator_ids), "start": start, "end": end, "as_of": as_of}


def counts_by_operator(rows: Sequence[Sequence[Any]]) -> dict[int, dict[str, int]]:
    """The rows of ``SQL`` (from any driver) by operator id."""
    return {int(r[0]): {k: int(v) for k, v in zip(KEYS, r[1:], strict=True)} for r in rows}


def rates(counts: dict[str, int]) -> dict[str, Any]:
    """The counts with their two rates (rounded to 4 decimals; None when undefined)."""
    vehicles, disputed = counts.get("vehicles", 0), counts.get("disputed", 0)
    decided = counts.get("upheld", 0) + counts.get("rejected", 0)
    return {
        **{k: counts.get(k, 0) for k in KEYS},
        "dispute_rate": round(disputed / vehicles, 4) if vehicles else None,
        "acceptance_rate": round(counts.get("upheld", 0) / decided, 4) if decided else None,
    }


def total(per_operator: Sequence[dict[str, int]]) -> dict[str, int]:
    return {k: sum(c.get(k, 0) for c in per_operator) for k in KEYS}
