"""Error pages and answers: in the user's language on pages, JSON on the API.

* A bad parameter (:class:`fleet_monitor.web.params.BadParameter`): 400 with
  what is wrong;
* a database outage (:data:`fleet_monitor.health.OUTAGE_ERRORS`): 503 saying
  the service is degraded, on every page and the API, ``Retry-After`` set. The
  error page is rendered without touching the database. The outage is logged
  once per interval (app config or environment ``FLEET_OUTAGE_LOG_INTERVAL_S``,
  60 s by default), not per
  request, and once when the database is back (the engine's first new
  connection after it);
* other HTTP errors: their page.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, g, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import Engine, event
from werkzeug.exceptions import HTTPException

from fleet_monitor.health import OUTAGE_ERRORS, OutageLog, outage_log_interval_s
from fleet_monitor.web import permissions
from fleet_monitor.web.params import BadParameter

log = logging.getLogger(__name__)

OUTAGE_KEY = "fleet_monitor.outage"
RETRY_AFTER_S = 30


def outage_log(app: Flask) -> OutageLog:
    outage: OutageLog = app.extensions[OUTAGE_KEY]
    return outage


def unavailable() -> Response:
    """The 503 answer (page or JSON); renders nothing that reads the database."""
    if permissions.is_api_request():
        response = jsonify(
            error="service unavailable: the database cannot be reached; try again shortly",
            database="unreachable",
        )
    else:
        message = _(
            "The service is degraded: its database cannot be reached right now. "
            "Nothing was changed; try again in a minute."
        )
        again = permissions.safe_next(request.full_path.rstrip("?")) or url_for("map.index")
        page = render_template("error.html", code=503, message=message, retry_url=again)
        response = Response(page, mimetype="text/html")
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def init_app(app: Flask, engine: Engine) -> None:
    interval = float(app.config.setdefault("FLEET_OUTAGE_LOG_INTERVAL_S", outage_log_interval_s()))
    outage = OutageLog(log, interval_s=interval)
    app.extensions[OUTAGE_KEY] = outage
    # a new connection made after an outage means the database is back
    event.listen(engine, "connect", lambda _dbapi, _record: outage.success())

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> ResponseReturnValue:
        g.csrf_failure = exc.description  # recorded in the audit log (web.audit)
        if permissions.is_api_request():
            return jsonify(error=f"CSRF check failed: {exc.description}"), 400
        message = _("This form has expired or was not sent by this site. Reload and try again.")
        return render_template("error.html", code=400, message=message), 400

    @app.errorhandler(BadParameter)
    def _bad_parameter(exc: BadParameter) -> ResponseReturnValue:
        if permissions.is_api_request():
            return jsonify(error=exc.description, parameter=exc.parameter), 400
        return render_template("error.html", code=400, message=exc.description), 400

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> ResponseReturnValue:
        code = exc.code or 500
        if request.path.startswith("/open311/"):  # GeoReport v2's error list
            from fleet_monitor.web.open311 import routing_error

            return routing_error(code, request.path)
        if permissions.is_api_request():
            return jsonify(error=exc.name), code
        messages = {
            400: _("This request is not valid."),
            403: _("Your account does not give access to this page."),
            404: _("This page does not exist."),
        }
        message = messages.get(code, exc.name)
        return render_template("error.html", code=code, message=message), code

    def _database_outage(exc: Exception) -> ResponseReturnValue:
        outage.failure(exc)
        return unavailable()

    for error in OUTAGE_ERRORS:
        app.register_error_handler(error, _database_outage)  # type: ignore[arg-type]
