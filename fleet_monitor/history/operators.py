"""The operators known to the ingest (``operator`` table), for the service's pages.

The table belongs to the ingest (``gbfs_ingest.db``); the rest of ``fleet_monitor``
reaches it here, not through the ingest's modules.
"""

from __future__ import annotations

from gbfs_ingest.db import Operator

__all__ = ["Operator"]
