"""The case file quotes the breached clause as the permit's own article (issue 14):
not only its identifier (``permit:trotti:v1#in_water``)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from fleet_monitor.violations import import_permit
from tests.notices.helpers import T0, WATER, Feed, evaluate, permit_text, setup_city, vehicle_at
from tests.notices.test_legal_notice import LEGAL
from tests.web.conftest import make_app, signed_in


def _case_in_water(engine: Engine, legal: str) -> int:
    setup_city(engine, ())
    with Session(engine) as s, s.begin():
        import_permit(s, permit_text("trotti", extra=legal), default_tolerance_m=10, source="t")
    Feed(engine, "trotti", "Trotti").poll([vehicle_at("tw1", WATER)], T0)
    evaluate(engine, T0 + timedelta(seconds=30))
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT id FROM violation WHERE rule_type = 'in_water' ORDER BY id LIMIT 1")
            ).scalar_one()
        )


def test_the_case_file_quotes_the_permits_article(db_url: str, engine: Engine) -> None:
    vid = _case_in_water(engine, LEGAL)
    client = signed_in(make_app(db_url, engine), engine, "agent@annecy.example", "officer")
    page = client.get(f"/cases/{vid}").get_data(as_text=True)
    assert "Article 7.3 : « Aucun engin ne doit être laissé dans le lac" in page
    assert "permit:trotti:v1#in_water" in page  # the identifier stays, for reference


def test_without_legal_text_the_identifier_alone(db_url: str, engine: Engine) -> None:
    vid = _case_in_water(engine, "")
    client = signed_in(make_app(db_url, engine), engine, "agent@annecy.example", "officer")
    page = client.get(f"/cases/{vid}").get_data(as_text=True)
    assert "permit:trotti:v1#in_water" in page and "Article 7.3" not in page
