"""The database pieces every layer shares, owned by none of them.

* :mod:`datastore.base`: the SQLAlchemy declarative ``Base`` (one metadata, one
  naming convention for constraints and indexes) and the column types used by
  the ingest's and the service's tables (``TS``, ``POINT``, ``ID_TEXT``);
* :mod:`datastore.connection`: the psycopg connection under a session (same
  transaction), for the set-based SQL and COPY paths.

They lived in ``gbfs_ingest`` (``db.Base``, ``vehicle_store.pg_connection``), which
made every ``fleet_monitor`` table depend on the ingest's internals. Now the
ingest (``gbfs_ingest.db``), the service (``fleet_monitor.models``) and the read
interface (``fleet_monitor.history``) import them from here; import-linter keeps
this package free of the others (see ``pyproject.toml``).
"""

from datastore.base import ID_TEXT, NAMING, POINT, TS, Base
from datastore.connection import pg_connection

__all__ = ["ID_TEXT", "NAMING", "POINT", "TS", "Base", "pg_connection"]
