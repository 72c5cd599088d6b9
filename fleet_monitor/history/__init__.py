"""The read interface over the history: the one place ``fleet_monitor`` asks the
ingest's tables questions, and where every figure shown to a user is defined.

Modules:

* :mod:`~fleet_monitor.history.definitions`: each shown quantity defined once, with
  its method and coverage (deployed vehicles, feed availability and fetch success,
  idle distribution with one set of bucket edges, violations opened and open,
  response times). The daily report, the statistics (page, API, exports), the
  map's counters and the notices call these definitions.
* :mod:`~fleet_monitor.history.stays`: stays (``dwell``) overlapping a window,
  vehicle feeds, successful fetches, outages, parked-since chains, reappearances
  (the statistics' day aggregation reads through it);
* :mod:`~fleet_monitor.history.feed_health`: fetches, outcomes, outages and
  availability of the feeds over a window (statistics' day, daily report);
* :mod:`~fleet_monitor.history.feed_inputs`: outages, the latest confirmed data and
  a month's fetches of each vehicle feed, as the rules' inputs;
* :mod:`~fleet_monitor.history.snapshots`: vehicles as of a time (now, or the
  stays covering a past instant) with their feeds' state, for the rules;
* :mod:`~fleet_monitor.history.vehicle_at`: one vehicle's stay, its feed's outage
  and the confirming fetch at a past instant (the notice deadline check);
* :mod:`~fleet_monitor.history.vehicles`: vehicles as of now with their open
  violations (the map and its counters);
* :mod:`~fleet_monitor.history.evidence`: raw files kept as evidence (load, pin);
* :mod:`~fleet_monitor.history.vehicles_near`: vehicles listed now near a point
  (nearby view, residents' reports) and the extent of the current positions;
* :mod:`~fleet_monitor.history.operators`: the operator table (ORM class, lists,
  lookups by slug or id, the operators of a day).

Only this package imports ``gbfs_ingest`` internals (its tables and raw store);
import-linter enforces it (``pyproject.toml``). The ORM base and the connection
helper live in the neutral :mod:`datastore` package.
"""
