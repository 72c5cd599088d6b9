"""Residents' reports of badly parked vehicles (issue 15): a public page and Open311
GeoReport v2 in, a case in the officers' inbox out, counted by zone.

* :mod:`.reports`: checking, matching to the nearest vehicles, storing, counting by zone;
* :mod:`.photo`: photos re-encoded server-side (no metadata kept);
* :mod:`.retention`: contacts and photos erased ``retention.resident_report_days``
  (90) days after a report is closed, by the job of :mod:`fleet_monitor.retention`.

The web side is ``fleet_monitor.web.resident`` (the public page and the officers'
inbox) and ``fleet_monitor.web.open311``.
"""
