"""One's sessions: device, address, last use; signing one or all of them out."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from fleet_monitor.models.users import AuditEvent, UserSession
from fleet_monitor.web.sessions import describe_user_agent
from tests.web.conftest import add_user, csrf_token, login

EMAIL = "agent@annecy.example"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
ROW_RE = re.compile(r'<tr data-session="(\w+)"( class="fm-current")?>(.*?)</tr>', re.S)


def rows(html: str) -> list[tuple[str, bool, str]]:
    return [(m.group(1), bool(m.group(2)), m.group(3)) for m in ROW_RE.finditer(html)]


def test_sessions_page_and_signing_out(app: Flask, engine: Engine) -> None:
    add_user(engine, EMAIL, "officer")
    add_user(engine, "other@annecy.example", "officer")
    desk = app.test_client()
    login(desk, EMAIL, headers={"User-Agent": FIREFOX}, environ_base={"REMOTE_ADDR": "10.1.1.1"})
    phone = app.test_client()
    login(phone, EMAIL, headers={"User-Agent": IPHONE}, environ_base={"REMOTE_ADDR": "10.2.2.2"})
    other = app.test_client()
    login(other, "other@annecy.example")

    page = desk.get("/account/sessions", headers={"User-Agent": FIREFOX})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Mes sessions" in html
    listed = rows(html)
    assert len(listed) == 2  # not the other account's
    current = [r for r in listed if r[1]]
    assert len(current) == 1 and "Firefox · Linux" in current[0][2]
    assert "(cette session)" in current[0][2] and "10.1.1.1" in current[0][2]
    phone_row = next(r for r in listed if not r[1])
    assert "Safari · iOS" in phone_row[2] and "10.2.2.2" in phone_row[2]

    # sign the phone out from the desk
    with Session(engine) as s:
        handles = s.scalars(select(UserSession.token_hash)).all()
    phone_handle = next(h for h in handles if h.startswith(phone_row[0]))
    token = csrf_token(desk, "/account/sessions")
    response = desk.post(f"/account/sessions/{phone_handle}/end", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/account/sessions"
    assert phone.get("/").status_code == 302
    assert desk.get("/").status_code == 200

    # another account's session cannot be ended from here
    other_handle = next(
        h for h in handles if h not in (phone_handle,) and not h.startswith(current[0][0])
    )
    desk.post(f"/account/sessions/{other_handle}/end", data={"csrf_token": token})
    assert other.get("/").status_code == 200

    # sign out everywhere: this session too
    login(phone, EMAIL, headers={"User-Agent": IPHONE})
    response = desk.post("/account/sessions/end-all", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert "Vous êtes déconnecté partout." in desk.get("/login").get_data(as_text=True)
    assert desk.get("/").status_code == 302 and phone.get("/").status_code == 302
    assert other.get("/").status_code == 200
    with Session(engine) as s:
        events = [
            (e.event, e.details) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]
    assert ("session.ended", {"session": phone_row[0]}) in events
    assert ("session.ended_all", {"sessions": 2}) in events


def test_last_use_is_shown_and_expired_sessions_are_not(app: Flask, engine: Engine) -> None:
    add_user(engine, EMAIL, "officer")
    client = app.test_client()
    login(client, EMAIL)
    old = app.test_client()
    login(old, EMAIL)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE user_session SET expires_at = now() - interval '1 minute'"
                " WHERE created_at = (SELECT max(created_at) FROM user_session)"
            )
        )
    html = client.get("/account/sessions").get_data(as_text=True)
    assert "Dernière activité" in html
    assert [current for _handle, current, _row in rows(html)] == [True]


def test_describe_user_agent() -> None:
    assert describe_user_agent(FIREFOX) == "Firefox · Linux"
    assert describe_user_agent(IPHONE) == "Safari · iOS"
    edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36 Edg/126.0"
    assert describe_user_agent(edge) == "Edge · Windows"
    assert describe_user_agent("curl/8.5.0") == "curl · ?"
    assert describe_user_agent(None) == "?"
    assert describe_user_agent("x" * 200) == "x" * 60
