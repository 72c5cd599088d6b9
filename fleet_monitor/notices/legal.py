"""What makes a notice a legal act: its name on the escalation ladder, who sends
it (letterhead, signatory, contact), the legal text it quotes, the label of each
measured value, and the signed link the operator responds through.

The ladder (French administrative practice; never call one act by another's name):

============================  =====================  ==============================
kind                          French                 English
============================  =====================  ==============================
``breach``                    Avis de manquement     Notice of breach
``formal``                    Mise en demeure        Formal notice
``penalty_statement``         État des pénalités     Penalty statement
============================  =====================  ==============================

Which act a notice is, is decided by the permit's ``[escalation]`` rules
(``rules.inputs.EscalationTerms``) from the operator's record: see ``decide_kind``.

The respond link carries the notice id, reference and an expiry, signed with
the web secret (itsdangerous, its own salt). The expiry is checked against the
app's clock (the demo's simulated one too), not the signer's wall clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import text
from sqlalchemy.orm import Session

from fleet_monitor.settings import LetterheadSettings
from rules import Permit

KIND_NAMES: dict[str, tuple[str, str]] = {
    "breach": ("Avis de manquement", "Notice of breach"),
    "formal": ("Mise en demeure", "Formal notice"),
    "penalty_statement": ("État des pénalités", "Penalty statement"),
}

DURATION_RULES = {"idle_too_long", "disabled_too_long"}
INSIDE_RULES = {"in_no_parking_area", "in_pedestrian_area", "in_water", "on_tram_tracks"}
OUTSIDE_RULES = {"outside_operating_area", "outside_mandatory_parking"}


def kind_title(kind: str) -> str:
    fr, en = KIND_NAMES.get(kind, KIND_NAMES["breach"])
    return f"{fr} / {en}"


def measure_label(rule: str) -> tuple[str, str]:
    """What the measured value of a rule is, in French and English."""
    if rule == "idle_too_long":
        return ("Immobilisé depuis", "Idle for")
    if rule == "disabled_too_long":
        return ("Hors service depuis", "Disabled for")
    if rule in INSIDE_RULES:
        return ("Profondeur dans la zone", "Depth inside the zone")
    if rule in OUTSIDE_RULES:
        return ("Distance à la zone autorisée", "Distance to the allowed area")
    return ("Valeur mesurée", "Measured value")


def measure_text(value: float | None, unit: str | None) -> str:
    """The measured value as the notice prints it, French decimal comma (``3,2 j/d (77 h)``)."""
    if value is None:
        return "—"
    if unit == "s":
        hours = value / 3600
        text = f"{hours / 24:.1f} j/d ({hours:.0f} h)" if hours >= 48 else f"{hours:.1f} h"
    elif unit == "m":
        text = f"{value:.0f} m"
    else:
        text = f"{value:g} {unit or ''}".strip()
    return text.replace(".", ",")


def letterhead_dict(head: LetterheadSettings) -> dict[str, Any]:
    return {
        "authority": head.authority,
        "department": head.department,
        "address": list(head.address),
        "signatory_name": head.signatory_name,
        "signatory_title": head.signatory_title,
        "contact_email": head.contact_email,
        "contact_phone": head.contact_phone,
    }


def legal_dict(permit: Permit) -> dict[str, Any]:
    return {
        "municipal_order": permit.legal.municipal_order,
        "legal_basis": list(permit.legal.legal_basis),
    }


def clause_text(permit: Permit, rule: str) -> dict[str, str] | None:
    c = permit.legal.clauses.get(rule)
    return None if c is None else {"article": c.article, "text": c.text}


# --------------------------------------------------------------------------- escalation

MISSED_SQL = """
SELECT count(DISTINCT n.id) FROM notice n
JOIN notice_item i ON i.notice_id = n.id AND i.outcome = 'overdue'
LEFT JOIN notice_dispute d ON d.notice_item_id = i.id
WHERE n.operator_id = :op AND n.kind IN ('breach', 'formal') AND n.checked_at >= :since
  AND n.checked_at <= :now AND (d.status IS NULL OR d.status <> 'upheld')
"""
NOTICES_SQL = """
SELECT count(*) FROM notice WHERE operator_id = :op AND kind IN ('breach', 'formal')
  AND status IN ('issued', 'closed') AND issued_at >= :since AND issued_at <= :now
"""


def decide_kind(
    session: Session, operator_id: int, permit: Permit, now: datetime
) -> tuple[str, dict[str, Any]]:
    """``formal`` when the permit's escalation rules say so, else ``breach``; and why."""
    esc = permit.escalation
    since = now - esc.lookback
    args = {"op": operator_id, "since": since, "now": now}
    missed = int(session.execute(text(MISSED_SQL), args).scalar_one())
    previous = int(session.execute(text(NOTICES_SQL), args).scalar_one())
    why: dict[str, Any] = {
        "missed_deadlines": missed,
        "notices": previous,
        "lookback_days": esc.lookback / timedelta(days=1),
        "rule": None,
    }
    if esc.formal_after_missed_deadlines and missed >= esc.formal_after_missed_deadlines:
        why["rule"] = f"formal_after_missed_deadlines = {esc.formal_after_missed_deadlines}"
        return "formal", why
    if esc.formal_after_notices and previous >= esc.formal_after_notices:
        why["rule"] = f"formal_after_notices = {esc.formal_after_notices}"
        return "formal", why
    return "breach", why


def escalation_text(kind: str, why: dict[str, Any]) -> str:
    if kind != "formal":
        return ""
    days = f"{why.get('lookback_days', 30):g}"
    return (
        f"Mise en demeure : {why.get('missed_deadlines', 0)} échéance(s) non respectée(s) et "
        f"{why.get('notices', 0)} avis sur les {days} derniers jours (règle de l’autorisation : "
        f"{why.get('rule')}). / Formal notice: {why.get('missed_deadlines', 0)} missed "
        f"deadline(s) and {why.get('notices', 0)} notices in the last {days} days."
    )


# --------------------------------------------------------------------------- respond link

SALT = "fleet-monitor.notice-respond"


class LinkError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT)


def make_respond_token(secret: str, notice_id: int, reference: str, expires: datetime) -> str:
    return str(
        _serializer(secret).dumps({"n": notice_id, "r": reference, "e": int(expires.timestamp())})
    )


def read_respond_token(secret: str, token: str, now: datetime) -> tuple[int, str]:
    """(notice id, reference) of a valid token; ``LinkError('invalid'|'expired')``."""
    if not token or len(token) > 512:
        raise LinkError("invalid")
    try:
        data = _serializer(secret).loads(token)
    except BadSignature:
        raise LinkError("invalid") from None
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), t) for k, t in (("n", int), ("r", str), ("e", int))
    ):
        raise LinkError("invalid")
    if now.timestamp() > data["e"]:
        raise LinkError("expired")
    return data["n"], data["r"]
