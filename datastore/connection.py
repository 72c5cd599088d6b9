"""Connection helpers over a SQLAlchemy session (the caller owns the transaction)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def pg_connection(session: Session) -> Any:
    """The psycopg connection under the session (same transaction)."""
    return session.connection().connection.driver_connection
