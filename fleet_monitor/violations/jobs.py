"""The scheduler's rules jobs: evaluate the rules, take the count samples.

* ``tick`` runs often (``tick_s``) and evaluates when ``rules.evaluate_every_s``
  passed since the last evaluation, or ``debounce_s`` after the first poll of
  a vehicle feed since then (``poke``): polls within ``debounce_s`` of each
  other share one evaluation. (Jobs never call the scheduler's API: APScheduler
  holds its job-store lock while waiting for running jobs at shutdown.)
* ``sample`` runs every ``rules.sample_every_s`` and takes every sample due
  since the last one (each operator on its permit's grid).

After each evaluation, ``after_evaluation(now)`` runs (the scheduler passes
the urgent notices' planner): urgent violations are noticed by the evaluation
that detects them. Job intervals are wall-clock seconds; the time evaluated is the scheduler's
clock (the simulation's clock in the demo), which is also the clock runs dated
in the future are voided against (``recovery``). Zones and permits the engine
cannot use are skipped and logged (and recorded for ``/admin/rules``).
Failures are logged, never raised: the scheduler keeps running and the next
run catches up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from datastore import pg_connection
from fleet_monitor.history.feed_inputs import vehicle_feed_ids
from fleet_monitor.settings import RulesSettings
from fleet_monitor.violations.catalog import CatalogError, CityCache, import_permit
from fleet_monitor.violations.service import RulesError, RunSummary, evaluate_rules, sample_due
from rules import PermitError

log = logging.getLogger(__name__)

EVALUATE_JOB = "rules:evaluate"
SAMPLE_JOB = "rules:sample"


class RulesJobs:
    def __init__(
        self,
        engine: Engine,
        settings: RulesSettings,
        clock: Callable[[], datetime],
        *,
        after_evaluation: Callable[[datetime], None] | None = None,
    ) -> None:
        self.engine = engine
        self.after_evaluation = after_evaluation
        self.settings = settings
        self.clock = clock
        self.cache = CityCache()
        self._vehicle_feeds: set[int] = set()
        self._lock = threading.Lock()
        self._poked_at: float | None = None
        self._last_eval = time.monotonic()
        self.runs = 0
        self.last: RunSummary | None = None

    @property
    def tick_s(self) -> float:
        every = float(self.settings.evaluate_every_s)
        debounce = float(self.settings.debounce_s) if self.settings.debounce_s > 0 else every
        return max(1.0, min(every, debounce) / 2)

    # ------------------------------------------------------------------ jobs

    def tick(self) -> RunSummary | None:
        """Evaluate if due (see the module docstring)."""
        now = time.monotonic()
        with self._lock:
            poked = self._poked_at is not None and now - self._poked_at >= self.settings.debounce_s
            if not poked and now - self._last_eval < self.settings.evaluate_every_s:
                return None
            self._poked_at = None
            self._last_eval = now
        return self.evaluate()

    def evaluate(self) -> RunSummary | None:
        now = self.clock()
        try:
            with Session(self.engine) as session, session.begin():
                summary = evaluate_rules(
                    session,
                    now,
                    city_cache=self.cache,
                    settings=self.settings,
                    trigger="scheduler",
                    clock=now,
                )
        except RulesError as exc:
            log.warning("rules not evaluated at %s: %s", now.isoformat(), exc)
            return None
        except Exception:
            log.exception("rules evaluation at %s failed", now.isoformat())
            return None
        with self._lock:
            self.runs += 1
            self.last = summary
        if self.after_evaluation is not None:
            self.after_evaluation(now)  # urgent notices, at the evaluation's time
        if summary.voided is not None:
            log.warning("rules: %s", summary.voided.describe(now))
        errors = [i for i in summary.config_issues if i.severity == "error"]
        if errors:
            log.warning(
                "rules: %d zone(s)/permit(s) skipped (see /admin/rules): %s",
                len(errors),
                "; ".join(f"{i.kind} {i.label}: {i.reason}" for i in errors[:5]),
            )
        lc = summary.lifecycle
        log.info(
            "rules at %s: %d vehicles, %d findings, opened %d, closed %d, held %d (%.0f ms)",
            now.isoformat(timespec="seconds"),
            summary.vehicles,
            summary.findings,
            len(lc.opened),
            lc.closed,
            lc.held,
            summary.timings_ms.get("total", 0.0),
        )
        return summary

    def sample(self) -> int:
        now = self.clock()
        try:
            with Session(self.engine) as session, session.begin():
                return sample_due(session, now, city_cache=self.cache, settings=self.settings)
        except Exception:
            log.exception("count sampling at %s failed", now.isoformat())
            return 0

    def import_permits_dir(self) -> list[str]:
        """Import every ``*.toml`` of ``rules.permits_dir`` (new versions only)."""
        if not self.settings.permits_dir:
            return []
        done = []
        for path in sorted(Path(self.settings.permits_dir).glob("*.toml")):
            try:
                with Session(self.engine) as session, session.begin():
                    res = import_permit(
                        session,
                        path.read_text(encoding="utf-8"),
                        default_tolerance_m=self.settings.gps_tolerance_m,
                        source=path.name,
                    )
                done.append(f"{path.name}: {res.operator} v{res.version} {res.status}")
            except (PermitError, CatalogError, OSError, UnicodeDecodeError) as exc:
                log.error("permit %s not imported: %s", path, exc)
        for line in done:
            log.info("permit %s", line)
        return done

    # ------------------------------------------------------------------ debounce

    def is_vehicle_feed(self, feed_id: int) -> bool:
        if feed_id in self._vehicle_feeds:
            return True
        with Session(self.engine) as session:
            found = vehicle_feed_ids(pg_connection(session).cursor())
        with self._lock:
            self._vehicle_feeds = found
        return feed_id in found

    def poke(self, feed_id: int) -> None:
        """A feed was polled: evaluate ``debounce_s`` from now if it is a vehicle feed."""
        if self.settings.debounce_s <= 0 or not self.is_vehicle_feed(feed_id):
            return
        with self._lock:
            if self._poked_at is None:
                self._poked_at = time.monotonic()
