"""``/admin/rules``: what the rules engine could not use in the configuration.

Zones and permits skipped by the engine (errors) or used after a repair
(warnings), rules runs voided because they were dated in the future, each with
the reason and when it was met (``fleet_monitor.violations.config_errors``).
Admin role only. The reasons are the engine's own words (English, technical);
the page around them is translated.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from fleet_monitor.violations.config_errors import SHOWN_RESOLVED, list_config_errors
from fleet_monitor.violations.queries import latest_run
from fleet_monitor.web.db import get_engine
from fleet_monitor.web.permissions import require_role

bp = Blueprint("admin_rules", __name__, url_prefix="/admin")


def kind_name(kind: str) -> str:
    names = {
        "zone": _("Zone"),
        "permit": _("Permit"),
        "zones": _("All zones"),
        "evaluation": _("Evaluation"),
        "rules_run": _("Rules runs"),
    }
    return names.get(kind, kind)


def severity_name(severity: str) -> str:
    names = {"error": _("Skipped"), "warning": _("Used, with a warning")}
    return names.get(severity, severity)


@bp.get("/rules")
@require_role("admin")
def config_errors() -> ResponseReturnValue:
    with Session(get_engine()) as s:
        rows = list_config_errors(s)
        run = latest_run(s)
    return render_template(
        "admin/rules_config.html",
        current=[r for r in rows if r["resolved_at"] is None],
        resolved=[r for r in rows if r["resolved_at"] is not None],
        latest_run=run,
        shown_days=SHOWN_RESOLVED.days,
        kind_name=kind_name,
        severity_name=severity_name,
    )
