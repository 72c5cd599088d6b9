"""Case files, notices and reports pages: every page, every role, operator scoping by URL,
CSRF, audit, and the notices API with operators' tokens."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from fleet_monitor.notices.contacts import create_token
from tests.notices.helpers import World, settings_for
from tests.web.conftest import csrf_token, signed_in


@pytest.fixture
def officer(web: Flask, engine: Engine) -> FlaskClient:
    client: FlaskClient = signed_in(web, engine, "agent@annecy.example", "officer")
    return client


@pytest.fixture
def supervisor(web: Flask, engine: Engine) -> FlaskClient:
    client: FlaskClient = signed_in(web, engine, "chef@annecy.example", "supervisor")
    return client


@pytest.fixture
def trotti(web: Flask, engine: Engine) -> FlaskClient:
    client: FlaskClient = signed_in(web, engine, "ops@trotti.example", "operator", "trotti")
    return client


def audit_events(engine: Engine, event: str) -> list[dict]:  # type: ignore[type-arg]
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT actor_email, operator_id, details FROM audit_log WHERE event = :e"
                " ORDER BY id"
            ),
            {"e": event},
        ).mappings()
        return [dict(r) for r in rows]


def evidence_links(html: str) -> list[str]:
    return re.findall(r'href="(/cases/\d+/evidence/[0-9a-f]{64}\.json)"', html)


def test_staff_pages(officer: FlaskClient, world: World, engine: Engine) -> None:
    vid = world.violation["trotti"]
    page = officer.get("/cases/").get_data(as_text=True)
    assert f'data-case="{vid}"' in page and f'data-case="{world.violation["velo"]}"' in page
    assert "Dans l’eau" in page

    response = officer.get(f"/cases/{vid}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "permit:trotti:v1#in_water" in page and "Lac d’Annecy" in page
    assert 'class="folium-map"' in page and "/static/vendor/leaflet/leaflet.js" in page
    assert "cdn" not in page.lower()
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])
    assert nonce and f'<script nonce="{nonce.group(1)}">' in page
    assert world.reference["trotti"] in page  # the notice, in the timeline and the list
    assert 'id="notes"' in page and "Contrôle sur place" in page

    # the raw evidence: the feed file as fetched, with its hash; the download is audited
    link = evidence_links(page)[0]
    raw = officer.get(link)
    assert raw.status_code == 200 and raw.mimetype == "application/json"
    digest = link.rsplit("/", 1)[1][:-5]
    assert hashlib.sha256(raw.data).hexdigest() == digest
    assert "tw1" in {b["bike_id"] for b in orjson.loads(raw.data)["data"]["bikes"]}
    assert audit_events(engine, "export.evidence")[0]["details"]["sha256"] == digest
    # a hash this case does not name is not served, even if the file exists
    other = world.feeds["velo"].hashes[0]
    assert officer.get(f"/cases/{vid}/evidence/{other}.json").status_code == 404

    nid = world.notice["trotti"]
    assert world.reference["trotti"] in officer.get("/notices/").get_data(as_text=True)
    page = officer.get(f"/notices/{nid}").get_data(as_text=True)
    assert "ops@trotti.example" in page and "data-delivery=" in page and "tw1" in page
    # the act as sent, from the same partials as its PDF and e-mail; no inline style (CSP)
    act = page.split('<div class="fm-notice-document" lang="fr">', 1)[1].split("</details>")[0]
    assert world.reference["trotti"] in act and 'data-violation="' in act
    assert 'Avis de manquement / <span lang="en">Notice of breach' in act
    assert "style=" not in act and "<img" not in act
    pdf = officer.get(f"/notices/{nid}/pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert (
        audit_events(engine, "export.notice_pdf")[0]["details"]["notice"]
        == world.reference["trotti"]
    )

    listing = officer.get("/reports/")
    assert listing.status_code == 200
    with engine.connect() as conn:  # the list names the report's operator
        name = conn.execute(text("SELECT name FROM operator WHERE slug = 'trotti'")).scalar_one()
    assert escape(name) in listing.get_data(as_text=True)
    for subject in ("trotti", "*"):
        rid = world.report[subject]
        assert officer.get(f"/reports/{rid}").status_code == 200
        assert officer.get(f"/reports/{rid}/report.pdf").data.startswith(b"%PDF")
        assert officer.get(f"/reports/{rid}/report.csv").data.startswith(b"day,subject")
    assert officer.get(f"/reports/{world.report['trotti']}/other.txt").status_code == 404


def test_operator_sees_only_its_own(trotti: FlaskClient, world: World) -> None:
    own, other = world.violation["trotti"], world.violation["velo"]
    listing = trotti.get("/cases/?all=1").get_data(as_text=True)
    assert f'data-case="{own}"' in listing and f'data-case="{other}"' not in listing
    page = trotti.get(f"/cases/{own}").get_data(as_text=True)
    assert 'id="notes"' not in page  # officers' notes are internal
    assert trotti.get(f"/cases/{other}").status_code == 404
    for link in evidence_links(page):
        assert trotti.get(link).status_code == 200
        assert trotti.get(link.replace(f"/cases/{own}/", f"/cases/{other}/")).status_code == 404

    notices = trotti.get("/notices/").get_data(as_text=True)
    assert world.reference["trotti"] in notices and world.reference["velo"] not in notices
    velo_notice = world.notice["velo"]
    for path in (f"/notices/{velo_notice}", f"/notices/{velo_notice}/pdf"):
        assert trotti.get(path).status_code == 404
    page = trotti.get(f"/notices/{world.notice['trotti']}").get_data(as_text=True)
    assert 'id="respond"' in page and 'id="deliveries"' not in page

    reports = trotti.get("/reports/").get_data(as_text=True)
    assert f'data-report="{world.report["trotti"]}"' in reports
    assert f'data-report="{world.report["velo"]}"' not in reports
    assert f'data-report="{world.report["*"]}"' not in reports
    for subject in ("velo", "*"):
        for suffix in ("", "/report.pdf", "/report.csv"):
            assert trotti.get(f"/reports/{world.report[subject]}{suffix}").status_code == 404
    assert trotti.get(f"/reports/{world.report['trotti']}/report.csv").status_code == 200
    # staff-only actions
    assert trotti.get("/notices/contacts").status_code == 403


def test_officer_comments_and_confirms_on_site(
    officer: FlaskClient, trotti: FlaskClient, world: World, engine: Engine
) -> None:
    vid = world.violation["trotti"]
    token = csrf_token(officer, f"/cases/{vid}")
    assert (
        officer.post(f"/cases/{vid}/notes", data={"body": "Vu depuis le ponton"}).status_code == 400
    )
    response = officer.post(
        f"/cases/{vid}/notes", data={"body": "Vu depuis le ponton", "csrf_token": token}
    )
    assert response.status_code == 302
    response = officer.post(
        f"/cases/{vid}/on-site", data={"present": "yes", "note": "", "csrf_token": token}
    )
    assert response.status_code == 302
    page = officer.get(f"/cases/{vid}").get_data(as_text=True)
    assert "Vu depuis le ponton" in page and 'data-case-status="confirmed"' in page
    assert [e["details"]["violation"] for e in audit_events(engine, "case.comment")] == [vid]
    assert audit_events(engine, "case.on_site")[0]["details"]["present"] is True
    # an officer may not change the status; an operator may not comment
    assert (
        officer.post(
            f"/cases/{vid}/status", data={"status": "dismissed", "csrf_token": token}
        ).status_code
        == 403
    )
    op_token = csrf_token(trotti, f"/cases/{vid}")
    assert (
        trotti.post(f"/cases/{vid}/notes", data={"body": "x", "csrf_token": op_token}).status_code
        == 403
    )


def test_supervisor_changes_status_and_cancels_a_notice(
    supervisor: FlaskClient, world: World, engine: Engine
) -> None:
    vid = world.violation["velo"]
    token = csrf_token(supervisor, f"/cases/{vid}")
    response = supervisor.post(
        f"/cases/{vid}/status",
        data={"status": "dismissed", "note": "GPS drift", "csrf_token": token},
    )
    assert response.status_code == 302
    assert audit_events(engine, "case.status_changed")[0]["details"]["after"] == "dismissed"
    assert 'data-case-status="dismissed"' in supervisor.get(f"/cases/{vid}").get_data(as_text=True)

    nid = world.notice["velo"]
    assert (
        supervisor.post(
            f"/notices/{nid}/cancel", data={"reason": "", "csrf_token": token}
        ).status_code
        == 400
    )
    response = supervisor.post(
        f"/notices/{nid}/cancel", data={"reason": "Erreur de zone", "csrf_token": token}
    )
    assert response.status_code == 302
    with engine.connect() as conn:
        status = conn.execute(text("SELECT status FROM notice WHERE id = :n"), {"n": nid}).scalar()
        deliveries = (
            conn.execute(text("SELECT status FROM delivery WHERE notice_id = :n"), {"n": nid})
            .scalars()
            .all()
        )
        active = (
            conn.execute(text("SELECT active FROM notice_item WHERE notice_id = :n"), {"n": nid})
            .scalars()
            .all()
        )
    assert status == "cancelled" and set(deliveries) == {"cancelled"} and active == [False]
    assert audit_events(engine, "notice.cancelled")[0]["actor_email"] == "chef@annecy.example"


def test_operator_responds_with_the_form(
    trotti: FlaskClient, officer: FlaskClient, world: World, engine: Engine
) -> None:
    nid = world.notice["trotti"]
    token = csrf_token(trotti, f"/notices/{nid}")
    data = {"action": "acknowledged", "note": "Équipe en route", "csrf_token": token}
    assert (
        trotti.post(f"/notices/{nid}/respond", data={**data, "csrf_token": "forged"}).status_code
        == 400
    )
    assert trotti.post(f"/notices/{world.notice['velo']}/respond", data=data).status_code == 404
    assert trotti.post(f"/notices/{nid}/respond", data=data).status_code == 302
    page = trotti.get(f"/notices/{nid}").get_data(as_text=True)
    assert 'data-field="response"' in page and "Équipe en route" in page
    assert 'id="respond"' not in page
    data["action"] = "disputed"
    trotti.post(f"/notices/{nid}/respond", data=data)  # answered once only
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT response FROM notice WHERE id = :n"), {"n": nid}).scalar()
            == "acknowledged"
        )
    assert [e["actor_email"] for e in audit_events(engine, "notice.acknowledged")] == [
        "ops@trotti.example"
    ]
    officer_token = csrf_token(officer, f"/notices/{nid}")
    assert (
        officer.post(
            f"/notices/{nid}/respond", data={**data, "csrf_token": officer_token}
        ).status_code
        == 403
    )


@pytest.fixture
def api_token(engine: Engine, world: World) -> Iterator[str]:
    with Session(engine) as s, s.begin():
        _row, token = create_token(s, "trotti", name="backoffice", actor="test")
    yield token


def test_api_with_an_operator_token(
    web: Flask, api_token: str, world: World, engine: Engine
) -> None:
    client = web.test_client()  # no session at all
    auth = {"Authorization": f"Bearer {api_token}"}
    listing = client.get("/api/notices", headers=auth).get_json()
    assert [n["reference"] for n in listing["notices"]] == [world.reference["trotti"]]
    ref = world.reference["trotti"]
    shown = client.get(f"/api/notices/{ref}", headers=auth).get_json()
    assert shown["document"]["items"][0]["vehicle"]["gbfs_id"] == "tw1"
    assert client.get(f"/api/notices/{world.reference['velo']}", headers=auth).status_code == 404
    bad = {"Authorization": "Bearer fmt_not-a-token"}
    assert client.post(f"/api/notices/{ref}/dispute", headers=bad, json={}).status_code == 401
    assert client.post(f"/api/notices/{ref}/dispute", json={}).status_code == 401
    other = client.post(f"/api/notices/{world.reference['velo']}/dispute", headers=auth, json={})
    assert other.status_code == 404

    # no CSRF token needed with a bearer token (no cookie is involved)
    response = client.post(
        f"/api/notices/{ref}/dispute", headers=auth, json={"note": "Vehicle collected at 09:20"}
    )
    assert response.status_code == 200
    assert response.get_json()["notice"]["response"] == "disputed"
    again = client.post(f"/api/notices/{ref}/acknowledge", headers=auth, json={})
    assert again.status_code == 409
    [event] = audit_events(engine, "notice.disputed")
    assert event["actor_email"].startswith("token:fmt_") and event["details"]["note"].startswith(
        "Vehicle"
    )
    with engine.connect() as conn:
        last_used = conn.execute(text("SELECT last_used_at FROM operator_api_token")).scalar()
    assert last_used is not None


def test_api_with_a_session_needs_the_csrf_header(web: Flask, engine: Engine, world: World) -> None:
    client: FlaskClient = signed_in(web, engine, "ops@velo.example", "operator", "velo")
    ref = world.reference["velo"]
    assert client.post(f"/api/notices/{ref}/acknowledge", json={}).status_code == 400
    token = csrf_token(client, "/notices/")
    response = client.post(
        f"/api/notices/{ref}/acknowledge", json={}, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 200


def test_contacts_page(
    supervisor: FlaskClient, officer: FlaskClient, engine: Engine, world: World
) -> None:
    assert officer.get("/notices/contacts").status_code == 403
    token = csrf_token(supervisor, "/notices/contacts")
    data = {
        "operator": "velo",
        "channel": "email",
        "address": "Astreinte@Velo.example",
        "name": "Astreinte",
        "notices": "y",
        "csrf_token": token,
    }
    assert supervisor.post("/notices/contacts", data=data).status_code == 302
    page = supervisor.get("/notices/contacts").get_data(as_text=True)
    assert "astreinte@velo.example" in page
    # a webhook on a private address is refused (the feeds' network guard)
    data.update(channel="webhook", address="http://127.0.0.1:9/hook")
    response = supervisor.post("/notices/contacts", data=data)
    assert response.status_code == 400 and "n’est pas autorisée" in response.get_data(as_text=True)
    with engine.connect() as conn:
        reports = conn.execute(
            text("SELECT reports FROM operator_contact WHERE address = 'astreinte@velo.example'")
        ).scalar()
    assert reports is False
    assert (
        audit_events(engine, "operator.contact_added")[-1]["details"]["address"]
        == "astreinte@velo.example"
    )


def test_pages_in_english(officer: FlaskClient, world: World) -> None:
    page = officer.get(f"/notices/{world.notice['trotti']}?lang=en").get_data(as_text=True)
    # the page is in English; the act it shows as sent is bilingual, French first, by law
    ui, act = page.split('<div class="fm-notice-document" lang="fr">', 1)
    assert "Deadline" in ui and "Échéance" not in ui
    assert "The document as sent" in ui and 'Échéance / <span lang="en">Deadline' in act
    page = officer.get(f"/cases/{world.violation['trotti']}").get_data(as_text=True)
    assert "In water" in page and "Feed evidence" in page


def test_supervisor_issues_notices_and_asks_for_deliveries_again(
    supervisor: FlaskClient,
    officer: FlaskClient,
    trotti: FlaskClient,
    web: Flask,
    world: World,
    engine: Engine,
    db_url: str,
) -> None:
    from datetime import timedelta

    from fleet_monitor.notices.jobs import plan
    from tests.notices.helpers import T0, violations

    ids = {v["gbfs_id"]: v["id"] for v in violations(engine) if v["rule_type"] != "fleet_cap"}
    token = csrf_token(supervisor, "/notices/")
    officer_token = csrf_token(officer, "/notices/")
    assert (
        officer.post(f"/cases/{ids['tn1']}/notice", data={"csrf_token": officer_token}).status_code
        == 403
    )
    assert (
        supervisor.post(f"/cases/{ids['tn1']}/notice", data={"csrf_token": token}).status_code
        == 302
    )
    page = supervisor.get(f"/cases/{ids['tn1']}").get_data(as_text=True)
    assert "Avis ANN-2026-000003 émis." in page
    supervisor.post(f"/cases/{ids['tn1']}/notice", data={"csrf_token": token})
    assert "Impossible d’émettre un avis" in supervisor.get(f"/cases/{ids['tn1']}").get_data(
        as_text=True
    )

    # review mode: a draft waits for a supervisor
    [draft] = plan(engine, settings_for(db_url, mode="review"), T0 + timedelta(hours=2)).created
    assert "Émettre et envoyer cet avis" in supervisor.get(f"/notices/{draft}").get_data(
        as_text=True
    )
    assert (
        officer.post(f"/notices/{draft}/issue", data={"csrf_token": officer_token}).status_code
        == 403
    )
    assert supervisor.post(f"/notices/{draft}/issue", data={"csrf_token": token}).status_code == 302
    with engine.connect() as conn:
        issued = conn.execute(
            text("SELECT status, reference FROM notice WHERE id = :n"), {"n": draft}
        ).one()
        delivery = conn.execute(
            text(
                "UPDATE delivery SET status = 'failed', last_error = '550 no such user'"
                " WHERE notice_id = :n RETURNING id"
            ),
            {"n": draft},
        ).scalar()
        conn.commit()
    assert issued.status == "issued" and issued.reference == "ANN-2026-000004"
    page = supervisor.get(f"/notices/{draft}").get_data(as_text=True)
    assert "550 no such user" in page and 'data-status="failed"' in page
    assert (
        officer.post(
            f"/notices/deliveries/{delivery}/retry", data={"csrf_token": officer_token}
        ).status_code
        == 403
    )
    assert (
        supervisor.post(
            f"/notices/deliveries/{delivery}/retry", data={"csrf_token": token}
        ).status_code
        == 302
    )
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT status FROM delivery WHERE id = :d"), {"d": delivery}
            ).scalar()
            == "pending"
        )
    assert [e["details"]["notice"] for e in audit_events(engine, "notice.delivery_retried")] == [
        "ANN-2026-000004"
    ]
    # an operator may neither issue nor cancel
    op_token = csrf_token(trotti, "/notices/")
    nid = world.notice["trotti"]
    assert (
        trotti.post(
            f"/notices/{nid}/cancel", data={"reason": "x", "csrf_token": op_token}
        ).status_code
        == 403
    )
    # and nobody signed in is sent to the login page
    anonymous = web.test_client()
    for path in ("/cases/", f"/notices/{nid}", "/reports/"):
        assert anonymous.get(path).status_code == 302
    assert anonymous.get("/api/notices").status_code == 401
