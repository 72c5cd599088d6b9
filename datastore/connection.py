"""Connection helpers over a SQLAlchemy session (the caller owns the transaction)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result
from sqlalchemy.orm import Session


def driver_connection(raw: Any) -> Any:
    """The psycopg connection under a pooled ``engine.raw_connection()``."""
    conn = raw.driver_connection
    if conn is None:  # only after the pooled connection was invalidated
        raise RuntimeError("the database connection is closed")
    return conn


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE/DELETE/INSERT statement touched (a cursor result's count)."""
    return cast("CursorResult[Any]", result).rowcount


def pg_connection(session: Session) -> Any:
    """The psycopg connection under the session (same transaction)."""
    return session.connection().connection.driver_connection
