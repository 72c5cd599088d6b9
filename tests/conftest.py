"""Shared fixtures: real PostGIS databases, created per test from a migrated template.

``TEST_DATABASE_URL`` names a PostgreSQL server (any database on it); the
test script sets it from ``var/database_url``. Each test that asks for
``db_url`` gets its own fresh database cloned from a template migrated once per
session, so tests are isolated and can run in any order.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from fleet_monitor.database import make_engine, make_session_factory, upgrade
from fleet_monitor.settings import normalise_database_url

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
if not SHARED.exists():  # CI lays shared/ beside the clone
    SHARED = Path(os.environ.get("FLEET_SHARED_DIR", "../shared")).resolve()
GBFS_REAL = SHARED / "gbfs" / "real"
GBFS_SCHEMAS = SHARED / "gbfs" / "schemas"


def _server_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        path = Path(__file__).resolve().parents[1] / "var" / "database_url"
        url = (
            path.read_text().strip()
            if path.exists()
            else "postgresql://postgres@127.0.0.1/postgres"
        )
    return normalise_database_url(url)


def _with_db(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _admin(url: str) -> psycopg.Connection:
    libpq = make_url(url).set(drivername="postgresql", database="postgres")
    return psycopg.connect(libpq.render_as_string(hide_password=False), autocommit=True)


@pytest.fixture(scope="session")
def template_db() -> Iterator[str]:
    server = _server_url()
    name = f"fm_tmpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with _admin(server) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_db(server, name)
    upgrade(url)
    yield url
    with _admin(server) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _clone(template_url: str) -> str:
    server = _server_url()
    tmpl = make_url(template_url).database
    name = f"fm_test_{uuid.uuid4().hex[:12]}"
    with _admin(server) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{tmpl}"')
    return _with_db(server, name)


def _drop(url: str) -> None:
    with _admin(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


@pytest.fixture
def db_url(template_db: str) -> Iterator[str]:
    """A fresh, migrated PostGIS database for this test."""
    url = _clone(template_db)
    yield url
    _drop(url)


@pytest.fixture
def engine(db_url: str):  # type: ignore[no-untyped-def]
    eng = make_engine(db_url, pool_size=4)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine):  # type: ignore[no-untyped-def]
    return make_session_factory(engine)
