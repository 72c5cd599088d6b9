"""Names shown for codes stored in English: roles, audit events, vehicle states, and
the codes of case files, notices, deliveries and reports.

One catalogue, registered as template globals by :func:`init_app` (called by
the app factory). Strings go through Flask-Babel, except the names of rule
types and zone kinds, which ``rules.registry`` declares in both languages.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext as _

from fleet_monitor.web.i18n import current_language
from rules import registry


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


def rule_label(rule: str) -> str:
    """A rule type's name in the page's language, as ``rules.registry`` declares it."""
    return registry.rule_label(rule, current_language())


def zone_label(kind: str) -> str:
    """A zone kind's name in the page's language (``rules.registry``)."""
    return registry.zone_kind_label(kind, current_language())


def case_status_label(status: str) -> str:
    names = {
        "open": _("Open"),
        "confirmed": _("Confirmed on site"),
        "resolved": _("Resolved"),
        "dismissed": _("Dismissed"),
    }
    return names.get(status, status)


def violation_state_label(state: str) -> str:
    names = {"open": _("in progress"), "held": _("on hold (feed outage)"), "closed": _("ended")}
    return names.get(state, state)


def event_kind_label(kind: str) -> str:
    names = {
        "opened": _("Detected"),
        "updated": _("Changed"),
        "held": _("On hold: operator's feed in outage"),
        "resumed": _("Resumed"),
        "closed": _("Ended"),
        "dwell": _("Stay"),
        "comment": _("Comment"),
        "on_site": _("On-site check"),
        "status": _("Status changed"),
        "notice": _("Notice"),
        "dispute": _("Disputed by the operator"),
        "dispute_upheld": _("Dispute upheld"),
        "dispute_rejected": _("Dispute rejected"),
        "notice_read": _("Read by the operator"),
    }
    return names.get(kind, kind)


def closed_reason_label(reason: str | None) -> str:
    names = {
        "resolved": _("no longer breached"),
        "vehicle_moved": _("the vehicle moved"),
        "state_changed": _("the vehicle changed state"),
        "vehicle_gone": _("the vehicle is no longer listed"),
        "new_episode": _("a new episode began"),
        "no_permit": _("no permit in force"),
        "moved": _("moved"),
        "state": _("changed state"),
        "vanished": _("no longer listed"),
        "absent": _("missing from a complete feed file (rented or removed)"),
        "gap": _("a gap in the feed's history too long to bridge"),
    }
    return names.get(reason or "", reason or "")


def notice_status_label(status: str) -> str:
    names = {
        "draft": _("Draft"),
        "issued": _("Issued"),
        "cancelled": _("Cancelled"),
        "closed": _("Checked"),
    }
    return names.get(status, status)


def delivery_status_label(status: str) -> str:
    names = {
        "pending": _("waiting"),
        "sending": _("sending"),
        "sent": _("sent"),
        "failed": _("failed"),
        "unknown": _("outcome unknown"),
        "cancelled": _("cancelled"),
    }
    return names.get(status, status)


def outcome_label(outcome: str | None) -> str:
    names = {
        "remedied": _("remedied"),
        "overdue": _("overdue"),
        "partial": _("partly overdue"),
        "undetermined": _("undetermined"),
        "removed": _("vehicle removed"),
        "moved": _("vehicle moved"),
        "repaired": _("vehicle repaired"),
        "still_there": _("still in place"),
        "not_delivered": _("notice not delivered"),
        "no_data": _("no feed data"),
        "feed_outage": _("feed outage"),
        "no_vehicle": _("vehicle unknown"),
        "restriction_ended": _("the restriction ended before the deadline"),
    }
    return names.get(outcome or "", outcome or "")


def response_label(response: str | None) -> str:
    names = {"acknowledged": _("Acknowledged"), "disputed": _("Disputed")}
    return names.get(response or "", response or "")


def confidence_label(value: str) -> str:
    names = {
        "observed": _("arrival observed"),
        "first_seen": _("at least, already there at the first poll"),
        "after_gap": _("at least, seen again after a gap in the feed's history"),
    }
    return names.get(value, value)


def channel_label(channel: str) -> str:
    names = {"email": _("E-mail"), "webhook": _("Webhook")}
    return names.get(channel, channel)


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        role_name=role_name,
        state_name=state_name,
        event_name=event_name,
        event_family_name=event_family_name,
        rule_label=rule_label,
        case_status_label=case_status_label,
        violation_state_label=violation_state_label,
        event_kind_label=event_kind_label,
        closed_reason_label=closed_reason_label,
        notice_status_label=notice_status_label,
        delivery_status_label=delivery_status_label,
        outcome_label=outcome_label,
        response_label=response_label,
        confidence_label=confidence_label,
        channel_label=channel_label,
        zone_label=zone_label,
    )
