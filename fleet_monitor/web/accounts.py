"""Account pages beyond sign-in: sessions, two-factor sign-in, password reset."""

from __future__ import annotations

from flask import Flask

from fleet_monitor.web.account_sessions import bp as sessions_bp
from fleet_monitor.web.password_reset import available as reset_available
from fleet_monitor.web.password_reset import bp as reset_bp
from fleet_monitor.web.two_factor import bp as two_factor_bp


def register(app: Flask) -> None:
    app.register_blueprint(sessions_bp)
    app.register_blueprint(two_factor_bp)
    app.register_blueprint(reset_bp)
    settings = app.extensions["fleet_monitor.settings"]
    app.jinja_env.globals["password_reset_available"] = reset_available(settings)
