"""The daily compliance report: one per operator and a city-wide summary for staff.

* :mod:`.figures`: the figures of one local day, read *as of* the day's bounds;
* :mod:`.render`: HTML (e-mail body), PDF and CSV, deterministic;
* :mod:`.archive`: generate, archive (versions, content hash), queue deliveries;
* :mod:`.jobs`: the daily run, sending, and ``register_jobs`` for the scheduler.

Reports are sent through :mod:`fleet_monitor.outbox` (at most once per
recipient and day).
"""

from fleet_monitor.reports.archive import generate_day, queue_deliveries
from fleet_monitor.reports.jobs import register_jobs, run_daily, send_pending

__all__ = ["generate_day", "queue_deliveries", "register_jobs", "run_daily", "send_pending"]
