"""WSGI entry point for gunicorn / waitress: ``fleet_monitor.wsgi:app``.

The app is built from ``load_settings()`` (``FLEET_CONFIG``, ``DATABASE_URL``,
``FLEET__WEB__...``) when this module is imported, never elsewhere.
"""

from __future__ import annotations

from fleet_monitor.settings import load_settings
from fleet_monitor.web import create_app

app = create_app(load_settings())
