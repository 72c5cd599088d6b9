"""Names shown for notice kinds, delivery states and disputes (template globals)."""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext as _


def notice_kind_label(kind: str) -> str:
    names = {
        "breach": _("Notice of breach"),
        "formal": _("Formal notice"),
        "penalty_statement": _("Penalty statement"),
    }
    return names.get(kind, kind)


def delivery_state_label(state: str) -> str:
    names = {
        "read": _("read by the operator"),
        "delivered": _("delivered"),
        "sent": _("sent (accepted by the mail server)"),
        "pending": _("waiting to be sent"),
        "unknown": _("outcome unknown"),
        "failed": _("failed"),
        "no_contact": _("not sent: no contact"),
    }
    return names.get(state, state)


def dispute_status_label(status: str) -> str:
    names = {
        "open": _("disputed, awaiting the city's decision"),
        "upheld": _("dispute upheld"),
        "rejected": _("dispute rejected"),
    }
    return names.get(status, status)


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        notice_kind_label=notice_kind_label,
        delivery_state_label=delivery_state_label,
        dispute_status_label=dispute_status_label,
    )
