"""Password reset by e-mail through a real SMTP server (aiosmtpd) started by the test."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from fleet_monitor.models.users import AuditEvent, LoginThrottle, PasswordReset, UserSession
from fleet_monitor.settings import CitySettings, MailSettings, Settings, WebSettings
from fleet_monitor.web import create_app
from gbfs_ingest.auth import Secret
from tests.notices.helpers import SMTPServer
from tests.web.conftest import PASSWORD, add_user, csrf_token, login, make_app

EMAIL = "agent@annecy.example"
NEW = "lake shore tram at dawn"
PUBLIC_URL = "https://fleet.annecy.example"
LINK_RE = re.compile(re.escape(PUBLIC_URL) + r"(/password/reset/[A-Za-z0-9_-]+)")


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    server = SMTPServer().start()
    yield server
    server.stop()


def reset_app(db_url: str, engine: Engine, smtp: SMTPServer, **web: object) -> Flask:
    settings = Settings(
        database_url=db_url,
        city=CitySettings(locale="fr"),
        web=WebSettings(
            secret_key=Secret("test-secret-key"),
            totp_roles=(),
            public_url=PUBLIC_URL,
            **web,  # type: ignore[arg-type]
        ),
        mail=MailSettings(
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            smtp_starttls=False,
            smtp_timeout_s=5,
            from_address="fleet@annecy.example",
        ),
    )
    app = create_app(settings, engine=engine)
    app.testing = True
    return app


def ask(client: FlaskClient, email: str, **kw: object) -> str:
    token = csrf_token(client, "/password/forgot")
    response = client.post(
        "/password/forgot",
        data={"email": email, "csrf_token": token},
        **kw,  # type: ignore[arg-type]
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def wait_for_mail(smtp: SMTPServer, count: int) -> list[EmailMessage]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        messages = smtp.messages()
        if len(messages) >= count:
            return messages
        time.sleep(0.05)
    raise AssertionError(f"{count} e-mails expected, got {len(smtp.messages())}")


def link_in(msg: EmailMessage) -> str:
    text = msg.get_body(preferencelist=("plain",))
    assert text is not None
    match = LINK_RE.search(str(text.get_content()))
    assert match, text.get_content()
    return match.group(1)


def choose(client: FlaskClient, password: str, confirm: str | None = None) -> object:
    token = csrf_token(client, "/password/reset")
    return client.post(
        "/password/reset",
        data={"new": password, "confirm": confirm or password, "csrf_token": token},
    )


def events(engine: Engine) -> list[str]:
    with Session(engine) as s:
        return list(s.scalars(select(AuditEvent.event).order_by(AuditEvent.id)))


def test_reset_by_email_link(db_url: str, engine: Engine, smtp: SMTPServer) -> None:
    app = reset_app(db_url, engine, smtp)
    add_user(engine, EMAIL, "officer")
    signed_in = app.test_client()
    login(signed_in, EMAIL)
    with Session(engine) as s, s.begin():  # the account was locked out by failures
        s.add(LoginThrottle(key=f"account:{EMAIL}", failures=0, lockouts=1,
                            last_failure_at=datetime.now(UTC),
                            locked_until=datetime.now(UTC) + timedelta(hours=1)))  # fmt: skip

    client = app.test_client()
    assert "Mot de passe oublié ?" in client.get("/login").get_data(as_text=True)
    page = ask(client, " Agent@Annecy.example ")
    assert "un e-mail avec un lien pour choisir un nouveau mot de passe est en route" in page
    [msg] = wait_for_mail(smtp, 1)
    assert msg["To"] == EMAIL and msg["From"] == "fleet@annecy.example"
    assert msg["Subject"] == "Réinitialiser votre mot de passe · Supervision des flottes Annecy"
    assert "dans les 60 minutes" in str(msg.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    path = link_in(msg)
    html = msg.get_body(preferencelist=("html",))
    assert html is not None and f'href="{PUBLIC_URL}{path}"' in str(html.get_content())
    with Session(engine) as s:  # only the token's hash is stored
        row = s.scalar(select(PasswordReset))
        assert row is not None and path.rsplit("/", 1)[1] not in row.token_hash

    # the link moves the token out of the address bar at once
    opened = client.get(path)
    assert opened.status_code == 302 and opened.headers["Location"] == "/password/reset"
    form = client.get("/password/reset").get_data(as_text=True)
    assert f"Compte : {EMAIL}" in form
    common = choose(client, "password1234")
    assert common.status_code == 400  # type: ignore[attr-defined]
    assert "trop courant" in common.get_data(as_text=True)  # type: ignore[attr-defined]
    done = choose(client, NEW)
    assert done.status_code == 303 and done.headers["Location"] == "/login"  # type: ignore[attr-defined]

    assert signed_in.get("/").status_code == 302  # every session ended
    assert login(app.test_client(), EMAIL).status_code == 200  # old password refused
    assert login(app.test_client(), EMAIL, NEW).status_code == 302  # lockout lifted too
    # single use: the same link again
    again = app.test_client()
    again.get(path)
    page = again.get("/password/reset")
    assert page.status_code == 400 and "Ce lien n'est pas valide" in page.get_data(as_text=True)
    assert events(engine) == [
        "login.success",
        "password.reset_requested",
        "password.reset_failed",  # the common password
        "password.changed",
        "login.failure",
        "login.success",
        "password.reset_failed",  # the spent link
    ]


def test_unknown_or_disabled_account_gets_the_same_answer_and_no_mail(
    db_url: str, engine: Engine, smtp: SMTPServer
) -> None:
    app = reset_app(db_url, engine, smtp)
    add_user(engine, EMAIL, "officer")
    add_user(engine, "gone@annecy.example", "officer", active=False)
    pages = [ask(app.test_client(), e) for e in ("nobody@annecy.example", "gone@annecy.example")]
    real = ask(app.test_client(), EMAIL)
    strip = re.compile(r'content="[^"]+"|value="[^"]+"')  # CSRF tokens differ
    assert strip.sub("", pages[0]) == strip.sub("", pages[1]) == strip.sub("", real)
    [msg] = wait_for_mail(smtp, 1)
    time.sleep(0.3)
    assert len(smtp.messages()) == 1 and msg["To"] == EMAIL


def test_link_expires_and_a_new_one_replaces_it(
    db_url: str, engine: Engine, smtp: SMTPServer
) -> None:
    app = reset_app(db_url, engine, smtp, password_reset_ttl_s=600)
    add_user(engine, EMAIL, "officer")
    ask(app.test_client(), EMAIL)
    first = link_in(wait_for_mail(smtp, 1)[0])
    ask(app.test_client(), EMAIL)
    second = link_in(wait_for_mail(smtp, 2)[1])
    assert "10 minutes" in str(smtp.messages()[1].get_body(("plain",)).get_content())  # type: ignore[union-attr]
    client = app.test_client()
    client.get(first)
    assert client.get("/password/reset").status_code == 400  # replaced by the second
    with Session(engine) as s, s.begin():
        s.execute(update(PasswordReset).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    client = app.test_client()
    client.get(second)
    assert client.get("/password/reset").status_code == 400  # expired
    assert login(app.test_client(), EMAIL, PASSWORD).status_code == 302  # nothing changed


def test_reset_mails_are_limited(db_url: str, engine: Engine, smtp: SMTPServer) -> None:
    app = reset_app(db_url, engine, smtp)
    add_user(engine, EMAIL, "officer")
    for _ in range(5):
        ask(app.test_client(), EMAIL)
    wait_for_mail(smtp, 3)
    time.sleep(0.3)
    assert len(smtp.messages()) == 3  # per account and hour
    for i in range(10):
        ask(app.test_client(), f"x{i}@annecy.example", environ_base={"REMOTE_ADDR": "192.0.2.8"})
    add_user(engine, "other@annecy.example", "officer")
    ask(app.test_client(), "other@annecy.example", environ_base={"REMOTE_ADDR": "192.0.2.8"})
    time.sleep(0.3)
    assert len(smtp.messages()) == 3  # per address and hour
    assert events(engine).count("password.reset_throttled") == 2


def test_not_offered_without_mail_or_public_address(db_url: str, engine: Engine) -> None:
    app = make_app(db_url, engine)  # no [mail], no public URL
    client = app.test_client()
    assert "Mot de passe oublié" not in client.get("/login").get_data(as_text=True)
    page = client.get("/password/forgot").get_data(as_text=True)
    assert "n'est pas configurée sur ce serveur" in page
    english = client.get("/password/forgot?lang=en").get_data(as_text=True)
    assert "Password reset by e-mail is not set up on this server" in english
    with Session(engine) as s:
        assert s.scalar(select(UserSession)) is None
