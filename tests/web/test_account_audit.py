"""The audit log records refused access (403/404), CSRF failures, failed password
changes and the statistics API."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from fleet_monitor.models.users import AuditEvent
from tests.web.conftest import PASSWORD, csrf_token, signed_in


def audit(engine: Engine, prefix: str) -> list[AuditEvent]:
    with Session(engine) as s:
        rows = s.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [e for e in rows if e.event.startswith(prefix)]


def test_refused_access_is_recorded(app: Flask, engine: Engine) -> None:
    officer = signed_in(app, engine, "officer@annecy.example", "officer")
    assert officer.get("/admin/users").status_code == 403
    assert officer.get("/no/such/page?x=1").status_code == 404
    assert officer.get("/").status_code == 200
    refused = audit(engine, "access.refused")
    assert [(e.actor_email, e.details["status"], e.details["path"]) for e in refused] == [
        ("officer@annecy.example", 403, "/admin/users"),
        ("officer@annecy.example", 404, "/no/such/page"),
    ]
    assert refused[1].details["query"] == "x=1" and refused[0].ip == "127.0.0.1"
    # anonymous visitors are sent to the login page: nothing to record for them
    app.test_client().get("/admin/users")
    assert len(audit(engine, "access.refused")) == 2


def test_csrf_failures_are_recorded(app: Flask, engine: Engine) -> None:
    officer = signed_in(app, engine, "officer@annecy.example", "officer")
    response = officer.post("/account", data={"current": PASSWORD, "new": "x", "confirm": "x"})
    assert response.status_code == 400
    forged = officer.post("/logout", data={"csrf_token": "forged"})
    assert forged.status_code == 400
    events = audit(engine, "csrf.failed")
    assert [(e.actor_email, e.details["path"], e.details["reason"]) for e in events] == [
        ("officer@annecy.example", "/account", "The CSRF token is missing."),
        ("officer@annecy.example", "/logout", "The CSRF token is invalid."),
    ]
    assert PASSWORD not in str([e.details for e in events])


def test_failed_password_changes_are_recorded(app: Flask, engine: Engine) -> None:
    officer = signed_in(app, engine, "officer@annecy.example", "officer")

    def change(current: str, new: str, confirm: str | None = None) -> int:
        token = csrf_token(officer, "/account")
        data = {"current": current, "new": new, "confirm": confirm or new, "csrf_token": token}
        return officer.post("/account", data=data).status_code

    assert change("not my password", "a brand new passphrase") == 400
    assert change(PASSWORD, "qwerty123456") == 400  # common
    assert change(PASSWORD, "short", "short") == 400  # the form refuses it
    for _ in range(4):
        change("not my password", "a brand new passphrase")
    assert change(PASSWORD, "a brand new passphrase") == 429  # locked
    reasons = [e.details["reason"] for e in audit(engine, "password.change_failed")]
    assert reasons == [
        "wrong_current_password",
        "password_common",
        "invalid_form",
        *["wrong_current_password"] * 4,
        "locked",
    ]
    assert "password.changed" not in [e.event for e in audit(engine, "password")]


def test_statistics_api_calls_are_recorded(app: Flask, engine: Engine) -> None:
    officer = signed_in(app, engine, "officer@annecy.example", "officer")
    response = officer.get("/api/stats?period=2026-10")
    assert response.status_code in (200, 400)
    officer.get("/stats")  # the page itself is not an API call
    [event] = audit(engine, "stats.api_read")
    assert event.actor_email == "officer@annecy.example"
    assert event.details["query"] == "period=2026-10"
    assert event.details["status"] == response.status_code
