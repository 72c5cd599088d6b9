"""The notice's documents, printed from HTML with WeasyPrint: the three steps of the
escalation ladder (notice of breach, formal notice, penalty statement) built from
a payload over the demo city's own layers (Lac d'Annecy, Le Pâquier, the old
town), checked with poppler (pdftotext, pdftoppm), and the e-mail from the same
partials. The PDFs are kept under var/screenshots to be looked at."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fleet_monitor.models.notices import Notice
from fleet_monitor.notices import document, legal, thumbnail
from fleet_monitor.notices.document_html import document_html, email_html, email_text, eur
from fleet_monitor.notices.planner import permit_of
from fleet_monitor.settings import LetterheadSettings
from fleet_monitor.violations import import_permit
from fleet_monitor.violations.demo_setup import demo_permit_text, import_city_zones
from tests.notices.pdfcheck import pdf_pages, pdf_text, tiny_png

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SECRET = "test-secret-for-links"
BASE = "https://fleet.annecy.example"
LETTERHEAD = LetterheadSettings(
    signatory_name="Camille Durand",
    signatory_title="Pour le Maire, l’adjointe déléguée à la mobilité",
    contact_email="mobilite@annecy.example",
    contact_phone="+33 4 50 33 88 88",
)
# (gbfs id, rule, lat, lon, zone name, address, distance, measured, unit, hours before T0)
VEHICLES = [
    ("trotti-7f3a9c21", "in_water", 45.8990, 6.1395, "Lac d'Annecy", "Quai Napoléon III", 27,
     27.4, "m", 3),
    ("trotti-0b44e1d8", "in_no_parking_area", 45.9010, 6.136914, "Le Pâquier (pelouse)",
     "Avenue d'Albigny", 41, 35.2, "m", 5),
    ("trotti-5c19aa07", "in_pedestrian_area", 45.89795, 6.127107,
     "Vieille Ville (rues piétonnes)", "Rue Sainte-Claire", 6, 12.8, "m", 2),
    ("trotti-e2d6f310", "in_no_parking_area", 45.8994, 6.1378, "Pont des Amours",
     "Avenue du Petit Port", 18, 9.6, "m", 1),
    ("trotti-91aa3b5e", "idle_too_long", 45.9040, 6.1300, None, "Rue de la Gare", 12,
     3 * 86400 + 5 * 3600, "s", 77),
]  # fmt: skip


def _items(session: Session, permit: Any) -> list[dict[str, Any]]:
    items = []
    for n, (gbfs, rule, lat, lon, zone, street, dist, measured, unit, hours) in enumerate(
        VEHICLES, start=1
    ):
        items.append(
            {
                "violation_id": 100 + n,
                "rule_type": rule,
                "clause": f"permit:trotti:v1#{rule}",
                "gbfs_id": gbfs,
                "vehicle_id": n,
                "lon": lon,
                "lat": lat,
                "zone_id": n if zone else None,
                "zone_name": zone,
                "district_name": "Annecy",
                "address": {"label": f"{n * 2} {street}, 74000 Annecy", "distance_m": dist},
                "since": T0 - timedelta(hours=hours),
                "opened_at": T0 - timedelta(hours=hours) + timedelta(minutes=1),
                "measured": measured,
                "unit": unit,
                "threshold": 0,
                "penalty_eur": permit.penalties_eur.get(rule),
                "evidence_sha256": f"{n:x}" * 64,
                "raw_hashes": [f"{n:x}" * 64],
                "situation": thumbnail.situation(session, lon, lat, T0),
            }
        )
    return items


def _payload(session: Session, kind: str, reference: str, notice_id: int) -> dict[str, Any]:
    permit = permit_of(session, "trotti", 1, T0)
    notice = Notice(id=notice_id, operator_slug="trotti", urgent=kind != "penalty_statement")
    deadline = None if kind == "penalty_statement" else T0 + timedelta(hours=2)
    expires = T0 + timedelta(days=30)
    token = legal.make_respond_token(SECRET, notice_id, reference, expires)
    escalation: dict[str, Any] = {}
    if kind == "formal":
        why = {"missed_deadlines": 1, "notices": 3, "lookback_days": 30.0}
        why["rule"] = "formal_after_missed_deadlines = 1"
        escalation = {**why, "text": legal.escalation_text("formal", why)}
    elif kind == "penalty_statement":
        escalation = {"notice": "ANN-2026-000041", "text": "Pénalités dues / Penalties due"}
    return document.build_payload(
        reference=reference,
        notice=notice,
        operator_name="Trotti SAS",
        items=_items(session, permit),
        permit=permit,
        issued_at=T0,
        deadline_at=deadline,
        city="Annecy",
        public_url=BASE,
        kind=kind,
        escalation=escalation,
        letterhead=legal.letterhead_dict(LETTERHEAD),
        respond_link=f"{BASE}/respond/{token}",
        respond_link_expires=expires,
    )


@pytest.fixture
def demo_city(engine: Engine) -> Engine:
    with Session(engine) as s, s.begin():
        import_city_zones(s, T0 - timedelta(days=2))
        import_permit(
            s,
            demo_permit_text("trotti", 500, T0 - timedelta(days=2), name="Trotti – AOT démo"),
            default_tolerance_m=10,
            source="test",
        )
    return engine


def flat(s: str) -> str:
    return re.sub(r"\s+", " ", s)


@pytest.mark.parametrize(
    ("kind", "reference", "title", "pages"),
    [
        ("breach", "ANN-2026-000042", "Avis de manquement / Notice of breach", 3),
        ("formal", "ANN-2026-000043", "Mise en demeure / Formal notice", 3),
        ("penalty_statement", "ANN-2026-000044", "État des pénalités / Penalty statement", 3),
    ],
)
def test_each_step_of_the_ladder_prints_as_a_legal_act(
    demo_city: Engine, tmp_path: Path, kind: str, reference: str, title: str, pages: int
) -> None:
    with Session(demo_city) as s:
        payload = _payload(s, kind, reference, 42)
    logo = str(tiny_png(tmp_path / "logo.png"))
    pdf = document.render_pdf(payload, logo)
    # deterministic: the stored SHA-256 can be checked by re-rendering the stored payload
    assert document.render_pdf(payload, logo) == pdf
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / f"notice-{kind}.pdf").write_bytes(pdf)  # an artifact to look at (pdftoppm)
    (SHOTS / f"notice-{kind}.json").write_bytes(orjson.dumps(payload))  # and its payload
    text = pdf_text(pdf, tmp_path)
    words = flat(text)
    total = sum(float(it["penalty_eur_if_overdue"] or 0) for it in payload["items"])
    assert payload["total_penalty_eur"] == total == 35 + 35 + 35 + 49 + 120
    for expected in (
        title,
        "Ville d'Annecy",  # letterhead
        "Direction de la mobilité - Occupation du domaine public",
        "74000 Annecy",
        "Trotti SAS",  # addressee
        "Arrêté municipal n° 2026-117",  # legal basis
        "Code général de la propriété des personnes publiques, art. L2122-1",
        "Lac d'Annecy",  # zone names
        "Le Pâquier (pelouse)",
        "2 Quai Napoléon III,",  # the nearest address (a table cell: it wraps)
        "(~27 m)",
        "Article 7.3",  # the clause, quoted
        "« Aucun engin ne doit être laissé dans le lac ni sur ses berges. »",
        "Immobilisé depuis",  # the measured values' labels
        "3,2 j/d (77 h)",
        "274,00 €",  # total penalty (French format)
        "Camille Durand",  # signature and contact
        "mobilite@annecy.example",
        "SHA-256",
        "1111111111111111111111111111111111111111111111111111111111111111",
    ):
        assert expected in words, expected
    # the respond link, printed whole (it may wrap)
    assert payload["respond"]["link"] in re.sub(r"\s+", "", text)
    for other in {"breach", "formal", "penalty_statement"} - {kind}:  # never another's name
        assert legal.KIND_NAMES[other][0] not in words
    if kind == "formal":
        assert "1 échéance(s) non respectée(s)" in words
    if kind == "penalty_statement":
        assert "Total des pénalités dues" in words and "ANN-2026-000041" in words
        assert "Échéance" not in words
    else:
        assert "02/11/2026 11:00" in words  # the deadline, local time
        assert "Plans : 240 m de côté" in words  # the map key under the location maps
    shots = pdf_pages(pdf, tmp_path, kind)  # each page as PNG, none (nearly) empty
    assert len(shots) == pages


def test_email_and_pdf_come_from_the_same_partials(demo_city: Engine, tmp_path: Path) -> None:
    with Session(demo_city) as s:
        payload = _payload(s, "breach", "ANN-2026-000042", 42)
    html, printed = email_html(payload), document_html(payload)
    total = eur(payload["total_penalty_eur"])
    for both in (
        total,
        "Le Pâquier (pelouse)",
        "2 Quai Napoléon III, 74000 Annecy (~27 m)",
        "Profondeur dans la zone",
        "Article 6.1",
        "Code des transports, art. L1231-17",
        f'href="{payload["respond"]["link"]}" data-field="respond-link"',
    ):
        assert both.replace("'", "&#39;") in html and both.replace("'", "&#39;") in printed, both
    # the e-mail is styled inline and carries no image: the maps are in the PDF only
    assert "data:image/png" in printed and "data:image/png" not in html
    assert 'class="qr" src="data:image/svg+xml' in printed  # the respond link, to scan
    assert "<img" not in html and 'style="border: 1px solid' in html
    assert 'class="grid vehicles"' in printed and "style=" not in printed.split("<table")[2]
    assert total in email_text(payload) and payload["respond"]["link"] in email_text(payload)


def test_operator_data_is_escaped_in_documents(demo_city: Engine, tmp_path: Path) -> None:
    with Session(demo_city) as s:
        payload = _payload(s, "breach", "ANN-2026-000042", 42)
    payload["operator"]["name"] = '<img src="http://127.0.0.1:9/x.png">Evil & Co'
    payload["items"][0]["vehicle"]["gbfs_id"] = "<script>alert(1)</script>"
    for html in (email_html(payload), document_html(payload)):
        assert "<script>alert" not in html and '<img src="http' not in html
        assert "&lt;script&gt;" in html and "Evil &amp; Co" in html
    words = flat(pdf_text(document.render_pdf(payload), tmp_path))
    assert "<script>alert(1)</script>" in words  # printed as text, never as markup


def test_location_map_thumbnail_is_a_deterministic_png(demo_city: Engine) -> None:
    with Session(demo_city) as s:
        m = thumbnail.situation(s, 6.1395, 45.8990, T0)  # in the lake, by the quay
    assert {sh["kind"] for sh in m["shapes"]} >= {"water", "district"}
    png = thumbnail.situation_png(m)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png == thumbnail.situation_png(m)
    assert thumbnail.situation_data_uri(m).startswith("data:image/png;base64,iVBOR")
    assert thumbnail.situation_png({"radius_m": 120, "shapes": []}) != png


def test_a_long_notice_breaks_between_rows_and_repeats_the_header(
    demo_city: Engine, tmp_path: Path
) -> None:
    with Session(demo_city) as s:
        payload = _payload(s, "breach", "ANN-2026-000045", 45)
    first = payload["items"]
    payload["items"] = [
        {**it, "violation_id": 1000 + n, "vehicle": {**it["vehicle"], "gbfs_id": f"{n:08d}-uuid"}}
        for n, it in enumerate(first * 4)  # 20 vehicles
    ]
    payload["total_penalty_eur"] = 4 * 274.0
    pdf = document.render_pdf(payload)
    pages = pdf_pages(pdf, tmp_path, "long")
    words = flat(pdf_text(pdf, tmp_path))
    assert len(pages) >= 5 and "1 096,00 €" in words
    assert words.count("Véhicule, plan") >= 4  # the header, repeated on each page of rows
    assert all(f"{n:08d}-uuid" in words for n in range(20))
    assert words.count("Camille Durand") == 1 and words.index("Camille Durand") > words.index(
        "Répondre / Respond"
    )
