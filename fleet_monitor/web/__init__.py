"""The web application: officers' live map, accounts, audit log, JSON API.

``create_app`` is the Flask application factory: nothing (engine, app,
secret key) is built at import time. Blueprints per resource:

* ``auth``: ``/login``, ``/logout``, ``/account`` (own password);
  ``account``, ``two_factor``, ``password_reset``: one's sessions, two-factor
  sign-in, password reset by e-mail (``fleet_monitor.web.accounts``);
* ``map``: the live map page at ``/``;
* ``admin``: ``/admin/users`` and ``/admin/audit`` (admin role);
* ``api``: ``/api/vehicles`` (GeoJSON) and ``/api/health``.
* ``cases``, ``notices``, ``notices_api``, ``reports``: case files, notices to
  operators and their API, daily reports (``fleet_monitor.web.enforcement``).
* ``stats``, ``stats_api``, ``stats_declared``: statistics, their exports and JSON
  API, declared fleets (``fleet_monitor.web.stats``).

The session secret is ``settings.web.secret_key`` (``FLEET_SECRET_KEY`` by
default). Without one, a single worker gets a random key with a warning (every
restart signs everyone out); ``settings.web.workers`` > 1 refuses to start,
since each process would sign cookies the others reject.

The web boundary (what is checked and how data is encoded for each context)
is described in ``docs/security.md``: request strings and parameters in
:mod:`~fleet_monitor.web.params`, JSON for scripts in
:mod:`~fleet_monitor.web.encode`, maps in :mod:`~fleet_monitor.web.folium_map`,
error pages and the degraded mode in :mod:`~fleet_monitor.web.errors`.

Configuration beyond ``Settings`` (app config keys, given to ``create_app(...,
config={...})``):

* ``SESSION_COOKIE_SECURE``: True/False, or None (default) for "Secure unless
  debug or testing over plain HTTP". ``settings.web.cookie_secure`` when set,
  else the environment ``FLEET_WEB_COOKIE_SECURE=true|false``.
* ``FLEET_TRUSTED_PROXIES``: addresses or networks of the reverse proxies whose
  ``X-Forwarded-For``/``-Proto`` are trusted (``settings.web.trusted_proxies``,
  loopback by default; see ``fleet_monitor.web.proxies``).
* ``FLEET_SESSION_IDLE_S`` (7200), ``FLEET_SESSION_MAX_AGE_S`` (43200).
* ``FLEET_OUTAGE_LOG_INTERVAL_S`` (environment too; 60): a database outage is
  logged once per this interval (:mod:`fleet_monitor.web.errors`).
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

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine

from fleet_monitor.database import make_engine
from fleet_monitor.settings import ConfigError, Settings
from fleet_monitor.web import (
    audit,
    basemap,
    errors,
    i18n,
    labels,
    params,
    permissions,
    security,
    throttle,
)
from fleet_monitor.web.accounts import register as register_accounts
from fleet_monitor.web.admin import bp as admin_bp
from fleet_monitor.web.admin_rules import bp as admin_rules_bp
from fleet_monitor.web.api import bp as api_bp
from fleet_monitor.web.auth import bp as auth_bp
from fleet_monitor.web.case_photos import allow_photo_uploads
from fleet_monitor.web.enforcement import register as register_notices
from fleet_monitor.web.gbfs_geofencing import bp as gbfs_geofencing_bp
from fleet_monitor.web.map import bp as map_bp
from fleet_monitor.web.mds_api import bp as mds_api_bp
from fleet_monitor.web.nearby import bp as nearby_bp
from fleet_monitor.web.proxies import TrustedProxies
from fleet_monitor.web.respond import init_upload_limit
from fleet_monitor.web.stats import register as register_stats
from fleet_monitor.web.stats_pack import register as register_stats_pack

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
        FLEET_TRUSTED_PROXIES=settings.web.trusted_proxies,
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
    proxies = tuple(app.config["FLEET_TRUSTED_PROXIES"])
    if proxies:
        app.wsgi_app = TrustedProxies(app.wsgi_app, proxies)  # type: ignore[method-assign]

    security.init_app(
        app, tile_url=settings.web.tile_url, hsts_max_age_s=settings.web.hsts_max_age_s
    )
    init_upload_limit(app)  # before params reads any form: the upload endpoints' body limit
    params.init_app(app)  # first: checks every request's strings before anything reads them
    i18n.init_app(app, default=settings.city.locale, timezone=settings.city.timezone)
    permissions.init_app(app)
    throttle.init_app(app)
    labels.init_app(app)
    # the on-site check's photo may exceed MAX_CONTENT_LENGTH (before CSRF reads the form)
    app.before_request(allow_photo_uploads)
    CSRFProtect(app)
    audit.init_app(app)
    app.jinja_env.globals["city_name"] = settings.city.name
    errors.init_app(app, app.extensions[ENGINE_KEY])
    app.register_blueprint(auth_bp)
    app.register_blueprint(map_bp)
    app.register_blueprint(nearby_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(admin_rules_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(mds_api_bp)  # /mds/...: MDS 2.0 Policy and Geography
    app.register_blueprint(gbfs_geofencing_bp)  # /gbfs/<version>/geofencing_zones.json
    register_notices(app)
    register_stats(app)
    register_stats_pack(app)  # /stats/pack: the negotiation pack (staff)
    register_accounts(app)
    basemap.init_app(app, settings)  # local tiles, street layer, nearest address
    register_resident_reports(app)
    return app


def register_resident_reports(app: Flask) -> None:
    """Residents' reports (issue 15): the public page, the inbox and Open311 (no CSRF
    token there: other systems post to it; see fleet_monitor.web.open311)."""
    from fleet_monitor.web.open311 import bp as open311_bp
    from fleet_monitor.web.open311_discovery import bp as discovery_bp
    from fleet_monitor.web.resident import bp as resident_bp

    # the city's settings of residents' reports, from the environment unless the app
    # config has them (the rate limit: a whole number of reports an hour)
    keys = ("FLEET_OPEN311_API_KEY", "FLEET_OPEN311_JURISDICTION_ID")
    for key in (*keys, "FLEET_RESIDENT_REPORTS_PER_HOUR"):
        if not app.config.get(key) and os.environ.get(key, "").strip():
            app.config[key] = os.environ[key].strip()
    app.config.setdefault("FLEET_RESIDENT_REPORTS_PER_HOUR", 5)
    try:
        int(app.config["FLEET_RESIDENT_REPORTS_PER_HOUR"])
    except (TypeError, ValueError):
        raise ValueError(
            "FLEET_RESIDENT_REPORTS_PER_HOUR must be a whole number of reports an hour"
        ) from None
    app.register_blueprint(resident_bp)
    app.register_blueprint(open311_bp)
    app.register_blueprint(discovery_bp)
    app.extensions["csrf"].exempt(open311_bp)


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
    if settings.web.cookie_secure is not None:
        return settings.web.cookie_secure
    return _env_flag("FLEET_WEB_COOKIE_SECURE")


def _secret_key(settings: Settings) -> str:
    if settings.web.secret_key is not None and settings.web.secret_key.reveal():
        return settings.web.secret_key.reveal()
    if settings.web.workers > 1:
        raise ConfigError(
            "web.secret_key_env",
            f"{settings.web.workers} web workers need a shared secret key: set FLEET_SECRET_KEY "
            "(or web.secret_key_env / web.secret_key_file); each worker would otherwise "
            "sign sessions the others reject",
        )
    log.warning(
        "no web secret key (FLEET_SECRET_KEY, web.secret_key_env or web.secret_key_file): "
        "using a random key for this process; everyone is signed out at each restart"
    )
    return secrets.token_urlsafe(48)
