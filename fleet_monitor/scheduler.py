"""The ingest scheduler: APScheduler 3 in its own process, one job per feed.

* Every configured operator gets a discovery job (at start, then hourly) that
  registers its feeds and (re)creates one poll job per feed.
* Poll jobs coalesce and run one instance at a time; after each poll the job
  is rescheduled at the feed's own interval (its ``ttl`` within the configured
  floor and ceiling, backing off on failures, honouring ``Retry-After``).
* Jobs run in a thread pool: a slow feed holds one worker up to its fetch
  deadline and never delays the others. An exception in one job is logged
  and that job runs again at its next time; the scheduler keeps running.
* Two scheduler processes on one database never poll the same feed at once
  (PostgreSQL advisory lock per feed, see ``gbfs_ingest.pipeline``).
* SIGTERM / SIGINT stop it cleanly: running polls finish, nothing is cut.
* A database outage (down, restarting, unreachable) stops nothing: each job
  fails and runs again at its next time, so the scheduler recovers by itself
  once the database is back. It is logged once per interval
  (``$FLEET_OUTAGE_LOG_INTERVAL_S``, 60 s) with the number of failures, then
  once when the database is back (:class:`fleet_monitor.health.OutageLog`);
  the other jobs' (rules, notices, reports, statistics) outage errors go to
  the same report through a log filter installed by :func:`run_scheduler`.
  A failed discovery is tried again after ``DISCOVERY_RETRY_S``.
* Rules (``[rules]``, see :mod:`fleet_monitor.violations.jobs`): the rules are
  evaluated every ``evaluate_every_s`` and shortly after vehicle-feed polls
  (debounced), and fleet counts are sampled on each permit's grid, both on
  the scheduler's clock.
"""

from __future__ import annotations

import importlib
import logging
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fleet_monitor.database import make_engine
from fleet_monitor.health import OutageLog, OutageLogFilter, is_database_outage
from fleet_monitor.history.evidence import purge_raw
from fleet_monitor.runtime import wait_for_stop
from fleet_monitor.settings import Settings
from gbfs_ingest import validate_worker
from gbfs_ingest.config import OperatorSettings
from gbfs_ingest.model import FeedType
from gbfs_ingest.pipeline import Ingestor
from gbfs_ingest.registry import operator_feed_ids

if TYPE_CHECKING:
    from fleet_monitor.violations.jobs import RulesJobs

log = logging.getLogger(__name__)

#: Packages whose ``register_jobs(scheduler, settings, engine, clock)`` add their jobs.
EXTENSION_JOBS = (
    "fleet_monitor.notices",
    "fleet_monitor.reports",
    "fleet_monitor.stats",
    "fleet_monitor.retention",  # personal data: case photos, residents' contacts
)

AfterPoll = Callable[[int, str], None]
DISCOVERY_RETRY_S = 60


class IngestScheduler:
    def __init__(
        self,
        settings: Settings,
        engine: Engine | None = None,
        *,
        after_poll: AfterPoll | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        workers = settings.scheduler.max_workers
        self.engine = engine or make_engine(settings.database_url, pool_size=workers + 2)
        self.ingestor = (
            Ingestor(self.engine, settings.ingest, clock=clock)
            if clock is not None
            else Ingestor(self.engine, settings.ingest)
        )
        self.after_poll = after_poll
        self.clock = clock or (lambda: datetime.now(UTC))
        self.outage = OutageLog(log)
        self.rules_jobs: RulesJobs | None = None
        if settings.rules.enabled:
            from fleet_monitor.notices.jobs import after_evaluation
            from fleet_monitor.violations.jobs import RulesJobs

            self.rules_jobs = RulesJobs(
                self.engine,
                settings.rules,
                self.clock,
                after_evaluation=after_evaluation(self.engine, settings, self.clock),
            )
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
            timezone=UTC,
        )
        self._intervals: dict[int, float] = {}
        self._lock = threading.Lock()
        self.polls = 0
        self.skipped = 0
        # Jobs never call APScheduler's API themselves: its shutdown(wait=True) holds
        # the job-store lock while it waits for running jobs, so a job adding or
        # rescheduling a job at that moment would deadlock. They queue the change;
        # this thread applies it, and is stopped before the scheduler is.
        self._control: queue.Queue[Callable[[], None]] = queue.Queue()
        self._stopping = threading.Event()
        self._control_thread = threading.Thread(
            target=self._control_loop, name="scheduler-control", daemon=True
        )

    # ------------------------------------------------------------------ jobs

    def start(self) -> None:
        now = datetime.now(UTC)
        for op in self.settings.operators:
            self.scheduler.add_job(
                self._discover_job,
                IntervalTrigger(seconds=self.settings.scheduler.discovery_interval_s),
                args=[op],
                id=f"discover:{op.slug}",
                next_run_time=now,
                replace_existing=True,
            )
        self.scheduler.add_job(
            self._maintenance_job,
            IntervalTrigger(seconds=self.settings.scheduler.maintenance_interval_s),
            id="maintenance",
            next_run_time=now + timedelta(seconds=30),
            replace_existing=True,
        )
        if self.rules_jobs is not None:
            self._add_rules_jobs(now)
        for name in EXTENSION_JOBS:
            importlib.import_module(name).register_jobs(
                self.scheduler, self.settings, self.engine, self.clock
            )
        self.scheduler.start()
        self._control_thread.start()

    def _control_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                action = self._control.get(timeout=0.2)
            except queue.Empty:
                continue
            if self._stopping.is_set():
                return
            try:
                action()
            except Exception:
                log.exception("scheduler change failed")

    def _defer(self, action: Callable[[], None]) -> None:
        if not self._stopping.is_set():
            self._control.put(action)

    def _add_rules_jobs(self, now: datetime) -> None:
        from fleet_monitor.violations.jobs import EVALUATE_JOB, SAMPLE_JOB

        jobs, rules = self.rules_jobs, self.settings.rules
        assert jobs is not None
        self.scheduler.add_job(jobs.import_permits_dir, id="rules:permits", next_run_time=now)
        self.scheduler.add_job(
            jobs.sample,
            IntervalTrigger(seconds=rules.sample_every_s),
            id=SAMPLE_JOB,
            next_run_time=now + timedelta(seconds=min(rules.sample_every_s, 10)),
            replace_existing=True,
        )
        self.scheduler.add_job(
            jobs.tick,
            IntervalTrigger(seconds=jobs.tick_s),
            id=EVALUATE_JOB,
            next_run_time=now + timedelta(seconds=jobs.tick_s),
            replace_existing=True,
        )

    def _failed(self, exc: Exception, what: str) -> None:
        """A job failed: a database outage is reported once per interval, the rest each time."""
        if is_database_outage(exc):
            self.outage.failure(exc)
        else:
            log.warning("%s failed: %s", what, exc)

    def _discover_job(self, op: OperatorSettings) -> None:
        try:
            result = self.ingestor.discover(op)
            with Session(self.engine) as session:
                feeds = operator_feed_ids(session, result.operator_id)
        except Exception as exc:  # one operator failing never stops the others
            self._failed(exc, f"discovery of {op.slug}")
            retry_at = datetime.now(UTC) + timedelta(
                seconds=min(DISCOVERY_RETRY_S, self.settings.scheduler.discovery_interval_s)
            )
            self._defer(lambda: self._retry_discovery(op, retry_at))
            return
        self.outage.success()
        self._defer(lambda: self._add_poll_jobs(op, feeds))

    def _retry_discovery(self, op: OperatorSettings, at: datetime) -> None:
        job = self.scheduler.get_job(f"discover:{op.slug}")
        if job is not None and job.next_run_time is not None and job.next_run_time > at:
            job.modify(next_run_time=at)

    def _add_poll_jobs(self, op: OperatorSettings, feeds: list[tuple[int, FeedType]]) -> None:
        for i, (feed_id, ft) in enumerate(feeds):
            job_id = f"poll:{feed_id}"
            if self.scheduler.get_job(job_id) is not None:
                continue
            first = datetime.now(UTC) + timedelta(milliseconds=200 * i)
            self.scheduler.add_job(
                self._poll_job,
                IntervalTrigger(seconds=self.settings.ingest.default_interval_s),
                args=[feed_id, op],
                id=job_id,
                name=f"{op.slug}/{ft.value}",
                next_run_time=first,
                replace_existing=True,
            )

    def _poll_job(self, feed_id: int, op: OperatorSettings) -> None:
        try:
            res = self.ingestor.poll(feed_id, op.auth)
        except Exception as exc:  # the database may be restarting: next poll recovers
            self._failed(exc, f"poll of feed {feed_id} ({op.slug})")
            return
        self.outage.success()
        with self._lock:
            self.polls += 1
            self.skipped += res.outcome == "skipped"
        log.debug("feed %s %s: %s (%s changes)", feed_id, op.slug, res.outcome, res.changed)
        interval = res.next_interval_s
        if interval and abs(self._intervals.get(feed_id, -1) - interval) > 0.5:
            self._intervals[feed_id] = interval
            self._defer(lambda: self._reschedule(feed_id, interval))
        if self.rules_jobs is not None and res.outcome != "skipped":
            try:
                self.rules_jobs.poke(feed_id)
            except Exception:
                log.exception("rules debounce failed after feed %s", feed_id)
        if self.after_poll is not None:
            try:
                self.after_poll(feed_id, res.outcome)
            except Exception:
                log.exception("after-poll hook failed for feed %s", feed_id)

    def _reschedule(self, feed_id: int, interval: float) -> None:
        job = self.scheduler.get_job(f"poll:{feed_id}")
        if job is not None:
            job.reschedule(IntervalTrigger(seconds=interval))

    def _maintenance_job(self) -> None:
        try:
            with Session(self.engine) as session, session.begin():
                n = purge_raw(session, datetime.now(UTC), self.settings.ingest.raw_retention_days)
            if n:
                log.info("purged %s raw files past retention", n)
        except Exception as exc:
            self._failed(exc, "maintenance")

    def shutdown(self, wait: bool = True) -> None:
        self._stopping.set()
        if self._control_thread.is_alive():
            self._control_thread.join(timeout=10)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
        self.ingestor.close()


def run_scheduler(settings: Settings, stop: threading.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or ``stop`` is set)."""
    stop = stop or threading.Event()
    sched = IngestScheduler(settings)
    # the other jobs log their failures themselves: outages among them are reported
    # with the scheduler's own, once per interval
    outage_filter = OutageLogFilter(sched.outage)
    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(outage_filter)
    sched.start()
    log.info("scheduler started for %d operators", len(settings.operators))
    try:
        signum = wait_for_stop(stop)
        if signum is not None:
            log.info("signal %s received: stopping after running polls", signum)
    finally:
        for handler in handlers:
            handler.removeFilter(outage_filter)
        sched.shutdown(wait=True)
        sched.engine.dispose()
        validate_worker.shutdown(wait=True)  # the schema-validation processes, if any
        log.info("scheduler stopped")
