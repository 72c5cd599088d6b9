"""The case list: priority, zone, duration columns; operator and zone filters; a map
of the open cases; fleet-level cases named as such."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fleet_monitor.models.rules import Violation
from fleet_monitor.web.case_list import PRIORITY, duration_words
from tests.notices.helpers import World
from tests.web.conftest import T0, signed_in
from tests.web.test_map import page_config

ROW_RE = re.compile(r'<tr data-case="(\d+)">(.*?)</tr>', re.S)


@pytest.fixture
def officer(web: Flask, engine: Engine) -> FlaskClient:
    client: FlaskClient = signed_in(web, engine, "agent@annecy.example", "officer")
    return client


def rows(html: str) -> dict[int, str]:
    return {
        int(i): re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))
        for i, body in ROW_RE.findall(html)
    }


def test_columns_order_and_map(officer: FlaskClient, world: World, engine: Engine) -> None:
    html = officer.get("/cases/").get_data(as_text=True)
    for heading in ("Priorité", "Zone", "Durée", "Opérateur"):
        assert f">{heading}</th>" in html, heading
    listed = rows(html)
    water = world.violation["trotti"]
    assert "haute" in listed[water] and "Lac d’Annecy" in listed[water]
    # durations on the service's clock, in French
    assert re.search(r"\d+ (min|h)|\d+(,\d)? jours", listed[water]), listed[water]
    # high priority first
    priorities = [int(p) for p in re.findall(r'data-priority="(\d)"', html)]
    assert priorities == sorted(priorities) and priorities[0] == 1
    # the map of open cases: one point per case with a position, labels as data
    data = page_config(html, "fm-map-data")
    assert len(data["stays"]) == len(listed)
    assert any(s["label"].startswith(f"#{water} ·") for s in data["stays"])


def test_operator_and_zone_filters(officer: FlaskClient, world: World, engine: Engine) -> None:
    html = officer.get("/cases/").get_data(as_text=True)
    assert '<select id="fm-operator" name="operator">' in html
    zones = re.findall(r'<option value="([^"]+)"[^>]*>Lac d’Annecy</option>', html)
    assert zones == ["water:lac"]
    only_water = rows(officer.get("/cases/?zone=water:lac").get_data(as_text=True))
    assert set(only_water) == set(world.violation.values())
    only_trotti = rows(officer.get("/cases/?operator=trotti").get_data(as_text=True))
    assert only_trotti and all("trotti" in r.lower() for r in only_trotti.values())
    assert officer.get("/cases/?zone=<script>").status_code == 400


def test_fleet_level_case_is_named_whole_fleet(
    officer: FlaskClient, world: World, engine: Engine
) -> None:
    with Session(engine) as s, s.begin():
        v = Violation(
            key="fleet_cap:trotti",
            rule_type="fleet_cap",
            operator="trotti",
            subject_kind="operator",
            subject="trotti",
            state="open",
            status="violation",
            opened_at=T0,
            since=T0,
            last_seen_at=T0,
            unit="vehicles",
            clause="§2",
            confidence=1.0,
        )
        s.add(v)
        s.flush()
        vid = v.id
    listed = rows(officer.get("/cases/").get_data(as_text=True))
    assert "toute la flotte" in listed[vid]
    assert PRIORITY["fleet_cap"] == 2 and "moyenne" in listed[vid]


def test_duration_words(web: Flask) -> None:
    with web.test_request_context("/"):  # French, the city's locale
        assert duration_words(59) == "0 min"
        assert duration_words(2 * 3600 + 5) == "2 h"
        assert duration_words(3 * 86400 + 43200) == "3,5 jours"
        assert duration_words(None) == "—"


def test_case_file_says_zone_and_border_plainly(officer: FlaskClient, world: World) -> None:
    html = officer.get(f"/cases/{world.violation['trotti']}").get_data(as_text=True)
    text_only = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Plans d’eau « Lac d’Annecy »" in text_only, text_only[:3000]
    assert re.search(r"dans la zone, à [\d\s,]+ m de sa limite \(tolérance GPS", text_only), (
        text_only[:3000]
    )
    assert 'action="/cases/' in html and "/on-site" in html  # a vehicle: on-site check offered


def test_fleet_level_case_has_no_vehicle_actions(
    officer: FlaskClient, world: World, engine: Engine
) -> None:
    with Session(engine) as s, s.begin():
        v = Violation(
            key="feed_outage:trotti",
            rule_type="feed_outage",
            operator="trotti",
            subject_kind="operator",
            subject="trotti",
            state="open",
            status="violation",
            opened_at=T0,
            since=T0,
            last_seen_at=T0,
            unit="s",
            clause="§3",
            confidence=1.0,
        )
        s.add(v)
        s.flush()
        vid = v.id
    html = officer.get(f"/cases/{vid}").get_data(as_text=True)
    assert "data-fleet-case" in html and "/on-site" not in html
    assert "Le véhicule est là" not in html
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert token
    response = officer.post(
        f"/cases/{vid}/on-site",
        data={"present": "yes", "note": "", "csrf_token": token.group(1)},
    )
    assert response.status_code == 400
