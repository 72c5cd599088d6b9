"""Fixtures of the residents' reports tests: the web fixtures (real PostGIS, the app)."""

from tests.web.conftest import admin, anon, app, client  # noqa: F401
