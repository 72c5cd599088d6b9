"""The enforcement pages: case files, notices (pages and API) and daily reports.

``register`` adds their four blueprints to the app.

``FLEET_CLOCK`` (app config, optional): a callable giving "now" for the
records these pages write (the demo passes its simulated clock).
"""

from __future__ import annotations

from flask import Flask

from fleet_monitor.web.cases import bp as cases_bp
from fleet_monitor.web.disputes import bp as disputes_bp
from fleet_monitor.web.notices import bp as notices_bp
from fleet_monitor.web.notices_api import bp as notices_api_bp
from fleet_monitor.web.reports import bp as reports_bp
from fleet_monitor.web.respond import bp as respond_bp


def register(app: Flask) -> None:
    app.register_blueprint(cases_bp)
    app.register_blueprint(notices_bp)
    app.register_blueprint(notices_api_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(disputes_bp)
    app.register_blueprint(respond_bp)
