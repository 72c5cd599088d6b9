"""Fleets declared by the operators, per period: list, form, CSV upload, deletion.

Every signed-in account may read the declarations it may see; supervisors and
administrators enter them for any operator, operator accounts for their own.
Changes are recorded in the audit log.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from datastore.connection import driver_connection
from fleet_monitor.stats.declared import (
    MAX_DECLARED,
    Declaration,
    DeclaredError,
    check_declared,
    check_form_factor,
    delete_declared,
    import_csv,
    list_declared,
    operator_ids,
    store,
)
from fleet_monitor.stats.periods import PeriodError, parse_period
from fleet_monitor.web.audit import audit
from fleet_monitor.web.db import get_engine, get_settings
from fleet_monitor.web.params import has_control
from fleet_monitor.web.permissions import current_user, require_role, visible_operator_ids

bp = Blueprint("stats_declared", __name__, url_prefix="/stats/declared")

EDITORS = ("supervisor", "admin", "operator")
MAX_CSV_BYTES = 512 * 1024
MAX_NOTE = 500


def _visible() -> frozenset[int] | None:
    return visible_operator_ids(current_user())


@bp.get("")
def declared() -> str:
    scope = _visible()
    raw = get_engine().raw_connection()
    try:
        with driver_connection(raw).cursor() as cur:
            rows = list_declared(cur, scope)
            operators = sorted(
                (slug, i) for slug, i in operator_ids(cur).items() if scope is None or i in scope
            )
    finally:
        raw.close()
    user = current_user()
    return render_template(
        "stats/declared.html",
        rows=rows,
        operators=[slug for slug, _i in operators],
        can_edit=user is not None and user.role in EDITORS,
    )


def _declaration(
    form: Mapping[str, str], operator_id: int, slug: str, timezone: str
) -> Declaration | str:
    """The declaration of the form, or what is wrong with it (in the user's language)."""
    try:
        form_factor = check_form_factor(form.get("form_factor"))
    except DeclaredError:
        return _("the vehicle type may hold letters and “_” only (e.g. scooter_standing).")
    try:
        period = parse_period(form.get("period", "").strip(), timezone)
    except PeriodError:
        return _("the period must be a day, an ISO week, a month, a year or FIRST..LAST.")
    try:
        declared = check_declared(form.get("declared", ""))
    except DeclaredError:
        return _("the declared fleet must be a whole number from 0 to %(max)s.", max=MAX_DECLARED)
    note = (form.get("note") or "").strip()
    if len(note) > MAX_NOTE:
        return _("the note is too long (at most %(n)s characters).", n=MAX_NOTE)
    return Declaration(operator_id, slug, form_factor, period, declared, note)


@bp.post("")
@require_role(*EDITORS)
def add() -> ResponseReturnValue:
    scope = _visible()
    settings = get_settings()
    form = request.form
    raw = get_engine().raw_connection()
    try:
        with driver_connection(raw).cursor() as cur:
            ids = operator_ids(cur)
            slug = form.get("operator", "")
            if slug not in ids or (scope is not None and ids[slug] not in scope):
                abort(404)
            declaration = _declaration(form, ids[slug], slug, settings.city.timezone)
            if isinstance(declaration, str):
                flash(_("Not saved: %(problem)s", problem=declaration), "error")
                return redirect(url_for("stats_declared.declared"))
            user = current_user()
            store(
                cur,
                declaration,
                source="ui",
                entered_by_id=user.id if user else None,
                entered_by=user.email if user else None,
            )
        driver_connection(raw).commit()
    finally:
        raw.close()
    audit(
        "stats.declared_fleet.saved",
        operator_id=declaration.operator_id,
        period=declaration.period.label,
        form_factor=declaration.form_factor,
        declared=declaration.declared,
    )
    flash(_("Declared fleet saved."), "info")
    return redirect(url_for("stats_declared.declared"))


@bp.post("/import")
@require_role(*EDITORS)
def upload() -> ResponseReturnValue:
    file = request.files.get("file")
    data = file.read(MAX_CSV_BYTES + 1) if file else b""
    if not data or len(data) > MAX_CSV_BYTES:
        flash(_("Choose a CSV file of at most 512 kB."), "error")
        return redirect(url_for("stats_declared.declared"))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        flash(_("The file is not UTF-8 text."), "error")
        return redirect(url_for("stats_declared.declared"))
    if has_control(text, form=True):
        flash(_("The file holds control characters (such as NUL): nothing was imported."), "error")
        return redirect(url_for("stats_declared.declared"))
    user = current_user()
    raw = get_engine().raw_connection()
    try:
        with driver_connection(raw).cursor() as cur:
            result = import_csv(
                cur,
                text,
                get_settings().city.timezone,
                source="csv",
                allowed=_visible(),
                entered_by_id=user.id if user else None,
                entered_by=user.email if user else None,
            )
        if result.errors:
            driver_connection(raw).rollback()
        else:
            driver_connection(raw).commit()
    finally:
        raw.close()
    if result.errors:
        for error in result.errors[:20]:
            flash(error, "error")
        flash(_("Nothing was imported."), "error")
    else:
        audit(
            "stats.declared_fleet.imported",
            rows=len(result.stored),
            file=(file.filename or "")[:200] if file else "",
        )
        flash(_("%(n)d declarations imported.", n=len(result.stored)), "info")
    return redirect(url_for("stats_declared.declared"))


@bp.post("/<int:declared_id>/delete")
@require_role(*EDITORS)
def delete(declared_id: int) -> ResponseReturnValue:
    raw = get_engine().raw_connection()
    try:
        with driver_connection(raw).cursor() as cur:
            operator_id = delete_declared(cur, declared_id, _visible())
        driver_connection(raw).commit()
    finally:
        raw.close()
    if operator_id is None:
        abort(404)
    audit("stats.declared_fleet.deleted", operator_id=operator_id, declared_id=declared_id)
    flash(_("Declaration deleted."), "info")
    return redirect(url_for("stats_declared.declared"))
