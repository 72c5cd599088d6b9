"""The statistics page, its exports and JSON API, and the declared fleets, by role."""

from __future__ import annotations

import csv
import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from fleet_monitor.stats.aggregate import aggregate
from tests.stats import scenario
from tests.stats.conftest import CFG
from tests.stats.history import History
from tests.web.conftest import csrf_token, signed_in

DAY = "period=2026-10-06"


@pytest.fixture
def history_ids(engine: Engine) -> scenario.Ids:
    ids = scenario.build(History(engine))
    aggregate(engine, CFG, until=scenario.UNTIL, first=scenario.DAY)
    return ids


def audit_events(engine: Engine, event: str) -> list[tuple]:
    with engine.connect() as conn:
        return list(
            conn.exec_driver_sql(
                "SELECT actor_role, operator_id, details FROM audit_log WHERE event = %s"
                " ORDER BY id",
                (event,),
            ).all()
        )


def test_page_for_staff(client: FlaskClient, history_ids: scenario.Ids) -> None:
    response = client.get(f"/stats?{DAY}&lang=en")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Deployed fleet" in html and "Comparison of operators" in html
    assert html.count("<svg") >= 4  # charts drawn on the server
    assert 'data-operator="alpha"' in html and 'data-operator="beta"' in html
    assert 'data-operator="*"' in html  # all operators
    assert 'data-value="2.7917"' in html  # alpha's mean deployed fleet
    assert "264 of 288 5-minute samples observed" in html
    assert "about ±20 % error" in html
    # the folium map runs with the request's nonce, Leaflet from the app itself
    csp = response.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)  # type: ignore[union-attr]
    assert f'<script nonce="{nonce}">' in html
    assert "cdn" not in html.lower() and "/static/vendor/leaflet/leaflet.js" in html
    # French by default
    assert "Flotte déployée" in client.get(f"/stats?{DAY}&lang=fr").get_data(as_text=True)


def test_filters_and_bad_period(client: FlaskClient, history_ids: scenario.Ids) -> None:
    html = client.get(f"/stats?{DAY}&zone=east&operator=alpha&lang=en").get_data(as_text=True)
    assert 'data-value="0.2917"' in html  # alpha in East: 84 / 288
    assert 'data-operator="beta"' not in html
    assert client.get("/stats?period=2026-13").status_code == 400
    response = client.get("/api/stats?period=nonsense")
    assert response.status_code == 400 and "period" in response.get_json()["error"]


def test_json_api(client: FlaskClient, history_ids: scenario.Ids) -> None:
    doc = client.get(f"/api/stats?{DAY}").get_json()
    alpha = next(r for r in doc["sections"]["fleet"]["rows"] if r["operator"] == "alpha")
    assert alpha["deployed_avg"] == pytest.approx(scenario.ALPHA_AVG, abs=1e-4)
    assert doc["period"]["start"] == "2026-10-06T00:00:00+02:00"
    one = client.get(f"/api/stats/idle?{DAY}").get_json()
    assert set(one["section"]) >= {"rows", "method", "coverage"} and "sections" not in one
    assert client.get(f"/api/stats/nothing?{DAY}").status_code == 404


def test_operator_sees_only_its_own_figures(
    app: Flask, engine: Engine, history_ids: scenario.Ids
) -> None:
    alpha = signed_in(app, engine, "ops@alpha.example", "operator", "alpha")
    html = alpha.get(f"/stats?{DAY}&lang=en").get_data(as_text=True)
    assert 'data-operator="alpha"' in html
    assert 'data-operator="beta"' not in html and 'data-operator="*"' not in html
    doc = alpha.get(f"/api/stats?{DAY}").get_json()
    for name in ("fleet", "idle", "use", "violations", "feeds"):
        assert {r["operator"] for r in doc["sections"][name]["rows"]} == {"alpha"}, name
    assert [o["slug"] for o in doc["operators"]] == ["alpha"]
    # asking for another operator does not widen the scope: answered as for one that
    # does not exist
    other = alpha.get(f"/api/stats?{DAY}&operator=beta")
    nobody = alpha.get(f"/api/stats?{DAY}&operator=nobody")
    assert other.status_code == nobody.status_code == 400
    assert (
        other.get_json()
        == nobody.get_json()
        == {
            "error": "The parameter “operator” is not valid: no such value.",
            "parameter": "operator",
        }
    )
    text = alpha.get(f"/stats/export.csv?{DAY}").get_data().decode("utf-8-sig")
    operators = {r["operator"] for r in csv.DictReader(io.StringIO(text)) if r["operator"]}
    assert operators == {"alpha"}


def test_exports_are_downloaded_and_audited(
    client: FlaskClient, engine: Engine, history_ids: scenario.Ids
) -> None:
    for fmt, media in (
        ("csv", "text/csv"),
        ("xlsx", "application/vnd.openxmlformats"),
        ("geojson", "application/geo+json"),
        ("pdf", "application/pdf"),
        ("json", "application/json"),
    ):
        response = client.get(f"/stats/export.{fmt}?{DAY}&operator=beta")
        assert response.status_code == 200, fmt
        assert response.headers["Content-Type"].startswith(media)
        assert f"statistics-2026-10-06-beta.{fmt}" in response.headers["Content-Disposition"]
    events = audit_events(engine, "stats.export")
    assert [e[2]["format"] for e in events] == ["csv", "xlsx", "geojson", "pdf", "json"]
    assert {e[0] for e in events} == {"officer"}
    assert {e[1] for e in events} == {history_ids.beta}
    assert client.get(f"/stats/export.docx?{DAY}").status_code == 404


def test_declared_fleet_form_and_csv(app: Flask, engine: Engine, history_ids: scenario.Ids) -> None:
    chief = signed_in(app, engine, "chef@annecy.example", "supervisor")
    token = csrf_token(chief, "/stats/declared")
    response = chief.post(
        "/stats/declared",
        data={
            "operator": "alpha",
            "period": "2026-10",
            "declared": "4",
            "form_factor": "",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    upload = io.BytesIO(b"operator;period;declared;form_factor\nbeta;2026-10;3;scooter_standing\n")
    response = chief.post(
        "/stats/declared/import",
        data={"file": (upload, "declared.csv"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    doc = chief.get("/api/stats/declared?period=2026-10").get_json()
    rows = {r["operator"]: r for r in doc["section"]["rows"]}
    assert rows["alpha"]["declared"] == 4 and rows["beta"]["form_factor"] == "scooter_standing"
    assert rows["alpha"]["ratio"] == pytest.approx(scenario.ALPHA_AVG / 4, abs=1e-4)
    assert len(audit_events(engine, "stats.declared_fleet.saved")) == 1
    assert len(audit_events(engine, "stats.declared_fleet.imported")) == 1
    # a wrong line: nothing imported (messages in English from now on)
    chief.get("/stats/declared?lang=en")
    bad = io.BytesIO(b"operator,period,declared\nalpha,2026-11,5\nnobody,2026-11,3\n")
    chief.post(
        "/stats/declared/import",
        data={"file": (bad, "bad.csv"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    html = chief.get("/stats/declared?lang=en").get_data(as_text=True)
    assert "line 3: unknown operator" in html and "Nothing was imported." in html
    assert "2026-11-01" not in html  # October is listed as 2026-10-01 to 2026-10-31
    assert "2026-10-31" in html


def test_declared_fleet_permissions(app: Flask, engine: Engine, history_ids: scenario.Ids) -> None:
    officer = signed_in(app, engine, "agent@annecy.example", "officer")
    assert officer.get("/stats/declared").status_code == 200
    token = csrf_token(officer, "/stats/declared")
    form = {"operator": "alpha", "period": "2026-10", "declared": "4", "csrf_token": token}
    assert officer.post("/stats/declared", data=form).status_code == 403
    alpha = signed_in(app, engine, "ops@alpha.example", "operator", "alpha")
    token = csrf_token(alpha, "/stats/declared")
    own = {**form, "csrf_token": token}
    assert alpha.post("/stats/declared", data=own).status_code == 302
    assert alpha.post("/stats/declared", data={**own, "operator": "beta"}).status_code == 404
    beta_csv = io.BytesIO(b"operator,period,declared\nbeta,2026-10,3\n")
    alpha.post(
        "/stats/declared/import",
        data={"file": (beta_csv, "x.csv"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    with engine.connect() as conn:
        slugs = conn.exec_driver_sql(
            "SELECT o.slug FROM declared_fleet d JOIN operator o ON o.id = d.operator_id"
        ).scalars()
        assert list(slugs) == ["alpha"]
