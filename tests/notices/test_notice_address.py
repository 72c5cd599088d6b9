"""A notice names the nearest address of each vehicle (payload, e-mail, PDF)."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from fleet_monitor.addresses_import import import_addresses
from fleet_monitor.notices.jobs import plan, send_pending
from tests.notices.helpers import (
    M_LAT,
    T0,
    WATER,
    Feed,
    SMTPServer,
    add_contact,
    attachments,
    evaluate,
    html_body,
    settings_for,
    setup_city,
    vehicle_at,
)

HEADER = (
    "id;id_fantoir;numero;rep;nom_voie;code_postal;code_insee;nom_commune;"
    "code_insee_ancienne_commune;nom_ancienne_commune;lon;lat"
)


def test_notice_items_carry_the_nearest_address(
    db_url: str, engine: Engine, smtp: SMTPServer, tmp_path: Path
) -> None:
    ban = tmp_path / "adresses-74.csv"
    # 30 m north of the vehicle in the water, on the quay
    ban.write_text(
        f"{HEADER}\n74010_0300_00004;74010_0300;4;bis;Quai Napoléon III;74940;74010;Annecy;"
        f"74011;Annecy-le-Vieux;{WATER[1]:.6f};{WATER[0] + 30 * M_LAT:.7f}\n",
        encoding="utf-8",
    )
    with Session(engine) as s, s.begin():
        import_addresses(s, ban)
    settings = settings_for(db_url, smtp.port)
    setup_city(engine)
    feed = Feed(engine, "trotti", "Trotti")
    add_contact(engine, "trotti", "email", "ops@trotti.example")
    feed.poll([vehicle_at("tw1", WATER)], T0)
    evaluate(engine, T0 + timedelta(seconds=30))
    now = T0 + timedelta(minutes=1)
    [reference] = plan(engine, settings, now).issued
    assert send_pending(engine, settings, lambda: now).sent == 1
    label = "4 bis Quai Napoléon III, 74940 Annecy-le-Vieux (Annecy)"
    with engine.connect() as conn:
        payload = conn.execute(
            text("SELECT payload FROM notice WHERE reference = :r"), {"r": reference}
        ).scalar_one()
    address = payload["items"][0]["address"]
    assert address["label"] == label and address["distance_m"] == 30
    [msg] = smtp.messages()
    assert f"{label} (~30 m)" in html_body(msg)
    pdf = attachments(msg)[f"{reference}.pdf"]
    shots = Path(__file__).resolve().parents[2] / "var" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    (shots / "notice_with_address.pdf").write_bytes(pdf)  # an artifact to look at
    pdf_text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Quai Napoléon III" in pdf_text and "(~30 m)" in pdf_text.replace("\n", " ")
