"""Recovery from rules runs dated in the future (a ``rules run --at 2100-01-01``
accepted by an older version).

Evaluations must move forward in time, so one run dated in the future used to
refuse every later evaluation at the real time ("violations only move
forward"), for good. Given the caller's clock (the scheduler's, or the wall
clock for ``rules run``), ``void_future_runs`` treats every run dated more than
``MAX_CLOCK_SKEW`` after it as a mistake, and undoes what it did without
destroying the record:

* the runs are marked voided (``voided_at``, ``voided_reason``): they no longer
  bound later evaluations;
* violations they opened are closed, reason ``voided``, at the clock's time
  (their rows and events stay, so the mistake remains visible);
* violations they closed are reopened (an ``updated`` event says so): the next
  evaluation closes them again, at the right time, if they are resolved;
* violations they saw last get their last sighting brought back to the latest
  run not voided (the last sighting a valid run can have made); their events are
  flagged ``voided_run``;
* count samples dated after the clock's time are deleted (they were counted
  from the current state, at a time that has not come: the sampling job would
  otherwise consider every sample until then taken);
* one entry on the configuration errors page says what was done.

The caller owns the transaction (the evaluation's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from psycopg.types.json import Jsonb
from sqlalchemy.orm import Session

from datastore import pg_connection
from fleet_monitor.violations.config_errors import record_event

#: how far an evaluation time may lie ahead of the clock (clocks of two machines differ)
MAX_CLOCK_SKEW = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class VoidedRuns:
    run_ids: list[int]
    latest: datetime
    closed: int
    reopened: int
    samples_deleted: int

    def describe(self, clock: datetime) -> str:
        return (
            f"{len(self.run_ids)} rules run(s) dated after the clock (latest"
            f" {self.latest.isoformat()}, clock {clock.isoformat(timespec='seconds')}) voided:"
            f" {self.closed} violation(s) they opened closed as voided, {self.reopened}"
            f" they closed reopened, {self.samples_deleted} future count sample(s) deleted"
        )


def void_future_runs(session: Session, clock: datetime) -> VoidedRuns | None:
    """Void the runs dated after ``clock`` + ``MAX_CLOCK_SKEW`` (see the module
    docstring); None when there is none."""
    limit = clock + MAX_CLOCK_SKEW
    cur = pg_connection(session).cursor()
    cur.execute(
        "SELECT id, as_of FROM rules_run WHERE voided_at IS NULL AND as_of > %s ORDER BY as_of",
        (limit,),
    )
    rows = cur.fetchall()
    if not rows:
        return None
    ids = [r[0] for r in rows]
    latest = rows[-1][1]
    reason = f"dated after the clock ({clock.isoformat(timespec='seconds')})"
    cur.execute(
        "UPDATE rules_run SET voided_at = now(), voided_reason = %s WHERE id = ANY(%s)",
        (reason, ids),
    )
    detail = Jsonb({"reason": "voided", "voided_runs": ids})
    cur.execute(
        "WITH v AS (UPDATE violation SET state = 'closed', closed_at = %(clock)s,"
        " closed_reason = 'voided', closed_fetch_id = NULL"
        " WHERE (opened_run_id = ANY(%(ids)s) OR opened_at > %(limit)s)"
        " AND closed_reason IS DISTINCT FROM 'voided' RETURNING id, status, measured)"
        " INSERT INTO violation_event (violation_id, run_id, at, kind, status, measured, detail)"
        " SELECT id, NULL, %(clock)s, 'closed', status, measured, %(detail)s FROM v",
        {"clock": clock, "ids": ids, "limit": limit, "detail": detail},
    )
    closed = cur.rowcount
    # the last sighting a valid run can have made: the latest run not voided
    cur.execute("SELECT max(as_of) FROM rules_run WHERE voided_at IS NULL")
    last_valid = cur.fetchone()[0] or clock
    reopen = Jsonb({"reopened": "it was closed by a voided run", "voided_runs": ids})
    cur.execute(
        "WITH c AS (SELECT DISTINCT ON (key) id, key FROM violation"
        "  WHERE state = 'closed' AND closed_at > %(limit)s AND opened_at <= %(limit)s"
        "  AND closed_reason <> 'voided' ORDER BY key, opened_at DESC),"
        " v AS (UPDATE violation SET state = 'open', closed_at = NULL, closed_reason = NULL,"
        "  closed_fetch_id = NULL, evidence = evidence - 'closed',"
        "  last_seen_at = greatest(opened_at, least(last_seen_at, %(seen)s))"
        "  WHERE id IN (SELECT id FROM c) AND NOT EXISTS (SELECT 1 FROM violation a"
        "   WHERE a.key = violation.key AND a.state <> 'closed')"
        "  RETURNING id, status, measured)"
        " INSERT INTO violation_event (violation_id, run_id, at, kind, status, measured, detail)"
        " SELECT id, NULL, %(clock)s, 'updated', status, measured, %(detail)s FROM v",
        {"clock": clock, "limit": limit, "detail": reopen, "seen": last_valid},
    )
    reopened = cur.rowcount
    cur.execute(
        "UPDATE violation SET last_seen_at = greatest(opened_at, %s)"
        " WHERE state <> 'closed' AND last_seen_at > %s",
        (last_valid, limit),
    )
    cur.execute(
        "UPDATE violation_event SET detail = detail || '{\"voided_run\": true}'::jsonb"
        " WHERE run_id = ANY(%s)",
        (ids,),
    )
    cur.execute("DELETE FROM count_sample WHERE time > %s", (limit,))
    result = VoidedRuns(ids, latest, closed, reopened, cur.rowcount)
    record_event(
        session,
        "rules_run",
        ", ".join(f"#{i}" for i in ids[:20]) + (" ..." if len(ids) > 20 else ""),
        result.describe(clock),
    )
    return result
