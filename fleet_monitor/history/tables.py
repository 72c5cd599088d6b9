"""The ingest's tables (``operator``, ``feed``, ``vehicle_current``, ``dwell``...) on
the shared metadata.

The service's models (:mod:`fleet_monitor.models`) hold foreign keys to the
ingest's ``operator`` and ``feed`` tables; SQLAlchemy resolves them only when
those tables are declared on the same metadata. Importing this module declares
them, through the read interface (the one place in ``fleet_monitor`` allowed to
import the ingest's internals, see the import-linter contracts).
"""

from __future__ import annotations

from gbfs_ingest import db as ingest_tables

__all__ = ["ingest_tables"]
