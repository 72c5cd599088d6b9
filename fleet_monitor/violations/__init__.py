"""The rules engine's database side: zones, permits, count samples, violations.

* :mod:`~fleet_monitor.violations.catalog`: versioned zone and permit imports,
  loading them back, the ``PreparedCity`` cache;
* :mod:`~fleet_monitor.history.snapshots` and :mod:`~fleet_monitor.history.feed_inputs`
  (the read interface): vehicle snapshots now or as of a past time, outages and
  feed health;
* :mod:`~fleet_monitor.violations.inputs`: count samples;
* :mod:`~fleet_monitor.violations.lifecycle`: findings -> violations (open,
  update, hold, close) with their evidence and timeline;
* :mod:`~fleet_monitor.violations.service`: ``evaluate_rules``, ``sample_counts``;
* :mod:`~fleet_monitor.violations.replay`: what-if replays of a draft permit;
* :mod:`~fleet_monitor.violations.jobs`: the scheduler's rules and sampling jobs;
* :mod:`~fleet_monitor.violations.references`: what zone files and permits refer
  to (zones, operators, the city's area, the first observation);
* :mod:`~fleet_monitor.violations.config_errors`: zones and permits the engine
  skipped, on record for ``/admin/rules``;
* :mod:`~fleet_monitor.violations.recovery`: runs dated in the future, voided;
* :mod:`~fleet_monitor.violations.zone_versions`: ``zones retire``.

The pure rules live in the top-level ``rules`` package.
"""

from fleet_monitor.history.snapshots import SnapshotSet, load_snapshots
from fleet_monitor.violations.catalog import (
    CatalogError,
    CityCache,
    import_permit,
    import_zones,
    load_permits,
    load_zones,
)
from fleet_monitor.violations.replay import ReplayReport, replay_draft
from fleet_monitor.violations.service import (
    RulesError,
    RunSummary,
    evaluate_rules,
    sample_counts,
    sample_due,
)

__all__ = [
    "CatalogError",
    "CityCache",
    "ReplayReport",
    "RulesError",
    "RunSummary",
    "SnapshotSet",
    "evaluate_rules",
    "import_permit",
    "import_zones",
    "load_permits",
    "load_snapshots",
    "load_zones",
    "replay_draft",
    "sample_counts",
    "sample_due",
]
