"""A notice's document: its JSON payload (the webhook body), PDF and e-mail.

The payload is built once, when the notice is issued, and stored with the
notice; the PDF is printed from it at its first need and stored with its
SHA-256 (``notices.printed``). Every delivery of the notice (e-mail to each
address, webhook) carries that same content.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from fleet_monitor.history.evidence import violation_fetch_hashes
from fleet_monitor.models.notices import Notice
from fleet_monitor.notices import legal
from fleet_monitor.outbox.documents import bilingual_rule, iso_z, local_time
from fleet_monitor.outbox.message import Attachment, EmailMessageSpec, WebhookMessageSpec
from rules import Permit
from rules.registry import rule_deadline

PAYLOAD_VERSION = 2


def _hours(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:g} h"


def deadline_terms(permit: Permit, rules: Iterable[str] = ()) -> dict[str, Any]:
    """The permit's deadlines, and those of the notice's ``rules`` that have their own
    (the permit's ``[notices.deadlines]``, else the registry's default): the notice's
    deadline is the shortest (``rules.registry.notice_deadline``)."""
    n = permit.notices
    own = {r: d for r in sorted(set(rules)) if (d := rule_deadline(permit, r)) is not None}
    day, night = _hours(n.day_deadline.total_seconds()), _hours(n.night_deadline.total_seconds())
    start, end = f"{n.day_start:%H:%M}", f"{n.day_end:%H:%M}"
    text = (
        f"{day} de {start} à {end}, {night} sinon / {day} from {start} to {end}, {night} otherwise"
    )
    if own:
        text = (
            "; ".join(f"{_hours(d.total_seconds())} : {bilingual_rule(r)}" for r, d in own.items())
            + f". Autres manquements / Other breaches : {text}"
        )
    return {
        "day_deadline_s": n.day_deadline.total_seconds(),
        "night_deadline_s": n.night_deadline.total_seconds(),
        "day_start": n.day_start.strftime("%H:%M"),
        "day_end": n.day_end.strftime("%H:%M"),
        "by_rule_s": {r: d.total_seconds() for r, d in own.items()},
        "text": text,
    }


def build_payload(
    *,
    reference: str,
    notice: Notice,
    operator_name: str,
    items: list[dict[str, Any]],
    permit: Permit,
    issued_at: datetime,
    deadline_at: datetime | None,
    city: str,
    public_url: str,
    kind: str = "breach",
    escalation: dict[str, Any] | None = None,
    letterhead: dict[str, Any] | None = None,
    respond_link: str | None = None,
    respond_link_expires: datetime | None = None,
) -> dict[str, Any]:
    """The notice as JSON (times in UTC ISO 8601): what the PDF shows and the webhook posts."""
    base = public_url.rstrip("/")
    fr, en = legal.KIND_NAMES[kind]
    out_items = []
    for it in items:
        label = legal.measure_label(it["rule_type"])
        out_items.append(
            {
                "violation_id": it["violation_id"],
                "rule_type": it["rule_type"],
                "clause": it["clause"],
                "legal_clause": legal.clause_text(permit, it["rule_type"]),
                "vehicle": {"gbfs_id": it["gbfs_id"], "vehicle_id": it["vehicle_id"]},
                "position": None
                if it["lon"] is None
                else {"lon": round(it["lon"], 6), "lat": round(it["lat"], 6)},
                "zone": {"id": it.get("zone_id"), "name": it.get("zone_name") or None},
                # nearest address (fleet_monitor.addresses): label, distance_m, ...; or None
                "address": it.get("address"),
                "district": it.get("district_name") or None,
                "since": iso_z(it["since"]),
                "detected_at": iso_z(it["opened_at"]),
                "measured": it["measured"],
                "unit": it["unit"],
                "measure": {
                    "label_fr": label[0],
                    "label_en": label[1],
                    "text": legal.measure_text(it["measured"], it["unit"]),
                },
                "threshold": it["threshold"],
                "penalty_eur_if_overdue": it["penalty_eur"],
                "evidence": {"sha256": it["evidence_sha256"], "raw_hashes": it["raw_hashes"]},
                "map": it.get("situation"),
            }
        )
    total = sum(float(it["penalty_eur"] or 0) for it in items)
    return {
        "version": PAYLOAD_VERSION,
        "type": "notice",
        "kind": kind,
        "title": {"fr": fr, "en": en},
        "escalation": escalation or {},
        "reference": reference,
        "city": city,
        "letterhead": letterhead or {},
        "operator": {"slug": notice.operator_slug, "name": operator_name},
        "urgent": notice.urgent,
        "issued_at": iso_z(issued_at),
        "deadline_at": iso_z(deadline_at),
        "timezone": permit.timezone,
        "permit": {
            "version": permit.version,
            "name": permit.name,
            "deadline_terms": deadline_terms(permit, [it["rule_type"] for it in items]),
            **legal.legal_dict(permit),
        },
        "items": out_items,
        "total_penalty_eur": total,
        "respond": {
            "link": respond_link,
            "link_expires_at": iso_z(respond_link_expires),
            "page": f"{base}/notices/{notice.id}" if base else None,
            "api_acknowledge": f"{base}/api/notices/{reference}/acknowledge" if base else None,
            "api_dispute": f"{base}/api/notices/{reference}/dispute" if base else None,
        },
    }


def render_pdf(payload: dict[str, Any], logo_path: str | None = None) -> bytes:
    """The notice's PDF, printed from its HTML (``document_html``): same payload, same bytes."""
    from fleet_monitor.notices.document_html import render_notice_pdf

    return render_notice_pdf(payload, logo_path)


def pdf_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def compose_email(notice: Notice, pdf: bytes) -> EmailMessageSpec:
    """The e-mail: the same partials as the PDF (``document_html``), the PDF attached."""
    from fleet_monitor.notices.document_html import email_html, email_text

    payload = notice.payload or {}
    tz = payload["timezone"]
    deadline = ""
    if payload.get("deadline_at"):  # a penalty statement has none
        at = local_time(datetime.fromisoformat(payload["deadline_at"]), tz)
        deadline = f" – échéance/deadline {at}"
    urgent = "URGENT " if payload["urgent"] else ""
    title = payload.get("title") or {"fr": "Avis de manquement", "en": "Notice of breach"}
    subject = (
        f"[{payload['reference']}] {urgent}{title['fr']} / {title['en']} – "
        f"{payload['operator']['name']}{deadline}"
    )
    return EmailMessageSpec(
        subject=subject,
        html=email_html(payload),
        text=email_text(payload),
        attachments=(Attachment(f"{payload['reference']}.pdf", "application/pdf", pdf),),
        headers=(("X-Fleet-Notice", payload["reference"]),),
    )


def compose_webhook(notice: Notice, pdf_sha256: str) -> WebhookMessageSpec:
    body = orjson.dumps(
        {"event": "notice.issued", "notice": notice.payload, "pdf_sha256": pdf_sha256},
        option=orjson.OPT_SORT_KEYS,
    )
    return WebhookMessageSpec(event="notice.issued", body=body, operator_slug=notice.operator_slug)


def evidence_of(session: Session, violation_ids: list[int]) -> dict[int, tuple[str | None, list]]:
    """Per violation: the hash of the latest feed file showing it, and every raw hash."""
    rows = violation_fetch_hashes(session, violation_ids)
    out: dict[int, tuple[str | None, list]] = {}
    for vid, last_hash, raw_hashes in rows:
        hashes = [h for h in raw_hashes if isinstance(h, str)]
        out[vid] = (last_hash or (hashes[-1] if hashes else None), hashes)
    return out
