"""After a notice's deadline: was each vehicle dealt with? Penalties for those that were not.

For each item of an issued notice whose deadline has passed, the vehicle's
state is read from the ingest's history (``history.vehicle_at``) at the *check time*:

* the deadline, pushed back by the delivery delay when the first delivery
  succeeded late (the operator always gets the whole time allowed);
* if the operator's feed was in outage at that time, the end of the outage
  (the first fresh observation): an operator is never penalised on data we
  did not have. While the outage lasts, or until the feed has been observed
  past the check time, the item waits.

Then: no stay of the vehicle covers the check time (it was collected or
rented) => ``remedied`` (``removed``); it stays farther than
``ingest.gps_noise_m`` from the noticed position => ``remedied`` (``moved``);
a vehicle disabled too long that is no longer disabled in place =>
``remedied`` (``repaired``); otherwise ``overdue`` (``still_there``), which adds
a penalty line with the permit's amount for the rule (none when the permit
states none). A vehicle still in place for a timed restriction (market, event: its
violation's evidence has the restriction ``window``) that ended before the
check time is ``undetermined`` (``restriction_ended``), not overdue: no penalty
for a zone that no longer applied. Items that still cannot be decided ``undetermined_after_s``
after their check time, and items of notices never delivered, are
``undetermined`` (no penalty). A notice whose items are all decided is closed
with an outcome: remedied, overdue, partial or undetermined.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from fleet_monitor.history.vehicle_at import confirming_fetch, outage_at, stay_at, vehicle_feed
from fleet_monitor.users import record_audit

DUE_SQL = """
SELECT i.id, i.notice_id, i.violation_id, i.vehicle_id, i.lon, i.lat, i.rule_type, i.clause,
       i.penalty_eur, n.deadline_at, n.issued_at, n.sent_at, n.operator_id, n.reference,
       (SELECT v.evidence->'latest'->'evidence'->'window'->>1 FROM violation v
        WHERE v.id = i.violation_id)
         AS window_end
FROM notice_item i JOIN notice n ON n.id = i.notice_id
WHERE n.status = 'issued' AND i.active AND i.outcome IS NULL AND n.deadline_at <= :now
ORDER BY n.id, i.id
FOR UPDATE OF i SKIP LOCKED
"""


@dataclass(slots=True)
class CheckResult:
    remedied: int = 0
    overdue: int = 0
    undetermined: int = 0
    waiting: int = 0
    penalties_eur: float = 0.0
    closed: list[str] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)  # penalty statements issued

    def as_dict(self) -> dict[str, Any]:
        return {
            "remedied": self.remedied,
            "overdue": self.overdue,
            "undetermined": self.undetermined,
            "waiting": self.waiting,
            "penalties_eur": self.penalties_eur,
            "closed": self.closed,
            "statements": self.statements,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: str | None  # None: wait
    reason: str
    distance_m: float | None = None
    fetch_id: int | None = None


def check_time(item: dict[str, Any]) -> datetime:
    """The deadline, pushed back when the notice was first delivered after it was issued."""
    deadline: datetime = item["deadline_at"]
    sent, issued = item["sent_at"], item["issued_at"]
    if sent is not None and issued is not None and sent > issued:
        return max(deadline, sent + (deadline - issued))
    return deadline


def _undelivered_state(session: Session, notice_id: int) -> str:
    """``waiting`` while a delivery may still succeed, else ``undelivered``."""
    pending = session.execute(
        text(
            "SELECT count(*) FROM delivery WHERE notice_id = :n"
            " AND status IN ('pending', 'sending')"
        ),
        {"n": notice_id},
    ).scalar_one()
    return "waiting" if pending else "undelivered"


def judge(
    session: Session, item: dict[str, Any], now: datetime, noise_m: float, give_up: timedelta
) -> Verdict:
    verdict = _judge(session, item, now, noise_m, give_up)
    window_end = item.get("window_end")
    if (
        verdict.outcome == "overdue"
        and window_end is not None
        and datetime.fromisoformat(window_end) <= check_time(item)
    ):
        # a timed restriction (market, event) that ended before the deadline: the
        # operator was not late while it applied, and nothing is owed after it
        return Verdict("undetermined", "restriction_ended", verdict.distance_m, verdict.fetch_id)
    return verdict


def _judge(
    session: Session, item: dict[str, Any], now: datetime, noise_m: float, give_up: timedelta
) -> Verdict:
    if item["sent_at"] is None:
        if _undelivered_state(session, item["notice_id"]) == "waiting":
            return Verdict(None, "delivery_pending")
        return Verdict("undetermined", "not_delivered")
    if item["vehicle_id"] is None:
        return Verdict("undetermined", "no_vehicle")
    t = check_time(item)
    if t > now:
        return Verdict(None, "delivered_late")
    feed = vehicle_feed(session, item["vehicle_id"])
    if feed is None:
        return Verdict("undetermined", "no_vehicle")
    feed_id, last_observed = feed
    outage = outage_at(session, feed_id, t)
    at = t
    if outage is not None:
        if outage[1] is None:
            return _wait_or_give_up(now, t, give_up, "feed_outage")
        at = outage[1]
    if last_observed is None or last_observed < at:
        return _wait_or_give_up(now, t, give_up, "no_data")
    fetch_id = confirming_fetch(session, feed_id, at)
    dwell = stay_at(session, item["vehicle_id"], at, item["lon"], item["lat"])
    if dwell is None:
        return Verdict("remedied", "removed", None, fetch_id)
    state, pending, distance = dwell
    if pending:  # unlisted at the last poll: gone, or an ID rotation the next poll links
        return _wait_or_give_up(now, t, give_up, "rotation_pending")
    if distance is None or distance > noise_m:
        return Verdict("remedied", "moved", distance, fetch_id)
    if item["rule_type"] == "disabled_too_long" and state != "disabled":
        return Verdict("remedied", "repaired", distance, fetch_id)
    return Verdict("overdue", "still_there", distance, fetch_id)


def _wait_or_give_up(now: datetime, t: datetime, give_up: timedelta, reason: str) -> Verdict:
    if now - t >= give_up:
        return Verdict("undetermined", reason)
    return Verdict(None, reason)


def check_deadlines(
    session: Session, now: datetime, *, noise_m: float, undetermined_after_s: int
) -> CheckResult:
    """Decide every item past its deadline (see the module docstring). Caller commits."""
    result = CheckResult()
    give_up = timedelta(seconds=undetermined_after_s)
    items = [dict(r) for r in session.execute(text(DUE_SQL), {"now": now}).mappings()]
    touched: dict[int, dict[str, Any]] = {}
    for item in items:
        verdict = judge(session, item, now, noise_m, give_up)
        if verdict.outcome is None:
            result.waiting += 1
            continue
        session.execute(
            text(
                "UPDATE notice_item SET outcome = :o, outcome_reason = :r, checked_at = :now,"
                " distance_m = :d, checked_fetch_id = :f WHERE id = :id"
            ),
            {
                "o": verdict.outcome,
                "r": verdict.reason,
                "now": now,
                "d": verdict.distance_m,
                "f": verdict.fetch_id,
                "id": item["id"],
            },
        )
        setattr(result, verdict.outcome, getattr(result, verdict.outcome) + 1)
        touched[item["notice_id"]] = item
        if verdict.outcome == "overdue" and item["penalty_eur"] is not None:
            # a dispute of this vehicle already upheld: the penalty line is void
            upheld = session.execute(
                text(
                    "SELECT 1 FROM notice_dispute WHERE notice_item_id = :i AND status = 'upheld'"
                ),
                {"i": item["id"]},
            ).first()
            status = "void" if upheld else "due"
            session.execute(
                text(
                    "INSERT INTO penalty (notice_id, notice_item_id, operator_id, violation_id,"
                    " rule_type, clause, amount_eur, status, created_at)"
                    " VALUES (:n, :i, :op, :v, :rule, :clause, :amount, :status, :now)"
                    " ON CONFLICT (notice_item_id) DO NOTHING"
                ),
                {
                    "n": item["notice_id"],
                    "i": item["id"],
                    "op": item["operator_id"],
                    "v": item["violation_id"],
                    "rule": item["rule_type"],
                    "clause": item["clause"],
                    "amount": item["penalty_eur"],
                    "status": status,
                    "now": now,
                },
            )
            if status == "due":
                result.penalties_eur += float(item["penalty_eur"])
    for notice_id, item in touched.items():
        outcome = _close_if_decided(session, notice_id, now)
        if outcome is not None:
            result.closed.append(item["reference"])
            record_audit(
                session,
                "notice.checked",
                actor_email="system",
                operator_id=item["operator_id"],
                details={"notice": item["reference"], "outcome": outcome},
            )
    return result


def _close_if_decided(session: Session, notice_id: int, now: datetime) -> str | None:
    outcomes = [
        r[0]
        for r in session.execute(
            text("SELECT outcome FROM notice_item WHERE notice_id = :n AND active"),
            {"n": notice_id},
        ).all()
    ]
    if not outcomes or any(o is None for o in outcomes):
        return None
    kinds = set(outcomes)
    if kinds == {"remedied"}:
        outcome = "remedied"
    elif kinds == {"overdue"}:
        outcome = "overdue"
    elif kinds == {"undetermined"}:
        outcome = "undetermined"
    else:
        outcome = (
            "partial"
            if "overdue" in kinds
            else ("remedied" if "remedied" in kinds else "undetermined")
        )
    session.execute(
        text(
            "UPDATE notice SET status = 'closed', outcome = :o, checked_at = :now"
            " WHERE id = :n AND status = 'issued'"
        ),
        {"o": outcome, "now": now, "n": notice_id},
    )
    return outcome
