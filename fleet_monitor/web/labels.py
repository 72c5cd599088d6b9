"""Names shown for codes stored in English (roles, audit events, vehicle states)."""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext as _


def role_name(role: str) -> str:
    names = {
        "officer": _("Officer"),
        "supervisor": _("Supervisor"),
        "admin": _("Administrator"),
        "operator": _("Operator staff"),
    }
    return names.get(role, role)


def state_name(state: str) -> str:
    names = {"available": _("available"), "reserved": _("reserved"), "disabled": _("disabled")}
    return names.get(state, state)


def event_family_name(family: str) -> str:
    names = {
        "login": _("Sign-ins"),
        "logout": _("Sign-outs"),
        "account": _("Accounts"),
        "password": _("Passwords"),
        "notice": _("Notices"),
        "case": _("Case files"),
        "export": _("Exports"),
    }
    return names.get(family, family)


def event_name(event: str) -> str:
    """A readable name for an audit event; unknown events show their code."""
    names = {
        "login.success": _("Signed in"),
        "login.failure": _("Failed sign-in"),
        "login.refused": _("Sign-in refused (locked)"),
        "logout": _("Signed out"),
        "account.created": _("Account created"),
        "account.disabled": _("Account disabled"),
        "account.enabled": _("Account enabled"),
        "password.changed": _("Password changed"),
    }
    return names.get(event, event)


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        role_name=role_name,
        state_name=state_name,
        event_name=event_name,
        event_family_name=event_family_name,
    )
