"""Notices as legal acts: letterhead, legal basis, zone names, measured values with
their labels, total penalty, the signed respond link; the escalation ladder
(notice of breach, then formal notice after a missed deadline, then the penalty
statement), through a real SMTP server, checked with pdftotext and pdftoppm."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from fleet_monitor.notices import document, legal
from fleet_monitor.notices.jobs import check, plan, send_pending
from fleet_monitor.settings import LetterheadSettings, Settings
from fleet_monitor.violations import import_permit
from rules.permit_toml import PermitError, load_permit_toml
from tests.notices.helpers import (
    T0,
    WATER,
    Feed,
    SMTPServer,
    add_contact,
    attachments,
    evaluate,
    html_body,
    permit_text,
    settings_for,
    setup_city,
    vehicle_at,
)
from tests.notices.pdfcheck import pdf_pages, pdf_qr_codes, pdf_text, tiny_png

LEGAL = """
[legal]
municipal_order = "Arrêté municipal n° 2026-117 du 12 mars 2026"
legal_basis = [
  "Code général de la propriété des personnes publiques, art. L2122-1",
  "Code des transports, art. L1231-17",
]
[legal.clauses.in_water]
article = "Article 7.3"
text = "Aucun engin ne doit être laissé dans le lac ni sur ses berges."

[escalation]
formal_after_missed_deadlines = 1
lookback = "30d"
penalty_statement = true
"""


def legal_settings(db_url: str, port: int, tmp_path: Path) -> Settings:
    settings = settings_for(db_url, port)
    head = LetterheadSettings(
        signatory_name="Claire Martin",
        signatory_title="Pour le Maire, l’adjointe déléguée à la mobilité",
        contact_email="mobilite@annecy.example",
        contact_phone="+33 4 50 33 88 88",
        logo_path=str(tiny_png(tmp_path / "logo.png")),
    )
    return replace(settings, letterhead=head)


def setup(engine: Engine) -> Feed:
    setup_city(engine, ())
    with Session(engine) as s, s.begin():
        import_permit(s, permit_text("trotti", extra=LEGAL), default_tolerance_m=10, source="t")
    feed = Feed(engine, "trotti", "Trotti")
    add_contact(engine, "trotti", "email", "ops@trotti.example")
    return feed


def flat(s: str) -> str:
    return re.sub(r"\s+", " ", s)


def test_notice_is_a_legal_act_then_escalates(
    db_url: str, engine: Engine, smtp: SMTPServer, tmp_path: Path
) -> None:
    settings = legal_settings(db_url, smtp.port, tmp_path)
    feed = setup(engine)
    feed.poll([vehicle_at("tw1", WATER)], T0)
    evaluate(engine, T0 + timedelta(seconds=30))
    now = T0 + timedelta(minutes=1)
    [ref1] = plan(engine, settings, now).issued
    with engine.connect() as conn:  # issued, not printed yet: printed at its first sending
        assert conn.execute(
            text("SELECT pdf FROM notice WHERE reference = :r"), {"r": ref1}
        ).one() == (None,)
    assert send_pending(engine, settings, lambda: now).sent == 1
    with engine.connect() as conn:
        printings = (
            conn.execute(text("SELECT details FROM audit_log WHERE event = 'notice.printed'"))
            .scalars()
            .all()
        )
    assert [(p["notice"], p["for"]) for p in printings] == [(ref1, "delivery")]
    [msg] = smtp.messages()
    assert "Avis de manquement / Notice of breach" in msg["Subject"]
    body = html_body(msg)
    # the e-mail and the PDF come from the same partials: same words, same figures
    assert "Lac d’Annecy" in body and "Article 7.3" in body and "120,00\u00a0€" in body
    assert "Arrêté municipal n° 2026-117" in body and "Claire Martin" in body
    pdf = attachments(msg)[f"{ref1}.pdf"]
    txt = pdf_text(pdf, tmp_path)
    words = flat(txt)
    for expected in (
        "Ville d'Annecy",  # letterhead
        "Direction de la mobilité",
        "74000 Annecy",
        "Avis de manquement / Notice of breach",
        "Arrêté municipal n° 2026-117",  # legal basis
        "Code général de la propriété des personnes publiques, art. L2122-1",
        "Article 7.3",  # the permit's clause, quoted
        "Aucun engin ne doit être laissé dans le lac",
        "Lac d’Annecy",  # zone name
        "Profondeur dans la",  # the measured value's label (in a table cell: it wraps)
        "120,00 €",  # total penalty
        "Claire Martin",  # signatory
        "mobilite@annecy.example",  # contact
    ):
        assert expected in words, expected
    assert "Mise en demeure" not in words
    with engine.connect() as conn:
        payload, stored, stored_sha = conn.execute(
            text("SELECT payload, pdf, pdf_sha256 FROM notice WHERE reference = :r"), {"r": ref1}
        ).one()
    # the stored payload (read back from the database) prints the same bytes, whose hash is kept
    again = document.render_pdf(payload, settings.letterhead.logo_path)
    assert again == bytes(stored) == pdf and document.pdf_sha256(again) == stored_sha
    link = payload["respond"]["link"]
    assert link.startswith("https://fleet.annecy.example/respond/")
    assert link in re.sub(r"\s+", "", txt)  # printed whole (it may wrap)
    assert pdf_qr_codes(pdf, tmp_path) == [link]  # its QR code reads back as the same link
    assert payload["total_penalty_eur"] == 120.0
    assert payload["items"][0]["zone"]["name"] == "Lac d’Annecy"
    assert payload["items"][0]["map"]["shapes"][0]["kind"] == "water"  # the location map
    pages = pdf_pages(pdf, tmp_path, "breach")
    assert len(pages) == 2  # the act and its location map; the respond link, signature, annex
    # the link is signed and expires after the deadline (plus the configured time)
    token = link.rsplit("/", 1)[1]
    secret = settings.web.secret_key.reveal()  # type: ignore[union-attr]
    assert legal.read_respond_token(secret, token, now)[1] == ref1
    with pytest.raises(legal.LinkError, match="invalid"):
        legal.read_respond_token(secret, token[:-2] + "xx", now)
    with pytest.raises(legal.LinkError, match="expired"):
        legal.read_respond_token(secret, token, now + timedelta(days=31))

    # the deadline is missed: a penalty, then the penalty statement
    feed.poll([vehicle_at("tw1", WATER)], now + timedelta(hours=2, minutes=5))
    result = check(engine, settings, now + timedelta(hours=2, minutes=10))
    assert result.overdue == 1 and len(result.statements) == 1
    later = now + timedelta(hours=2, minutes=10)
    assert send_pending(engine, settings, lambda: later).sent == 1
    statement = smtp.messages()[-1]
    assert "État des pénalités / Penalty statement" in statement["Subject"]
    spdf = attachments(statement)[f"{result.statements[0]}.pdf"]
    swords = flat(pdf_text(spdf, tmp_path))
    assert ref1 in swords and "Total des pénalités dues" in swords and "120,00 €" in swords
    assert "Lac d’Annecy" in swords  # where the vehicle was, as the act that found it said
    assert len(pdf_pages(spdf, tmp_path, "statement")) == 2  # the map and annex as above

    # the next breach is a formal notice: the operator missed a deadline in the last 30 days
    t2 = now + timedelta(hours=3)
    feed.poll([vehicle_at("tw1", WATER), vehicle_at("tw2", WATER, east_m=30)], t2)
    evaluate(engine, t2 + timedelta(seconds=30))
    [ref2] = plan(engine, settings, t2 + timedelta(minutes=1)).issued
    assert send_pending(engine, settings, lambda: t2 + timedelta(minutes=1)).sent == 1
    formal = smtp.messages()[-1]
    assert "Mise en demeure / Formal notice" in formal["Subject"]
    fwords = flat(pdf_text(attachments(formal)[f"{ref2}.pdf"], tmp_path))
    assert "Mise en demeure / Formal notice" in fwords
    assert "1 échéance(s) non respectée(s)" in fwords and "tw2" in fwords
    assert "Avis de manquement" not in fwords
    assert len(pdf_pages(attachments(formal)[f"{ref2}.pdf"], tmp_path, "formal")) >= 1
    with engine.connect() as conn:
        kinds = dict(conn.execute(text("SELECT reference, kind FROM notice")).all())
    assert kinds == {ref1: "breach", result.statements[0]: "penalty_statement", ref2: "formal"}


def test_no_escalation_when_the_permit_says_never(
    db_url: str, engine: Engine, smtp: SMTPServer, tmp_path: Path
) -> None:
    settings = legal_settings(db_url, smtp.port, tmp_path)
    setup_city(engine, ())
    extra = "[escalation]\nformal_after_missed_deadlines = 0\npenalty_statement = false\n"
    with Session(engine) as s, s.begin():
        import_permit(s, permit_text("trotti", extra=extra), default_tolerance_m=10, source="t")
    feed = Feed(engine, "trotti", "Trotti")
    add_contact(engine, "trotti", "email", "ops@trotti.example")
    feed.poll([vehicle_at("tw1", WATER)], T0)
    evaluate(engine, T0 + timedelta(seconds=30))
    now = T0 + timedelta(minutes=1)
    plan(engine, settings, now)
    send_pending(engine, settings, lambda: now)
    feed.poll([vehicle_at("tw1", WATER)], now + timedelta(hours=2, minutes=5))
    result = check(engine, settings, now + timedelta(hours=2, minutes=10))
    assert result.overdue == 1 and result.statements == []
    t2 = now + timedelta(hours=3)
    feed.poll([vehicle_at("tw1", WATER), vehicle_at("tw2", WATER, east_m=30)], t2)
    evaluate(engine, t2 + timedelta(seconds=30))
    plan(engine, settings, t2 + timedelta(minutes=1))
    with engine.connect() as conn:
        kinds = [r[0] for r in conn.execute(text("SELECT kind FROM notice ORDER BY id"))]
    assert kinds == ["breach", "breach"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[legal.clauses.flying]\narticle = 'x'\ntext = 'y'\n", "legal.clauses.flying"),
        ("[legal]\nmunicipal_order = 3\n", "legal.municipal_order"),
        ("[legal]\nwhatever = 'x'\n", "legal.whatever: unknown key"),
        ("[escalation]\nformal_after_missed_deadlines = -1\n", "formal_after_missed_deadlines"),
        ("[escalation]\nlookback = 'soon'\n", "escalation.lookback"),
    ],
)
def test_bad_legal_terms_are_refused_with_their_key(extra: str, message: str) -> None:
    with pytest.raises(PermitError, match=re.escape(message)):
        load_permit_toml(permit_text("trotti", extra=extra))


def test_legal_terms_are_parsed() -> None:
    p = load_permit_toml(permit_text("trotti", extra=LEGAL))
    assert p.legal.clauses["in_water"].article == "Article 7.3"
    assert p.legal.legal_basis[1] == "Code des transports, art. L1231-17"
    assert p.escalation.formal_after_missed_deadlines == 1 and p.escalation.penalty_statement


def test_letterhead_settings(tmp_path: Path) -> None:
    from fleet_monitor.settings import ConfigError, load_settings

    logo = tiny_png(tmp_path / "logo.png")
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        '[letterhead]\nauthority = "Ville d\'Annecy"\nlogo_path = "logo.png"\n'
        'address = ["1 rue X", "74000 Annecy"]\nsignatory_name = "C. Martin"\n'
    )
    head = load_settings(cfg, env={}).letterhead
    assert head.logo_path == str(logo) and head.address == ("1 rue X", "74000 Annecy")
    for body, key in (
        ('[letterhead]\nlogo_path = "missing.png"\n', "letterhead.logo_path"),
        ('[letterhead]\nlogo_path = "config.toml"\n', "letterhead.logo_path"),
        ("[letterhead]\nsignature = 'x'\n", "letterhead.signature"),
        ("[letterhead]\nrespond_link_ttl_s = 0\n", "letterhead.respond_link_ttl_s"),
        ("[letterhead]\naddress = 'one line'\n", "letterhead.address"),
    ):
        cfg.write_text(body)
        with pytest.raises(ConfigError) as err:
            load_settings(cfg, env={})
        assert err.value.key == key, body


def test_location_map_from_the_city_layers(engine: Engine) -> None:
    from fleet_monitor.notices.thumbnail import situation
    from tests.notices.helpers import M_LON, NO_PARKING

    setup_city(engine, ())
    lat, lon = NO_PARKING
    with Session(engine) as s:  # 150 m east of the centre of the 200 m no-parking square
        m = situation(s, lon + 150 * M_LON, lat, T0)
    [shape] = [sh for sh in m["shapes"] if sh["kind"] == "no_parking"]
    xs = [p[0] for p in shape["points"]]
    ys = [p[1] for p in shape["points"]]
    # its east edge is 50 m west of the vehicle; clipped to the map's 120 m radius
    assert -52 <= max(xs) <= -48 and min(xs) >= -120.5
    assert min(ys) >= -100.5 and max(ys) <= 100.5
    assert shape["name"] == "Pâquier"
