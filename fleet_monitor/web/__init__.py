"""The web application: officers' live map, accounts, audit log, JSON API.

``create_app`` is the Flask application factory: nothing (engine, app,
secret key) is built at import time. Blueprints per resource:

* ``auth``: ``/login``, ``/logout``, ``/account`` (own password);
* ``map``: the live map page at ``/``;
* ``admin``: ``/admin/users`` and ``/admin/audit`` (admin role);
* ``api``: ``/api/vehicles`` (GeoJSON) and ``/api/health``.
* ``cases``, ``notices``, ``notices_api``, ``reports``: case files, notices to
  operators and their API, daily reports (``fleet_monitor.web.notices_and_reports``).
* ``stats``, ``stats_api``, ``stats_declared``: statistics, their exports and JSON
  API, declared fleets (``fleet_monitor.web.stats``).

Configuration beyond ``Settings`` (app config keys, given to ``create_app(...,
config={...})``; the first two also from the environment for the WSGI entry
point):

* ``SESSION_COOKIE_SECURE``: True/False, or None (default) for "Secure unless
  debug or testing". Environment ``FLEET_WEB_COOKIE_SECURE=true|false``; a
  ``settings.web.cookie_secure`` field, when the settings have one, wins.
* ``FLEET_TRUSTED_PROXIES``: number of reverse proxies in front of the app whose
  ``X-Forwarded-For``/``-Proto`` are trusted (default 0). Environment
  ``FLEET_WEB_TRUSTED_PROXIES``; ``settings.web.trusted_proxies`` wins.
* ``FLEET_SESSION_IDLE_S`` (7200), ``FLEET_SESSION_MAX_AGE_S`` (43200).
* ``FLEET_LOGIN_ACCOUNT_MAX_FAILURES`` (5), ``FLEET_LOGIN_IP_MAX_FAILURES`` (20),
  ``FLEET_LOGIN_FAILURE_WINDOW_S`` (900), ``FLEET_LOGIN_LOCKOUT_BASE_S`` (60),
  ``FLEET_LOGIN_LOCKOUT_MAX_S`` (3600).
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask, jsonify, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy import Engine
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from fleet_monitor.database import make_engine
from fleet_monitor.settings import Settings
from fleet_monitor.web import i18n, labels, permissions, security, throttle
from fleet_monitor.web.admin import bp as admin_bp
from fleet_monitor.web.admin_rules import bp as admin_rules_bp
from fleet_monitor.web.api import bp as api_bp
from fleet_monitor.web.auth import bp as auth_bp
from fleet_monitor.web.map import bp as map_bp
from fleet_monitor.web.notices_and_reports import register as register_notices
from fleet_monitor.web.stats import register as register_stats

log = logging.getLogger(__name__)

ENGINE_KEY = "fleet_monitor.engine"
SETTINGS_KEY = "fleet_monitor.settings"
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    config: Mapping[str, Any] | None = None,
) -> Flask:
    """Build the Flask app for ``settings`` (an engine is made from them if not given)."""
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.config.update(
        SECRET_KEY=_secret_key(settings),
        SESSION_COOKIE_NAME="fm_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=_cookie_secure(settings),
        FLEET_TRUSTED_PROXIES=_trusted_proxies(settings),
        # the CSRF token lives as long as the session (which expires on its own)
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    if config:
        app.config.update(config)
    app.extensions[SETTINGS_KEY] = settings
    app.extensions[ENGINE_KEY] = (
        engine if engine is not None else make_engine(settings.database_url)
    )
    proxies = int(app.config["FLEET_TRUSTED_PROXIES"])
    if proxies > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )

    security.init_app(app, tile_url=settings.web.tile_url)
    i18n.init_app(app, default=settings.city.locale, timezone=settings.city.timezone)
    permissions.init_app(app)
    throttle.init_app(app)
    labels.init_app(app)
    CSRFProtect(app)
    app.jinja_env.globals["city_name"] = settings.city.name
    _register_errors(app)
    app.register_blueprint(auth_bp)
    app.register_blueprint(map_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(admin_rules_bp)
    app.register_blueprint(api_bp)
    register_notices(app)
    register_stats(app)
    return app


def _register_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> ResponseReturnValue:
        if permissions.is_api_request():
            return jsonify(error=f"CSRF check failed: {exc.description}"), 400
        message = _("This form has expired or was not sent by this site. Reload and try again.")
        return render_template("error.html", code=400, message=message), 400

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> ResponseReturnValue:
        code = exc.code or 500
        if permissions.is_api_request():
            return jsonify(error=exc.name), code
        messages = {
            403: _("Your account does not give access to this page."),
            404: _("This page does not exist."),
        }
        message = messages.get(code, exc.name)
        return render_template("error.html", code=code, message=message), code


def _env_flag(name: str) -> bool | None:
    raw = os.environ.get(name, "").strip().lower()
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    if raw:
        log.warning("%s=%r is neither true nor false: ignored", name, raw)
    return None


def _cookie_secure(settings: Settings) -> bool | None:
    configured = getattr(settings.web, "cookie_secure", None)
    if configured is not None:
        return bool(configured)
    return _env_flag("FLEET_WEB_COOKIE_SECURE")


def _trusted_proxies(settings: Settings) -> int:
    configured = getattr(settings.web, "trusted_proxies", None)
    if configured is not None:
        return int(configured)
    raw = os.environ.get("FLEET_WEB_TRUSTED_PROXIES", "").strip()
    return int(raw) if raw.isdigit() else 0


def _secret_key(settings: Settings) -> str:
    if settings.web.secret_key is not None and settings.web.secret_key.reveal():
        return settings.web.secret_key.reveal()
    log.warning(
        "no web.secret_key configured (web.secret_key_env or web.secret_key_file): "
        "using a random key for this process; sessions will not survive a restart "
        "nor be shared between workers"
    )
    return secrets.token_urlsafe(48)
