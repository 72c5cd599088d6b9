"""All tables of the service, on one metadata (used by Alembic).

The ingest's tables live in :mod:`gbfs_ingest.db`; the service's own tables
(violations, users, notices, ...) are added here by resource.
"""

from datastore import Base
from fleet_monitor.history import tables as _ingest_tables  # noqa: F401  (FKs to operator, feed)
from fleet_monitor.models import (
    addresses,
    case_photos,
    disputes,
    mds,
    notices,
    reports,
    resident,
    rules,
    rules_config,
    stats,
    users,
)

metadata = Base.metadata

__all__ = [
    "Base",
    "addresses",
    "case_photos",
    "disputes",
    "mds",
    "metadata",
    "notices",
    "reports",
    "resident",
    "rules",
    "rules_config",
    "stats",
    "users",
]
