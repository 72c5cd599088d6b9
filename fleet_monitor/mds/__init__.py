"""The city's rules published as MDS 2.0 Policy and Geography (see ``docs/mds.md``).

:mod:`~fleet_monitor.mds.store` publishes (``fleet-monitor mds publish``) and
reads back the stored documents; the documents themselves are built by
:mod:`rules.mds` (pure). The web API is :mod:`fleet_monitor.web.mds_api`.
"""
