"""Statistics that hold up in permit negotiations (issue 6); see ``docs/statistics.md``.

* :mod:`~fleet_monitor.stats.periods`: periods of local days, times with their offset;
* :mod:`~fleet_monitor.stats.aggregate`: the scheduled aggregation of each local day
  (:mod:`~fleet_monitor.history.stays` reads, :mod:`~fleet_monitor.stats.dayfleet`
  computes the fleet and idle figures, :mod:`~fleet_monitor.stats.day_violations` the
  violation counts, :mod:`~fleet_monitor.history.feed_health` the feed health);
* :mod:`~fleet_monitor.stats.report` (fleet, idle, use) and
  :mod:`~fleet_monitor.stats.report_sections` (violations, feeds, notices, declared
  fleet, zones): the figures of a period from the aggregates, with methods
  (:mod:`~fleet_monitor.stats.methods`) and coverage;
* :mod:`~fleet_monitor.stats.exports`, :mod:`~fleet_monitor.stats.pdf`,
  :mod:`~fleet_monitor.stats.charts`: CSV, XLSX, GeoJSON, JSON, the statistics report (PDF),
  SVG charts; :mod:`~fleet_monitor.stats.service`: reports and exports for the web
  app and the CLI; :mod:`~fleet_monitor.stats.raw`: the same from raw history;
* :mod:`~fleet_monitor.stats.declared`: fleets declared by the operators;
* :mod:`~fleet_monitor.stats.retention`: data protection (positions, aggregates);
* :mod:`~fleet_monitor.stats.jobs`: ``register_jobs`` for the scheduler.
"""

from fleet_monitor.stats.jobs import register_jobs

__all__ = ["register_jobs"]
