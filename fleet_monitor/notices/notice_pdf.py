"""The notice as a PDF: a legal act on the city's letterhead.

Layout, top to bottom: letterhead (logo, authority, department, address), the
act's name on the escalation ladder (avis de manquement, mise en demeure, état
des pénalités), the facts (reference, dates, permit), the legal basis (orders
and codes the permit rests on), the vehicles (zone, rule and article, measured
value with its label, penalty) and the total penalty, the permit's clauses
quoted, how to respond (the signed link), the signature and the contact, then
the evidence (SHA-256 of the feed files). Built from the stored payload only,
so the document can be rebuilt identically.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fpdf.enums import XPos, YPos

from fleet_monitor.notices.situation_pdf import draw_situations
from fleet_monitor.outbox.documents import DocumentPDF, bilingual_rule, local_time, pdf_text


def _eur(value: float | None) -> str:
    if value is None:
        return "—"
    text = f"{value:,.2f}".replace(",", " ").replace(".", ",")
    return f"{text} €"


def _letterhead(pdf: DocumentPDF, head: dict[str, Any], logo_path: str | None) -> None:
    top = pdf.get_y()
    x = pdf.l_margin
    if logo_path:
        pdf.image(logo_path, x=x, y=top, h=18)
        x += 24
    pdf.set_xy(x, top)
    pdf.set_font("helvetica", style="B", size=12)
    pdf.cell(0, 6, pdf_text(head.get("authority") or ""), new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font("helvetica", size=9)
    for line in [head.get("department") or "", *head.get("address", [])]:
        if line:
            pdf.cell(0, 4.4, pdf_text(line), new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_y(max(pdf.get_y(), top + 20))
    pdf.set_draw_color(30, 60, 110)
    pdf.set_line_width(0.6)
    pdf.line(pdf.l_margin, pdf.get_y() + 1, pdf.w - pdf.r_margin, pdf.get_y() + 1)
    pdf.set_line_width(0.2)
    pdf.set_draw_color(0, 0, 0)
    pdf.ln(5)


def render_notice_pdf(payload: dict[str, Any], logo_path: str | None = None) -> bytes:
    tz = payload["timezone"]
    issued = datetime.fromisoformat(payload["issued_at"])
    ref = payload["reference"]
    title = payload.get("title") or {"fr": "Avis de manquement", "en": "Notice of breach"}
    head = payload.get("letterhead") or {}
    authority = head.get("authority") or payload["city"]
    pdf = DocumentPDF(
        title=f"{ref} – {title['fr']} / {title['en']}",
        author=authority,
        created=issued,
        footer=f"{ref} · {authority} · {title['fr']}",
    )
    _letterhead(pdf, head, logo_path)
    urgent = " – URGENT" if payload["urgent"] else ""
    pdf.title_block(
        f"{title['fr']} / {title['en']}{urgent}",
        f"{payload['operator']['name']} ({payload['operator']['slug']})",
    )
    terms = payload["permit"]["deadline_terms"]
    deadline = payload.get("deadline_at")
    facts = [
        ("Référence / Reference", ref),
        ("Émis le / Issued", f"{local_time(issued, tz)} ({tz})"),
    ]
    if deadline:
        facts.append(
            (
                "Échéance / Deadline",
                f"{local_time(datetime.fromisoformat(deadline), tz)} ({tz})",
            )
        )
        facts.append(("Délai / Time allowed", terms["text"]))
    facts += [
        (
            "Autorisation / Permit",
            f"v{payload['permit']['version']} {payload['permit']['name']}".strip(),
        ),
        ("Véhicules / Vehicles", str(len(payload["items"]))),
        ("Pénalité totale / Total penalty", _eur(payload.get("total_penalty_eur"))),
    ]
    pdf.facts(facts)
    permit = payload["permit"]
    basis = [permit.get("municipal_order") or "", *permit.get("legal_basis", [])]
    if any(basis):
        pdf.heading("Fondement juridique / Legal basis")
        pdf.paragraph("\n".join(f"• {b}" for b in basis if b))
    why = (payload.get("escalation") or {}).get("text")
    if why:
        pdf.paragraph(why)
    kind = payload.get("kind", "breach")
    if kind == "penalty_statement":
        pdf.paragraph(
            "Les véhicules ci-dessous étaient toujours en place à l’échéance de l’acte cité. "
            "En application de votre autorisation, les pénalités suivantes sont dues ; un titre "
            "de recette vous sera adressé par le comptable public."
        )
        pdf.paragraph(
            "The vehicles below were still in place at the deadline of the act cited. Under "
            "your permit, the following penalties are due; the public accountant will send "
            "you the invoice."
        )
    elif kind == "formal":
        pdf.paragraph(
            "Vous êtes mis en demeure de retirer ou de déplacer les véhicules ci-dessous avant "
            "l’échéance. À défaut, la pénalité prévue par votre autorisation sera appliquée "
            "pour chaque véhicule encore en place, sans préjudice du retrait de l’autorisation."
        )
        pdf.paragraph(
            "You are formally required to remove or move the vehicles below before the "
            "deadline. Otherwise the penalty stated in your permit applies to each vehicle "
            "still in place, without prejudice to the withdrawal of the permit."
        )
    else:
        pdf.paragraph(
            "Les véhicules ci-dessous ne respectent pas votre autorisation d’occupation du "
            "domaine public. Déplacez-les ou retirez-les avant l’échéance ; passé ce délai, la "
            "situation est vérifiée dans votre flux GBFS et chaque véhicule encore en place "
            "donne lieu à la pénalité prévue."
        )
        pdf.paragraph(
            "The vehicles below breach your permit. Move or remove them before the deadline; "
            "after it, your GBFS feed is checked and each vehicle still in place incurs the "
            "penalty stated in the permit."
        )
    _vehicles(pdf, payload, tz, kind)
    draw_situations(pdf, payload["items"])
    _clauses(pdf, payload)
    _respond(pdf, payload, tz)
    _signature(pdf, head)
    _evidence(pdf, payload)
    return pdf.render()


def _vehicles(pdf: DocumentPDF, payload: dict[str, Any], tz: str, kind: str) -> None:
    rows = []
    for it in payload["items"]:
        pos = it["position"]
        zone = (it.get("zone") or {}).get("name") or it.get("district") or "—"
        where = zone if pos is None else f"{zone}\n{pos['lat']:.6f}, {pos['lon']:.6f}"
        address = it.get("address")
        if address:  # the nearest address (fleet_monitor.addresses)
            where = f"{address['label']} (~{address['distance_m']} m)\n{where}"
        since = it["since"] and local_time(datetime.fromisoformat(it["since"]), tz)
        article = (it.get("legal_clause") or {}).get("article") or it["clause"]
        m = it.get("measure") or {}
        measure = f"{m.get('label_fr', '')} / {m.get('label_en', '')} : {m.get('text', '—')}"
        rows.append(
            [
                it["vehicle"]["gbfs_id"] or "—",
                where,
                f"{bilingual_rule(it['rule_type'])}\n{article}",
                f"{measure}\n(depuis / since {since or '—'})",
                _eur(it["penalty_eur_if_overdue"]),
            ]
        )
    pdf.heading("Véhicules / Vehicles")
    pdf.grid(
        [
            "Véhicule / Vehicle",
            "Adresse, zone, position / Address, zone, position",
            "Manquement, article / Breach, article",
            "Mesure / Measured",
            "Pénalité / Penalty",
        ],
        rows,
        widths=(24, 38, 48, 48, 20),
        size=7.5,
    )
    pdf.set_font("helvetica", style="B", size=10)
    pdf.cell(
        0,
        6,
        pdf_text(
            (
                "Total des pénalités dues / Total penalties due : "
                if kind == "penalty_statement"
                else "Pénalité totale si non régularisé / Total penalty if not remedied : "
            )
            + _eur(payload.get("total_penalty_eur"))
        ),
        align="R",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )


def _clauses(pdf: DocumentPDF, payload: dict[str, Any]) -> None:
    seen: dict[str, str] = {}
    for it in payload["items"]:
        c = it.get("legal_clause")
        if c and c.get("text"):
            seen.setdefault(c.get("article") or it["rule_type"], c["text"])
    if not seen:
        return
    pdf.heading("Clauses de l’autorisation / Permit clauses")
    for article, body in seen.items():
        pdf.set_font("helvetica", style="B", size=9)
        pdf.multi_cell(0, 4.6, pdf_text(article), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.paragraph(f"« {body} »")


def _respond(pdf: DocumentPDF, payload: dict[str, Any], tz: str) -> None:
    respond = payload["respond"]
    pdf.heading("Répondre / Respond")
    link, expires = respond.get("link"), respond.get("link_expires_at")
    if payload.get("kind") == "penalty_statement":
        lines = [
            "Le détail de l’acte et de ses contestations éventuelles est consultable depuis le "
            "lien personnel ci-dessous ou votre compte ; pour toute question, écrivez au contact "
            "indiqué. / The act and any decided disputes can be read from the personal link "
            "below or your account; for any question, write to the contact below."
        ]
    else:
        lines = [
            "Accusez réception ou contestez véhicule par véhicule (pièces jointes possibles) "
            "depuis le lien personnel ci-dessous, votre compte ou l’API (jeton Bearer). / "
            "Acknowledge, or dispute vehicle by vehicle (with attachments), from the personal "
            "link below, your account or the API (Bearer token)."
        ]
    if link:
        until = local_time(datetime.fromisoformat(expires), tz) if expires else "—"
        lines.append(f"Lien de réponse / Respond link (valable jusqu’au / valid until {until}) :")
    pdf.paragraph("\n".join(lines))
    if link:
        pdf.set_font("courier", size=7.5)
        pdf.set_text_color(20, 50, 140)
        pdf.multi_cell(0, 3.8, pdf_text(link), link=link, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(0, 0, 0)
        pdf.ln(1)
    api = respond.get("api_acknowledge")
    if api and payload.get("kind") != "penalty_statement":
        pdf.paragraph(f"API : POST {api}", size=8)


def _signature(pdf: DocumentPDF, head: dict[str, Any]) -> None:
    pdf.ln(2)
    if pdf.get_y() > pdf.page_break_trigger - 30:
        pdf.add_page()
    x = pdf.w / 2
    pdf.set_x(x)
    pdf.set_font("helvetica", size=9)
    lines = [head.get("signatory_title") or "", head.get("signatory_name") or ""]
    for line in lines:
        if line:
            pdf.set_x(x)
            pdf.cell(0, 5, pdf_text(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    contact = " · ".join(v for v in (head.get("contact_email"), head.get("contact_phone")) if v)
    if contact:
        pdf.ln(2)
        pdf.paragraph(f"Contact : {contact}", size=8.5)


def _evidence(pdf: DocumentPDF, payload: dict[str, Any]) -> None:
    rows = [
        [it["vehicle"]["gbfs_id"] or "—", it["evidence"]["sha256"] or "—"]
        for it in payload["items"]
    ]
    if not rows:
        return
    pdf.heading("Preuves / Evidence (SHA-256 du flux GBFS / of the GBFS feed file)")
    pdf.grid(["Véhicule / Vehicle", "sha256"], rows, widths=(30, 148), size=7)
