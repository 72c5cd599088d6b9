"""The web application: officers' live map and a JSON API.

``create_app`` is the Flask application factory: nothing (engine, app,
secret key) is built at import time. Blueprints per resource:

* ``map``: the live map page at ``/``;
* ``api``: ``/api/vehicles`` (GeoJSON) and ``/api/health``.
"""

from __future__ import annotations

import logging
import secrets

from flask import Flask
from sqlalchemy import Engine

from fleet_monitor.database import make_engine
from fleet_monitor.settings import Settings
from fleet_monitor.web import i18n, security
from fleet_monitor.web.api import bp as api_bp
from fleet_monitor.web.map import bp as map_bp

log = logging.getLogger(__name__)

ENGINE_KEY = "fleet_monitor.engine"
SETTINGS_KEY = "fleet_monitor.settings"


def create_app(settings: Settings, *, engine: Engine | None = None) -> Flask:
    """Build the Flask app for ``settings`` (an engine is made from them if not given)."""
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.config.update(
        SECRET_KEY=_secret_key(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.extensions[SETTINGS_KEY] = settings
    app.extensions[ENGINE_KEY] = (
        engine if engine is not None else make_engine(settings.database_url)
    )

    security.init_app(app, tile_url=settings.web.tile_url)
    i18n.init_app(app, default=settings.city.locale)
    app.register_blueprint(map_bp)
    app.register_blueprint(api_bp)
    return app


def _secret_key(settings: Settings) -> str:
    if settings.web.secret_key is not None and settings.web.secret_key.reveal():
        return settings.web.secret_key.reveal()
    log.warning(
        "no web.secret_key configured (web.secret_key_env or web.secret_key_file): "
        "using a random key for this process; sessions will not survive a restart "
        "nor be shared between workers"
    )
    return secrets.token_urlsafe(48)
