"""A notice's document: its JSON payload (the webhook body), PDF and e-mail.

The payload is built once, when the notice is issued, and stored with the
notice; the PDF is made from it and stored with its SHA-256. Every delivery
of the notice (e-mail to each address, webhook) carries that same content.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

from fleet_monitor.models.notices import Notice
from fleet_monitor.outbox.documents import (
    DocumentPDF,
    bilingual_rule,
    iso_z,
    local_time,
    template_env,
)
from fleet_monitor.outbox.message import Attachment, EmailMessageSpec, WebhookMessageSpec
from rules import Permit
from rules.registry import rule_deadline

PAYLOAD_VERSION = 1


def _hours(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:g} h"


def deadline_terms(permit: Permit, rules: Iterable[str] = ()) -> dict[str, Any]:
    """The permit's deadlines, and those of the notice's ``rules`` that have their own
    (the permit's ``[notices.deadlines]``, else the registry's default): the notice's
    deadline is the shortest (``rules.registry.notice_deadline``)."""
    n = permit.notices
    own = {r: d for r in sorted(set(rules)) if (d := rule_deadline(permit, r)) is not None}
    text = (
        f"{_hours(n.day_deadline.total_seconds())} ({n.day_start:%H:%M}-{n.day_end:%H:%M}), "
        f"{_hours(n.night_deadline.total_seconds())} sinon / otherwise"
    )
    if own:
        text = (
            "; ".join(f"{_hours(d.total_seconds())} : {bilingual_rule(r)}" for r, d in own.items())
            + f" ({text})"
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
    deadline_at: datetime,
    city: str,
    public_url: str,
) -> dict[str, Any]:
    """The notice as JSON (times in UTC ISO 8601): what the PDF shows and the webhook posts."""
    base = public_url.rstrip("/")
    return {
        "version": PAYLOAD_VERSION,
        "type": "notice",
        "reference": reference,
        "city": city,
        "operator": {"slug": notice.operator_slug, "name": operator_name},
        "urgent": notice.urgent,
        "issued_at": iso_z(issued_at),
        "deadline_at": iso_z(deadline_at),
        "timezone": permit.timezone,
        "permit": {
            "version": permit.version,
            "name": permit.name,
            "deadline_terms": deadline_terms(permit, [it["rule_type"] for it in items]),
        },
        "items": [
            {
                "violation_id": it["violation_id"],
                "rule_type": it["rule_type"],
                "clause": it["clause"],
                "vehicle": {"gbfs_id": it["gbfs_id"], "vehicle_id": it["vehicle_id"]},
                "position": None
                if it["lon"] is None
                else {"lon": round(it["lon"], 6), "lat": round(it["lat"], 6)},
                # nearest address (fleet_monitor.addresses): label, distance_m, ...; or None
                "address": it.get("address"),
                "since": iso_z(it["since"]),
                "detected_at": iso_z(it["opened_at"]),
                "measured": it["measured"],
                "unit": it["unit"],
                "threshold": it["threshold"],
                "penalty_eur_if_overdue": it["penalty_eur"],
                "evidence": {"sha256": it["evidence_sha256"], "raw_hashes": it["raw_hashes"]},
            }
            for it in items
        ],
        "respond": {
            "page": f"{base}/notices/{notice.id}" if base else None,
            "api_acknowledge": f"{base}/api/notices/{reference}/acknowledge" if base else None,
            "api_dispute": f"{base}/api/notices/{reference}/dispute" if base else None,
        },
    }


def _measure(item: dict[str, Any]) -> str:
    value, unit = item.get("measured"), item.get("unit") or ""
    if value is None:
        return "—"
    if unit == "s":
        return f"{value / 3600:.1f} h"
    return f"{value:g} {unit}".strip()


def render_pdf(payload: dict[str, Any]) -> bytes:
    tz = payload["timezone"]
    issued = datetime.fromisoformat(payload["issued_at"])
    ref = payload["reference"]
    pdf = DocumentPDF(
        title=f"{ref} – Avis de manquement / Notice of breach",
        author=payload["city"],
        created=issued,
        footer=f"{ref} · {payload['city']} · sha256 of evidence listed per vehicle",
    )
    urgent = " – URGENT" if payload["urgent"] else ""
    pdf.title_block(
        f"Avis de manquement / Notice of breach{urgent}",
        f"{payload['city']} · {payload['operator']['name']} ({payload['operator']['slug']})",
    )
    terms = payload["permit"]["deadline_terms"]
    pdf.facts(
        [
            ("Référence / Reference", ref),
            ("Émis le / Issued", f"{local_time(issued, tz)} ({tz})"),
            (
                "Échéance / Deadline",
                f"{local_time(datetime.fromisoformat(payload['deadline_at']), tz)} ({tz})",
            ),
            (
                "Autorisation / Permit",
                f"v{payload['permit']['version']} {payload['permit']['name']}".strip(),
            ),
            ("Délai / Time allowed", terms["text"]),
            ("Véhicules / Vehicles", str(len(payload["items"]))),
        ]
    )
    pdf.paragraph(
        "Les véhicules ci-dessous ne respectent pas votre autorisation d’occupation du domaine "
        "public. Déplacez-les ou retirez-les avant l’échéance ; passé ce délai, la situation est "
        "vérifiée dans votre flux GBFS et chaque véhicule encore en place donne lieu à la "
        "pénalité prévue."
    )
    pdf.paragraph(
        "The vehicles below breach your permit. Move or remove them before the deadline; after "
        "it, your GBFS feed is checked and each vehicle still in place incurs the penalty stated "
        "in the permit."
    )
    rows = []
    for it in payload["items"]:
        pos = it["position"]
        where = "—" if pos is None else f"{pos['lat']:.6f}, {pos['lon']:.6f}"
        address = it.get("address")
        if address:
            where = f"{address['label']} (~{address['distance_m']} m)\n{where}"
        since = it["since"] and local_time(datetime.fromisoformat(it["since"]), tz)
        penalty = it["penalty_eur_if_overdue"]
        rows.append(
            [
                it["vehicle"]["gbfs_id"] or "—",
                where,
                f"{bilingual_rule(it['rule_type'])}\n{it['clause']}",
                f"{since or '—'}\n{_measure(it)}",
                "—" if penalty is None else f"{penalty:g} €",
                it["evidence"]["sha256"] or "—",
            ]
        )
    pdf.heading("Véhicules / Vehicles")
    pdf.grid(
        [
            "Véhicule / Vehicle",
            "Adresse, position / Address, position",
            "Règle, clause / Rule, clause",
            "Depuis, mesure / Since, measured",
            "Pénalité / Penalty",
            "Preuve / Evidence (sha256)",
        ],
        rows,
        widths=(20, 40, 40, 22, 16, 40),
        size=7,
    )
    pdf.heading("Répondre / Respond")
    respond = payload["respond"]
    pdf.paragraph(
        "Accusez réception ou contestez depuis votre compte ou par l’API (jeton Bearer). "
        "Acknowledge or dispute from your account or through the API (Bearer token).\n"
        + "\n".join(v for v in (respond["page"], respond["api_acknowledge"]) if v)
    )
    return pdf.render()


def pdf_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def compose_email(notice: Notice) -> EmailMessageSpec:
    payload = notice.payload or {}
    env = template_env("fleet_monitor.notices")
    tz = payload["timezone"]
    context = {
        "p": payload,
        "issued": local_time(datetime.fromisoformat(payload["issued_at"]), tz),
        "deadline": local_time(datetime.fromisoformat(payload["deadline_at"]), tz),
        "since": {
            it["violation_id"]: it["since"] and local_time(datetime.fromisoformat(it["since"]), tz)
            for it in payload["items"]
        },
    }
    urgent = "URGENT " if payload["urgent"] else ""
    subject = (
        f"[{payload['reference']}] {urgent}Avis de manquement / Notice of breach – "
        f"{payload['operator']['name']} – échéance/deadline {context['deadline']}"
    )
    return EmailMessageSpec(
        subject=subject,
        html=env.get_template("notice_email.html").render(**context),
        text=env.get_template("notice_email.txt").render(**context),
        attachments=(
            Attachment(f"{payload['reference']}.pdf", "application/pdf", notice.pdf or b""),
        ),
        headers=(("X-Fleet-Notice", payload["reference"]),),
    )


def compose_webhook(notice: Notice) -> WebhookMessageSpec:
    body = orjson.dumps(
        {"event": "notice.issued", "notice": notice.payload, "pdf_sha256": notice.pdf_sha256},
        option=orjson.OPT_SORT_KEYS,
    )
    return WebhookMessageSpec(event="notice.issued", body=body, operator_slug=notice.operator_slug)


def evidence_of(session: Session, violation_ids: list[int]) -> dict[int, tuple[str | None, list]]:
    """Per violation: the hash of the latest feed file showing it, and every raw hash."""
    rows = session.execute(
        text(
            "SELECT v.id, ff.content_hash, coalesce(v.evidence->'raw_hashes', '[]'::jsonb)"
            " FROM violation v LEFT JOIN feed_fetch ff ON ff.id = v.last_fetch_id"
            " WHERE v.id = ANY(:ids)"
        ),
        {"ids": violation_ids},
    ).all()
    out: dict[int, tuple[str | None, list]] = {}
    for vid, last_hash, raw_hashes in rows:
        hashes = [h for h in raw_hashes if isinstance(h, str)]
        out[vid] = (last_hash or (hashes[-1] if hashes else None), hashes)
    return out
