"""Notices to operators and case files.

* :mod:`.planner`: detection: which violations become notices (urgent at once,
  others grouped per operator per batch window), and issuing a notice
  (reference, deadline from the permit, document, deliveries);
* :mod:`.document`: the notice's JSON payload, PDF and e-mail;
* :mod:`.deadlines`: after the deadline, remedied or overdue (with penalties);
* :mod:`.actions`: responses (acknowledge, dispute), cancellation, retries,
  officers' notes and case statuses;
* :mod:`.contacts`: operators' contacts and API tokens;
* :mod:`.queries`: read views for the web pages and the CLI;
* :mod:`.jobs`: the runs and ``register_jobs`` for the scheduler.

Delivery itself (at most once, with retries) is :mod:`fleet_monitor.outbox`.
"""

from fleet_monitor.notices.jobs import register_jobs, send_pending

__all__ = ["register_jobs", "send_pending"]
