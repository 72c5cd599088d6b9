"""Every route with hostile parameters: a 400 (or 404) with a clear message, never a 500.

The walk covers every rule registered in the app (the test fails if a route is
left out): GET routes get hostile values in every parameter the app reads,
POST routes hostile form fields (with a valid CSRF token), path values are
replaced by huge numbers, NUL and very long strings. Then the specific checks:
what the messages say (French by default, JSON on the API) and that a form
refused writes nothing.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from tests.notices.helpers import World
from tests.web.conftest import csrf_token, signed_in

# every query parameter some view reads
PARAMS = (
    "operator",
    "rule",
    "all",
    "offset",
    "status",
    "day",
    "event",
    "before",
    "period",
    "custom",
    "zone",
    "form_factor",
    "state",
    "min_parked_days",
    "lat",
    "lon",
    "lang",
    "next",
    "_scheme",
    "_external",
    "_anchor",
    "_method",
)
HOSTILE = (
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "99999999999999999999",
    "-1",
    "2026-13-45",
    "nan",
    "1e400",
    "x" * 600,
    "²",
    "<script>alert(1)</script>",
    "' OR '1'='1",
    "%",
    "\u2028",
    "😀",
)
# values that must be refused by every route (a 400 whatever the parameter)
ALWAYS_REFUSED = ("\x00", "a\x00b", "\x1b[31m", "x" * 600)
FORM_FIELDS = (
    "body",
    "note",
    "present",
    "status",
    "reason",
    "action",
    "operator",
    "channel",
    "address",
    "name",
    "period",
    "declared",
    "form_factor",
    "email",
    "password",
    "confirm",
    "role",
    "current",
    "new",
)
HUGE = "99999999999999999999999"


@pytest.fixture
def admin(web: Flask, engine: Engine) -> FlaskClient:
    client: FlaskClient = signed_in(web, engine, "admin@annecy.example", "admin")
    return client


def path_values(web: Flask, world: World, engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        sha = conn.execute(text("SELECT sha256 FROM raw_blob LIMIT 1")).scalar()
        delivery = conn.execute(text("SELECT min(id) FROM delivery")).scalar()
        user = conn.execute(text("SELECT max(id) FROM user_account")).scalar()
    return {
        "violation_id": str(world.violation["trotti"]),
        "notice_id": str(world.notice["trotti"]),
        "report_id": str(next(iter(world.report.values()))),
        "delivery_id": str(delivery or 1),
        "contact_id": "1",
        "declared_id": "1",
        "user_id": str(user or 1),
        "sha256": sha or "0" * 64,
        "reference": world.reference["trotti"],
        "section": "fleet",
        "kind": "report.pdf",
        "fmt": "json",
        "handle": "0" * 16,  # a session handle (account_sessions)
        "token": "x" * 43,  # a password-reset link (password_reset), a respond link (respond)
        "dispute_id": "1",
        "attachment_id": "1",
        "policy_id": "00000000-0000-0000-0000-000000000000",  # MDS (mds_api)
        "geography_id": "00000000-0000-0000-0000-000000000000",
        "z": "14",  # a base map tile (basemap.tile)
        "x": "8500",
        "y": "5800",
    }


def urls(web: Flask, values: dict[str, str]) -> Iterator[tuple[str, str, str, list[str]]]:
    """(endpoint, method, URL with real path values, path argument names) per rule."""
    for rule in web.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<int:{arg}>", values[arg]).replace(f"<{arg}>", values[arg])
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url, sorted(rule.arguments)


def hostile_paths(web: Flask, values: dict[str, str]) -> Iterator[str]:
    for rule in web.url_map.iter_rules():
        if rule.endpoint == "static" or "GET" not in (rule.methods or set()):
            continue
        for arg in rule.arguments:
            for bad in (HUGE, "%00", "a%00b", "x" * 3000, "%E2%80%A8", "-1"):
                url = rule.rule
                for other in rule.arguments:
                    value = bad if other == arg else values[other]
                    url = url.replace(f"<int:{other}>", value).replace(f"<{other}>", value)
                yield url


def test_every_route_refuses_hostile_parameters_without_a_500(
    web: Flask, admin: FlaskClient, world: World, engine: Engine
) -> None:
    values = path_values(web, world, engine)
    token = csrf_token(admin, "/account")
    seen: set[str] = set()
    failures: list[str] = []

    def check(method: str, url: str, **kw: object) -> int:
        response = admin.open(url, method=method, **kw)  # type: ignore[arg-type]
        status = response.status_code
        if status >= 500:
            failures.append(f"{method} {url[:120]!r} {kw.get('data', '')!r:.200}: {status}")
        response.close()
        return status

    for endpoint, method, url, _args in urls(web, values):
        seen.add(endpoint)
        if endpoint in ("auth.logout", "account_sessions.end_all"):
            continue  # keeps the session (their own tests sign out)
        if method == "GET":
            for value in HOSTILE:  # every parameter at once
                status = check("GET", url, query_string={p: value for p in PARAMS})
                if value in ALWAYS_REFUSED:
                    assert status == 400, (url, value, status)
            for name in PARAMS:  # one at a time: a refused one cannot hide another
                for value in ("99999999999999999999", "2026-02-30", "bogus_value"):
                    check("GET", url, query_string={name: value})
        else:
            for value in HOSTILE:
                data = {field: value for field in FORM_FIELDS} | {"csrf_token": token}
                status = check(method, url, data=data)
                if value in ALWAYS_REFUSED[:3]:
                    assert status == 400, (url, repr(value), status)
            check(method, url, json={"note": "a\x00b"}, headers={"X-CSRFToken": token})
            check(method, url, json={"note": "n" * 10_000}, headers={"X-CSRFToken": token})
    for url in hostile_paths(web, values):
        check("GET", url)
    assert failures == []
    every = {r.endpoint for r in web.url_map.iter_rules()} - {"static"}
    assert seen == every
    # the session survived the walk: the admin is still signed in
    assert admin.get("/admin/users").status_code == 200


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("/cases/?rule=bogus", "« rule » n’est pas valide : il doit valoir l’une de ces valeurs"),
        (
            "/cases/?offset=99999999999999999999",
            "« offset » n’est pas valide : il doit être un nombre",
        ),
        ("/cases/?all=maybe", "« all » n’est pas valide"),
        ("/cases/?operator=nobody", "« operator » n’est pas valide : aucune valeur de ce nom"),
        ("/notices/?status=bogus", "« status » n’est pas valide"),
        ("/notices/?offset=-1", "« offset » n’est pas valide"),
        (
            "/reports/?day=2026-13-45",
            "« day » n’est pas valide : il doit être une date",
        ),
        ("/reports/?day=2026-02-30", "« day » n’est pas valide"),
        ("/admin/audit?event=bogus", "« event » n’est pas valide"),
        ("/admin/audit?before=99999999999999999999", "« before » n’est pas valide"),
        ("/stats?period=2026-99", "La période « 2026-99 » n’est pas valide"),
        ("/stats?operator=nobody", "« operator » n’est pas valide"),
        ("/?operator=nobody", "« operator » n’est pas valide"),
        ("/cases/?rule=a%00b", "contient un caractère de contrôle"),
    ],
)
def test_bad_parameters_are_explained_in_the_users_language(
    admin: FlaskClient, url: str, says: str
) -> None:
    response = admin.get(url)
    assert response.status_code == 400
    page = response.get_data(as_text=True).replace("&#34;", '"').replace("&#39;", "'")
    assert says in page, page[-1500:]
    assert 'data-error="400"' in page


def test_bad_parameters_in_english_and_on_the_api(admin: FlaskClient) -> None:
    page = admin.get("/notices/?status=bogus&lang=en").get_data(as_text=True)
    assert "The parameter “status” is not valid: it must be one of: draft, issued" in page
    api = admin.get("/api/stats?period=2026-99")
    assert api.status_code == 400 and api.is_json
    assert api.get_json()["parameter"] == "period"
    nul = admin.get("/api/vehicles?operator=a%00b")
    assert nul.status_code == 400 and nul.get_json()["parameter"] == "operator"
    assert admin.get(f"/cases/{HUGE}").status_code == 404
    assert admin.get(f"/api/notices/{quote('ANN%00')}").status_code in (400, 404)


def test_refused_forms_write_nothing(
    web: Flask, admin: FlaskClient, world: World, engine: Engine
) -> None:
    def count(table: str) -> int:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())

    vid = world.violation["trotti"]
    token = csrf_token(admin, f"/cases/{vid}")
    notes = count("case_note")
    response = admin.post(f"/cases/{vid}/notes", data={"body": "a\x00b", "csrf_token": token})
    assert response.status_code == 400
    assert "contient un caractère de contrôle" in response.get_data(as_text=True)
    response = admin.post(f"/cases/{vid}/notes", data={"body": "x" * 5000, "csrf_token": token})
    assert response.status_code == 400
    assert count("case_note") == notes

    declared = count("declared_fleet")
    for form, says in (
        ({"declared": "99999999999999999999"}, "un nombre entier de 0 à 1"),
        ({"declared": "-3"}, "un nombre entier de 0 à 1"),
        ({"period": "2026-13"}, "la période doit être"),
        ({"form_factor": "<b>"}, "le type de véhicule"),
        ({"note": "n" * 600}, "la note est trop longue"),
    ):
        data = {"operator": "trotti", "period": "2026-10", "declared": "4", "csrf_token": token}
        response = admin.post("/stats/declared", data=data | form, follow_redirects=True)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert "Non enregistré" in page and says in page, (form, page[-2000:])
    upload = io.BytesIO(b"operator;period;declared;note\ntrotti;2026-10;3;a\x00b\n")
    response = admin.post(
        "/stats/declared/import",
        data={"file": (upload, "declared.csv"), "csrf_token": token},
        follow_redirects=True,
    )
    assert "caractères de contrôle" in response.get_data(as_text=True)
    assert count("declared_fleet") == declared
