"""Who may reach what: login everywhere, roles, operator scoping, CSRF on every change."""

from __future__ import annotations

import re

import pytest
from flask import Blueprint, Flask, jsonify
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from fleet_monitor.models.users import UserAccount
from fleet_monitor.web.permissions import (
    ensure_operator_visible,
    operator_scope,
    require_role,
    scope_param,
    visible_operator_ids,
)
from fleet_monitor.web.sessions import CurrentUser
from gbfs_ingest.db import VehicleCurrent
from tests.web.conftest import (
    LON,
    T0,
    Fleet,
    csrf_token,
    make_app,
    signed_in,
    vehicles,
)

PUBLIC = {"/login", "/api/health", "/password/forgot", "/password/reset"}
# MDS Policy and Geography: public by default ([mds] access; tests/web/test_mds_api.py)
PUBLIC |= {f"/mds/{p}" for p in ("policies", "policies.json", "policies/1")}
PUBLIC |= {f"/mds/{p}" for p in ("geographies", "geographies.json", "geographies/1")}
PUBLIC |= {f"/gbfs/{v}/geofencing_zones.json" for v in ("2.3", "3.0")}
# residents' reports (issue 15): the public page and Open311 GeoReport v2
PUBLIC |= {"/signaler", "/open311/v2/services.json", "/open311/v2/requests.json"}
PUBLIC |= {"/open311/discovery.json", "/open311/discovery.xml"}  # Open311 discovery
PUBLIC_NOT_FOUND = {"/open311/v2/requests/1.json"}  # no such request: 404, no login
# public pages that send a visitor without the right state elsewhere
PUBLIC_REDIRECTS = {
    "/login/2fa": "/login",  # no right password waiting for its second factor
    "/login/2fa/setup": "/login",
    "/password/reset/1": "/password/reset",  # the token leaves the address bar at once
}
# a notice's signed respond link is its own credential: an unknown link is a 404 (GET),
# a form without its CSRF token a 400 (POST)
PUBLIC_LINKS = ("/respond/",)
ROLES = ("officer", "supervisor", "admin", "operator")

# GET pages and the roles that may open them (others: 403)
PAGES: dict[str, set[str]] = {
    "/": set(ROLES),
    "/account": set(ROLES),
    "/api/vehicles": set(ROLES),
    "/admin/users": {"admin"},
    "/admin/audit": {"admin"},
}


@pytest.fixture
def fleets(engine: Engine) -> dict[str, Fleet]:
    lac = Fleet(engine, "velo-lac", "Vélo Lac")
    trott = Fleet(engine, "trott", "Trott")
    lac.poll(vehicles(3, "L"), T0)
    trott.poll(vehicles(2, "T", lon=LON + 0.01), T0)
    return {"velo-lac": lac, "trott": trott}


def client_for(app: Flask, engine: Engine, role: str) -> FlaskClient:
    operator = "trott" if role == "operator" else None
    client: FlaskClient = signed_in(app, engine, f"{role}@example.org", role, operator)
    return client


def gbfs_ids(client: FlaskClient, query: str = "") -> list[str]:
    response = client.get(f"/api/vehicles{query}")
    assert response.status_code == 200
    return sorted(f["properties"]["gbfs_id"] for f in response.get_json(force=True)["features"])


def test_every_route_needs_an_account_except_login_health_and_static(
    app: Flask, anon: FlaskClient
) -> None:
    seen = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:int:)?(\w+)>", "1", rule.rule)
        if rule.endpoint == "static":
            continue
        seen.add(path)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = anon.open(path, method=method)
            if path in PUBLIC:
                assert response.status_code in (200, 400), (method, path)
            elif path.startswith(PUBLIC_LINKS):
                assert response.status_code == (404 if method == "GET" else 400), (method, path)
            elif path in PUBLIC_NOT_FOUND:
                assert response.status_code == 404, (method, path)
            elif path in PUBLIC_REDIRECTS and method == "POST":
                assert response.status_code == 400, (method, path)  # no CSRF token
            elif path in PUBLIC_REDIRECTS:
                assert response.status_code == 302, (method, path)
                assert response.headers["Location"] == PUBLIC_REDIRECTS[path], (method, path)
            elif path.startswith("/api/"):
                assert response.status_code == 401, (method, path)
            else:
                assert response.status_code == 302, (method, path)
                assert response.headers["Location"].startswith("/login"), (method, path)
    assert {"/", "/login", "/logout", "/account", "/admin/users", "/admin/audit"} <= seen
    assert {"/admin/users/1/disable", "/admin/users/1/enable", "/api/vehicles"} <= seen
    # unknown addresses do not reveal anything either
    assert anon.get("/no/such/page").status_code == 302
    static = anon.get("/static/js/map.js")
    assert static.status_code == 200
    static.close()


def test_anonymous_is_sent_to_login_and_back(anon: FlaskClient) -> None:
    response = anon.get("/admin/audit?event=login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/admin/audit?event%3Dlogin"
    assert anon.get("/").headers["Location"] == "/login"


@pytest.mark.parametrize("role", ROLES)
def test_pages_by_role(app: Flask, engine: Engine, fleets: object, role: str) -> None:
    client = client_for(app, engine, role)
    for path, allowed in PAGES.items():
        response = client.get(path)
        expected = 200 if role in allowed else 403
        assert response.status_code == expected, (role, path)
        if expected == 403 and not path.startswith("/api/"):
            assert "Votre compte ne donne pas accès à cette page." in response.get_data(
                as_text=True
            )
        response.close()
    html = client.get("/").get_data(as_text=True)
    assert ('href="/admin/users"' in html) is (role == "admin")


def test_operator_sees_only_its_own_vehicles(app: Flask, engine: Engine, fleets: object) -> None:
    trott = client_for(app, engine, "operator")
    assert gbfs_ids(trott) == ["T0", "T1"]
    # changing the query parameter does not widen the scope
    assert gbfs_ids(trott, "?operator=velo-lac") == []
    assert gbfs_ids(trott, "?operator=trott") == ["T0", "T1"]
    assert gbfs_ids(trott, "?operator=velo-lac&operator=trott") == []
    assert gbfs_ids(trott, "?state=available&min_parked_days=0") == ["T0", "T1"]
    # staff see everyone
    officer = client_for(app, engine, "officer")
    assert gbfs_ids(officer) == ["L0", "L1", "L2", "T0", "T1"]
    assert gbfs_ids(officer, "?operator=velo-lac") == ["L0", "L1", "L2"]


def test_operator_map_page_shows_only_its_operator(
    app: Flask, engine: Engine, fleets: object
) -> None:
    client = client_for(app, engine, "operator")
    html = client.get("/").get_data(as_text=True)
    assert "Trott" in html
    assert "velo-lac" not in html
    assert "Vélo Lac" not in html and "V\\u00e9lo Lac" not in html
    # asking for another operator is answered as for one that does not exist
    other = client.get("/?operator=velo-lac")
    nobody = client.get("/?operator=nobody")
    assert other.status_code == nobody.status_code == 400
    assert "Vélo Lac" not in other.get_data(as_text=True)
    assert other.get_data(as_text=True).replace("velo-lac", "nobody") == nobody.get_data(
        as_text=True
    ).replace(csrf_of(nobody), csrf_of(other))


def csrf_of(response: object) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', response.get_data(as_text=True))  # type: ignore[attr-defined]
    return match.group(1) if match else ""


def test_scope_helpers() -> None:
    staff = CurrentUser(1, "a@x.org", "supervisor", None, None, "h")
    operator = CurrentUser(2, "b@x.org", "operator", 7, "trott", "h")
    assert visible_operator_ids(staff) is None
    assert visible_operator_ids(operator) == frozenset({7})
    assert visible_operator_ids(None) == frozenset()
    assert scope_param(staff) is None and scope_param(operator) == [7]
    column = VehicleCurrent.operator_id
    assert str(operator_scope(column, staff)) == "true"
    assert "IN" in str(operator_scope(column, operator))
    orphan = CurrentUser(3, "c@x.org", "operator", None, None, "h")
    assert str(operator_scope(column, orphan)) == "false"
    with pytest.raises(ValueError, match="unknown roles"):
        require_role("superuser")


def test_operator_scope_in_an_orm_query(engine: Engine, fleets: dict[str, Fleet]) -> None:
    user = CurrentUser(9, "s@trott.example", "operator", fleets["trott"].operator_id, "trott", "h")
    with Session(engine) as s:
        query = select(func.count()).select_from(VehicleCurrent)
        assert s.scalar(query.where(operator_scope(VehicleCurrent.operator_id, user))) == 2


def test_object_of_another_operator_is_not_found(
    db_url: str, engine: Engine, fleets: dict[str, Fleet]
) -> None:
    # how later blueprints (notices, case files) check an id taken from a URL
    app = make_app(db_url, engine)
    bp = Blueprint("probe", __name__)

    @bp.get("/probe/<int:operator_id>")
    def probe(operator_id: int) -> str:
        ensure_operator_visible(operator_id)
        return "visible"

    app.register_blueprint(bp)
    own, other = fleets["trott"].operator_id, fleets["velo-lac"].operator_id
    trott = client_for(app, engine, "operator")
    assert trott.get(f"/probe/{own}").status_code == 200
    assert trott.get(f"/probe/{other}").status_code == 404
    assert client_for(app, engine, "officer").get(f"/probe/{other}").status_code == 200


# --------------------------------------------------------------------------- CSRF


def test_forms_without_csrf_token_are_refused(
    app: Flask, engine: Engine, anon: FlaskClient
) -> None:
    response = anon.post("/login", data={"email": "admin@example.org", "password": "x" * 20})
    assert response.status_code == 400
    assert "Ce formulaire a expiré" in response.get_data(as_text=True)

    admin = client_for(app, engine, "admin")
    response = admin.post(
        "/admin/users",
        data={
            "email": "new@example.org",
            "role": "officer",
            "password": "a long enough password",
            "confirm": "a long enough password",
        },
    )
    assert response.status_code == 400
    with Session(engine) as s:
        assert s.scalar(select(UserAccount).where(UserAccount.email == "new@example.org")) is None
    # a forged token is no better
    response = admin.post("/logout", data={"csrf_token": "forged"})
    assert response.status_code == 400
    assert admin.get("/account").status_code == 200  # still signed in
    # nor is another session's token
    other = client_for(app, engine, "officer")
    response = admin.post("/logout", data={"csrf_token": csrf_token(other, "/account")})
    assert response.status_code == 400


def test_json_api_changes_need_the_csrf_header(db_url: str, engine: Engine) -> None:
    # later API blueprints (acknowledging a notice...) get the same protection
    app = make_app(db_url, engine)
    bp = Blueprint("probe_api", __name__, url_prefix="/api/probe")

    @bp.post("/change")
    def change() -> object:
        return jsonify(done=True)

    app.register_blueprint(bp)
    client = client_for(app, engine, "officer")
    response = client.post("/api/probe/change", json={"x": 1})
    assert response.status_code == 400
    assert "CSRF" in response.get_json()["error"]
    token = csrf_token(client, "/account")
    response = client.post("/api/probe/change", json={"x": 1}, headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.get_json() == {"done": True}
    # the map hands its token to its script for such calls
    # (a signed token carries a timestamp: the page's may differ from the one above
    # by a second, so it is checked by using it, not by comparing the strings)
    html = client.get("/").get_data(as_text=True)
    found = re.search(r'"csrfToken":"([^"]+)"', html)
    assert found is not None
    response = client.post(
        "/api/probe/change", json={"x": 1}, headers={"X-CSRFToken": found.group(1)}
    )
    assert response.status_code == 200
