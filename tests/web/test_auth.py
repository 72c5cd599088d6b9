"""Sign-in, sessions, cookies, lockouts, password hashing and change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session

from fleet_monitor.models.users import AuditEvent, LoginThrottle, UserAccount, UserSession
from fleet_monitor.users import verify_password
from fleet_monitor.web import create_app
from tests.web.conftest import (
    PASSWORD,
    add_user,
    csrf_token,
    login,
    make_app,
    make_settings,
    signed_in,
)

EMAIL = "agent@annecy.example"


def audit_events(engine: Engine) -> list[AuditEvent]:
    with Session(engine) as s:
        return list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def session_cookie(response: object) -> str:
    cookies = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("fm_session=")]  # type: ignore[attr-defined]
    assert cookies, "no session cookie set"
    return str(cookies[-1])


def test_login_logout(app: Flask, engine: Engine, anon: FlaskClient) -> None:
    add_user(engine, EMAIL, "officer")
    page = anon.get("/login").get_data(as_text=True)
    assert "Se connecter" in page and 'autocomplete="current-password"' in page
    response = login(anon, "  Agent@Annecy.EXAMPLE ", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = session_cookie(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # testing mode over plain http
    assert anon.get("/").status_code == 200
    assert anon.get("/login").headers["Location"] == "/"  # already signed in

    response = anon.post("/logout", data={"csrf_token": csrf_token(anon, "/account")})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "Vous êtes déconnecté." in anon.get("/login").get_data(as_text=True)
    assert anon.get("/").status_code == 302
    events = [(e.event, e.actor_email, e.ip) for e in audit_events(engine)]
    assert events == [
        ("login.success", EMAIL, "10.1.2.3"),
        ("logout", EMAIL, "127.0.0.1"),
    ]
    with Session(engine) as s:
        assert s.scalar(select(UserSession)) is None
        user = s.scalar(select(UserAccount))
        assert user is not None and user.last_login_at is not None


def test_session_is_rotated_on_login_and_ended_on_logout(
    app: Flask, engine: Engine, anon: FlaskClient
) -> None:
    add_user(engine, EMAIL, "officer")
    before_token = csrf_token(anon)
    before_cookie = anon.get_cookie("fm_session")
    assert before_cookie is not None
    login(anon, EMAIL)
    after_cookie = anon.get_cookie("fm_session")
    assert after_cookie is not None and after_cookie.value != before_cookie.value
    assert csrf_token(anon, "/account") != before_token  # new session, new CSRF token

    # the pre-login cookie grants nothing
    fixation = app.test_client()
    fixation.set_cookie("fm_session", before_cookie.value)
    assert fixation.get("/").status_code == 302

    # a copy of the signed-in cookie works... until logout ends the session on the server
    stolen = app.test_client()
    stolen.set_cookie("fm_session", after_cookie.value)
    assert stolen.get("/").status_code == 200
    anon.post("/logout", data={"csrf_token": csrf_token(anon, "/account")})
    assert stolen.get("/").status_code == 302
    assert stolen.get("/api/vehicles").status_code == 401


def test_language_chosen_before_login_is_kept(engine: Engine, anon: FlaskClient) -> None:
    add_user(engine, EMAIL, "officer")
    assert "Sign in" in anon.get("/login?lang=en").get_data(as_text=True)
    login(anon, EMAIL)
    assert "Shared vehicles map" in anon.get("/").get_data(as_text=True)


def test_wrong_password_and_unknown_account_look_the_same(
    engine: Engine, anon: FlaskClient
) -> None:
    add_user(engine, EMAIL, "officer")
    add_user(engine, "gone@annecy.example", "officer", active=False)
    pages = []
    for email, password in (
        (EMAIL, "not the password at all"),
        ("nobody@annecy.example", PASSWORD),
        ("gone@annecy.example", PASSWORD),
    ):
        response = login(anon, email, password)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert "Adresse e-mail ou mot de passe incorrect." in page
        pages.append(page.replace(email, ""))
    assert anon.get("/").status_code == 302
    failures = [(e.event, e.actor_email, e.details["reason"]) for e in audit_events(engine)]
    assert failures == [
        ("login.failure", EMAIL, "bad_password"),
        ("login.failure", "nobody@annecy.example", "unknown_account"),
        ("login.failure", "gone@annecy.example", "disabled"),
    ]
    assert all(PASSWORD not in str(e.details) for e in audit_events(engine))


def test_account_lockout_grows_and_survives_a_restart(
    db_url: str, app: Flask, engine: Engine, anon: FlaskClient
) -> None:
    add_user(engine, EMAIL, "officer")
    for _ in range(4):
        assert login(anon, EMAIL, "wrong password!!").status_code == 200
    fifth = login(anon, EMAIL, "wrong password!!")
    assert fifth.status_code == 429
    assert "Trop de tentatives échouées. Réessayez dans 1 min." in fifth.get_data(as_text=True)
    # even the right password is refused while locked, from another address too
    right = login(anon, EMAIL, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert right.status_code == 429 and 0 < int(right.headers["Retry-After"]) <= 60
    # a new app (a restart, another worker) reads the same lock
    other_worker = make_app(db_url, engine).test_client()
    assert login(other_worker, EMAIL).status_code == 429
    events = [e.event for e in audit_events(engine)]
    assert events == ["login.failure"] * 5 + ["login.refused"] * 2
    assert audit_events(engine)[4].details["locked_for_s"] == 60

    def expire_lock() -> None:
        with Session(engine) as s, s.begin():
            s.execute(
                update(LoginThrottle).values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
            )

    expire_lock()
    for _ in range(5):
        last = login(anon, EMAIL, "wrong password!!")
    assert last.status_code == 429  # second lockout: twice as long
    assert "Réessayez dans 2 min." in last.get_data(as_text=True)
    with Session(engine) as s:
        row = s.get(LoginThrottle, f"account:{EMAIL}")
        assert row is not None and row.lockouts == 2
        assert row.locked_until is not None
        assert row.locked_until - row.last_failure_at == timedelta(minutes=2)
    expire_lock()
    assert login(anon, EMAIL).status_code == 302  # success clears the account's record
    with Session(engine) as s:
        assert s.get(LoginThrottle, f"account:{EMAIL}") is None


def test_address_lockout_across_accounts(db_url: str, engine: Engine) -> None:
    app = make_app(db_url, engine)
    app.config["FLEET_LOGIN_IP_MAX_FAILURES"] = 3
    add_user(engine, EMAIL, "officer")
    client = app.test_client()
    attacker = {"REMOTE_ADDR": "203.0.113.7"}
    for i in range(2):
        assert login(client, f"guess{i}@annecy.example", environ_base=attacker).status_code == 200
    assert login(client, "guess9@annecy.example", environ_base=attacker).status_code == 429
    # the address is locked, for any account, even with the right password
    assert login(client, EMAIL, environ_base=attacker).status_code == 429
    # another address is not
    assert (
        login(app.test_client(), EMAIL, environ_base={"REMOTE_ADDR": "198.51.100.1"}).status_code
        == 302
    )


def test_next_parameter_cannot_leave_the_site(engine: Engine, app: Flask) -> None:
    add_user(engine, EMAIL, "officer")
    for target, expected in (
        ("/admin/audit?event=login", "/admin/audit?event=login"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ):
        client = app.test_client()
        token = csrf_token(client)
        response = client.post(
            "/login",
            query_string={"next": target},
            data={"email": EMAIL, "password": PASSWORD, "csrf_token": token},
        )
        assert response.headers["Location"] == expected, target


def test_secure_cookie_by_default(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user(engine, EMAIL, "officer")

    def cookie_for(app: Flask) -> str:
        client = app.test_client()
        return session_cookie(login(client, EMAIL))

    monkeypatch.delenv("FLEET_WEB_COOKIE_SECURE", raising=False)
    production = create_app(make_settings(db_url), engine=engine)
    assert "; Secure" in cookie_for(production)
    debug = create_app(make_settings(db_url), engine=engine)
    debug.debug = True
    assert "Secure" not in cookie_for(debug)
    plain = create_app(
        make_settings(db_url), engine=engine, config={"SESSION_COOKIE_SECURE": False}
    )
    assert "Secure" not in cookie_for(plain)
    monkeypatch.setenv("FLEET_WEB_COOKIE_SECURE", "false")
    assert "Secure" not in cookie_for(create_app(make_settings(db_url), engine=engine))
    monkeypatch.setenv("FLEET_WEB_COOKIE_SECURE", "true")
    forced = create_app(make_settings(db_url), engine=engine)
    forced.testing = True
    assert "; Secure" in cookie_for(forced)


def test_passwords_are_argon2id_and_rehashed_when_parameters_change(
    engine: Engine, anon: FlaskClient
) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    user_id = add_user(engine, EMAIL, "officer")
    with Session(engine) as s, s.begin():
        s.execute(update(UserAccount).where(UserAccount.id == user_id).values(password_hash=weak))
    assert login(anon, EMAIL).status_code == 302
    with Session(engine) as s:
        stored = s.scalar(select(UserAccount.password_hash).where(UserAccount.id == user_id))
    assert stored is not None and stored != weak
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in stored and verify_password(stored, PASSWORD)


def test_disabled_account_loses_its_sessions(app: Flask, engine: Engine) -> None:
    client = signed_in(app, engine, EMAIL, "officer")
    assert client.get("/").status_code == 200
    with Session(engine) as s, s.begin():
        s.execute(update(UserAccount).values(active=False))
    assert client.get("/").status_code == 302


def test_idle_and_absolute_session_expiry(app: Flask, engine: Engine) -> None:
    client = signed_in(app, engine, EMAIL, "officer")
    with engine.begin() as conn:
        conn.execute(text("UPDATE user_session SET last_seen_at = now() - interval '3 hours'"))
    assert client.get("/").status_code == 302  # idle for more than 2 hours
    client = signed_in(app, engine, "other@annecy.example", "officer")
    with engine.begin() as conn:
        conn.execute(text("UPDATE user_session SET expires_at = now() - interval '1 second'"))
    assert client.get("/").status_code == 302


def test_change_own_password(app: Flask, engine: Engine) -> None:
    client = signed_in(app, engine, EMAIL, "officer")
    elsewhere = app.test_client()
    login(elsewhere, EMAIL)
    new = "a brand new passphrase"

    def change(current: str, new_password: str, confirm: str) -> object:
        token = csrf_token(client, "/account")
        return client.post(
            "/account",
            data={"current": current, "new": new_password, "confirm": confirm, "csrf_token": token},
        )

    wrong = change("not my password", new, new)
    assert wrong.status_code == 400  # type: ignore[attr-defined]
    assert "Mot de passe incorrect." in wrong.get_data(as_text=True)  # type: ignore[attr-defined]
    short = change(PASSWORD, "short", "short")
    assert short.status_code == 400  # type: ignore[attr-defined]
    assert "Au moins 12 caractères." in short.get_data(as_text=True)  # type: ignore[attr-defined]
    differ = change(PASSWORD, new, new + "!")
    assert "Les mots de passe diffèrent." in differ.get_data(as_text=True)  # type: ignore[attr-defined]
    done = change(PASSWORD, new, new)
    assert done.status_code == 302  # type: ignore[attr-defined]
    assert client.get("/").status_code == 200  # this session is kept
    assert elsewhere.get("/").status_code == 302  # the other one is ended
    assert login(app.test_client(), EMAIL, new).status_code == 302
    assert "password.changed" in [e.event for e in audit_events(engine)]
