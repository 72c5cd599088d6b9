"""Two-factor sign-in: enforced enrolment (QR code made on the server), codes, replay,
recovery codes, lockout, optional use by other roles, reset by an admin or the CLI."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from fleet_monitor.cli import cli
from fleet_monitor.models.users import AuditEvent, UserRecoveryCode, UserSession, UserTotp
from tests.web.conftest import add_user, csrf_token, login, make_app

ADMIN = "admin@annecy.example"
SECRET_RE = re.compile(r'<code class="fm-secret">([A-Z2-7 ]+)</code>')
CODES_RE = re.compile(r"<li><code>([a-z0-9-]{19})</code></li>")
QR_RE = re.compile(r'<img class="fm-qr" src="data:image/svg\+xml;charset=utf-8,([^"]+)"')


def enforcing_app(db_url: str, engine: Engine) -> Flask:
    return make_app(db_url, engine, totp_roles=("admin", "supervisor"))


def post_code(client: FlaskClient, path: str, code: str) -> TestResponse:
    return client.post(path, data={"code": code, "csrf_token": csrf_token(client, path)})


def events(engine: Engine, prefix: str = "") -> list[AuditEvent]:
    with Session(engine) as s:
        rows = s.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [e for e in rows if e.event.startswith(prefix)]


def enrol(client: FlaskClient, email: str = ADMIN) -> tuple[str, list[str]]:
    """Sign in with the password and set up two-factor sign-in: (secret, recovery codes)."""
    response = login(client, email)
    assert response.status_code == 302 and response.headers["Location"] == "/login/2fa"
    assert client.get("/login/2fa").headers["Location"] == "/login/2fa/setup"
    page = client.get("/login/2fa/setup").get_data(as_text=True)
    secret = SECRET_RE.search(page).group(1).replace(" ", "")  # type: ignore[union-attr]
    done = post_code(client, "/login/2fa/setup", code_at(secret, -1))
    assert done.status_code == 200
    codes = CODES_RE.findall(done.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    return secret, codes


def code_at(secret: str, steps: int) -> str:
    """The code ``steps`` 30-second steps from now (one step of drift is accepted):
    each code is accepted once, so tests that need several use successive steps."""
    return pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30 * steps))


def test_admin_must_enrol_before_any_session(db_url: str, engine: Engine) -> None:
    app = enforcing_app(db_url, engine)
    add_user(engine, ADMIN, "admin")
    client = app.test_client()
    assert login(client, ADMIN).headers["Location"] == "/login/2fa"
    # the right password alone opens nothing
    assert client.get("/").status_code == 302
    assert client.get("/admin/users").status_code == 302
    with Session(engine) as s:
        assert s.scalar(select(UserSession)) is None

    page = client.get("/login/2fa/setup")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Configurer la connexion en deux étapes" in html
    # the QR code is an SVG made by the app (no outside service), holding the otpauth URI
    qr = QR_RE.search(html)
    assert qr is not None and "svg" in qr.group(1)
    secret = SECRET_RE.search(html).group(1).replace(" ", "")  # type: ignore[union-attr]
    with Session(engine) as s:
        row = s.scalar(select(UserTotp))
        assert row is not None and row.secret == secret and row.confirmed_at is None
    # the same secret on reload (the app may already hold it)
    assert secret in client.get("/login/2fa/setup").get_data(as_text=True).replace(" ", "")

    wrong = post_code(client, "/login/2fa/setup", "000000")
    assert wrong.status_code == 400 and "Code incorrect." in wrong.get_data(as_text=True)
    done = post_code(client, "/login/2fa/setup", pyotp.TOTP(secret).now())
    assert done.status_code == 200
    assert len(CODES_RE.findall(done.get_data(as_text=True))) == 10
    assert client.get("/admin/users").status_code == 200  # signed in now
    kinds = [
        (e.event, e.details.get("reason") or e.details.get("second_factor")) for e in events(engine)
    ]
    assert kinds == [
        ("login.failure", "bad_enrolment_code"),
        ("2fa.enrolled", None),
        ("login.success", "enrolment"),
    ]
    with Session(engine) as s:  # only hashes of the recovery codes are kept
        hashes = s.scalars(select(UserRecoveryCode.code_hash)).all()
    assert len(hashes) == 10 and all(len(h) == 64 for h in hashes)


def test_code_at_each_sign_in_once_only(db_url: str, engine: Engine) -> None:
    app = enforcing_app(db_url, engine)
    add_user(engine, ADMIN, "admin")
    secret, _codes = enrol(app.test_client())

    client = app.test_client()
    login(client, ADMIN)
    page = client.get("/login/2fa")
    assert "Connexion en deux étapes" in page.get_data(as_text=True)
    code = code_at(secret, 0)
    response = post_code(client, "/login/2fa", code)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200

    # the same code cannot be used again (replay), nor an older one
    other = app.test_client()
    login(other, ADMIN)
    replay = post_code(other, "/login/2fa", code)
    assert replay.status_code == 400 and "Code incorrect." in replay.get_data(as_text=True)
    assert other.get("/").status_code == 302
    assert post_code(other, "/login/2fa", code_at(secret, -1)).status_code == 400  # older
    assert post_code(other, "/login/2fa", code_at(secret, 1)).status_code == 302
    assert other.get("/").status_code == 200


def test_recovery_codes_are_single_use(db_url: str, engine: Engine) -> None:
    app = enforcing_app(db_url, engine)
    add_user(engine, ADMIN, "admin")
    _secret, codes = enrol(app.test_client())
    client = app.test_client()
    login(client, ADMIN)
    # typed in capitals, without dashes: still the code
    response = post_code(client, "/login/2fa", codes[3].upper().replace("-", " "))
    assert response.status_code == 302
    assert "Code de secours utilisé : il en reste 9." in client.get("/account").get_data(
        as_text=True
    )
    again = app.test_client()
    login(again, ADMIN)
    assert post_code(again, "/login/2fa", codes[3]).status_code == 400
    assert [e.details.get("second_factor") for e in events(engine, "login.success")] == [
        "enrolment",
        "recovery",
    ]


def test_wrong_codes_lock_the_account_like_wrong_passwords(db_url: str, engine: Engine) -> None:
    app = enforcing_app(db_url, engine)
    add_user(engine, ADMIN, "admin")
    secret, _codes = enrol(app.test_client())
    client = app.test_client()
    login(client, ADMIN)
    statuses = [post_code(client, "/login/2fa", "123456").status_code for _ in range(5)]
    assert statuses == [400, 400, 400, 400, 429]
    locked = post_code(client, "/login/2fa", pyotp.TOTP(secret).now())
    assert locked.status_code == 429 and client.get("/").status_code == 302
    # and the password step refuses too while locked
    assert login(app.test_client(), ADMIN).status_code == 429


def test_pending_sign_in_expires(db_url: str, engine: Engine) -> None:
    app = enforcing_app(db_url, engine)
    add_user(engine, ADMIN, "admin")
    secret, _codes = enrol(app.test_client())
    client = app.test_client()
    login(client, ADMIN)
    token = csrf_token(client, "/login/2fa")
    with client.session_transaction() as sess:
        pending = dict(sess["mfa_pending"])
        pending["at"] -= 301  # five minutes after the password
        sess["mfa_pending"] = pending
    response = client.post(
        "/login/2fa", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/login/2fa").headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_officer_may_opt_in_and_out(db_url: str, engine: Engine) -> None:
    app = enforcing_app(db_url, engine)
    add_user(engine, "officer@annecy.example", "officer")
    client = app.test_client()
    assert login(client, "officer@annecy.example").headers["Location"] == "/"  # not required
    page = client.get("/account/2fa").get_data(as_text=True)
    assert "La connexion en deux étapes est désactivée." in page
    english = client.get("/account/2fa?lang=en").get_data(as_text=True)
    assert "Set up two-factor sign-in" in english
    client.get("/account/2fa?lang=fr")
    setup = client.get("/account/2fa/setup").get_data(as_text=True)
    secret = SECRET_RE.search(setup).group(1).replace(" ", "")  # type: ignore[union-attr]
    done = post_code(client, "/account/2fa/setup", code_at(secret, -1))
    assert len(CODES_RE.findall(done.get_data(as_text=True))) == 10

    # from now on this officer needs a code too
    other = app.test_client()
    assert login(other, "officer@annecy.example").headers["Location"] == "/login/2fa"

    # new recovery codes need a current code
    refused = post_code(client, "/account/2fa/recovery-codes", "000000")
    assert refused.status_code == 303
    renewed = post_code(client, "/account/2fa/recovery-codes", pyotp.TOTP(secret).now())
    assert len(CODES_RE.findall(renewed.get_data(as_text=True))) == 10

    # turning it off needs a code, and ends every session
    refused = post_code(client, "/account/2fa/disable", "")
    assert refused.status_code == 303 and client.get("/account/2fa").status_code == 200
    off = post_code(client, "/account/2fa/disable", code_at(secret, 1))
    assert off.status_code == 303 and off.headers["Location"] == "/login"
    assert login(app.test_client(), "officer@annecy.example").headers["Location"] == "/"
    assert [e.event for e in events(engine, "2fa")] == [
        "2fa.enrolled",
        "2fa.code_refused",
        "2fa.recovery_codes_renewed",
        "2fa.reset",
    ]


def test_admin_resets_a_lost_phone(db_url: str, engine: Engine) -> None:
    app = enforcing_app(db_url, engine)
    add_user(engine, ADMIN, "admin")
    add_user(engine, "chief@annecy.example", "supervisor")
    chief = app.test_client()
    enrol(chief, "chief@annecy.example")
    assert chief.get("/").status_code == 200
    admin = app.test_client()
    enrol(admin)

    users = admin.get("/admin/users").get_data(as_text=True)
    row = users[users.index('data-account="chief@annecy.example"') :]
    assert "Réinitialiser la double authentification" in row.split("</tr>")[0]
    with Session(engine) as s:
        chief_id = s.scalar(select(UserTotp.user_id).order_by(UserTotp.created_at))
    response = admin.post(
        f"/admin/users/{chief_id}/reset-2fa", data={"csrf_token": csrf_token(admin, "/admin/users")}
    )
    assert response.status_code == 303
    assert chief.get("/").status_code == 302  # its sessions ended
    again = app.test_client()
    assert login(again, "chief@annecy.example").headers["Location"] == "/login/2fa"
    assert again.get("/login/2fa").headers["Location"] == "/login/2fa/setup"
    reset = events(engine, "2fa.reset")[-1]
    assert reset.actor_email == ADMIN and reset.details["account"] == "chief@annecy.example"


def test_cli_resets_the_last_admin(db_url: str, engine: Engine) -> None:
    """The only admin lost the phone and the recovery codes: the server's shell helps."""
    app = enforcing_app(db_url, engine)
    add_user(engine, ADMIN, "admin")
    enrol(app.test_client())
    runner = CliRunner()
    env = {"DATABASE_URL": db_url}
    result = runner.invoke(cli, ["users", "reset-2fa", ADMIN], env=env)
    assert result.exit_code == 0, result.output
    assert "reset" in result.output
    with Session(engine) as s:
        assert s.scalar(select(UserTotp)) is None
        assert s.scalar(select(UserRecoveryCode)) is None
    again = runner.invoke(cli, ["users", "reset-2fa", ADMIN], env=env)
    assert again.exit_code == 0 and "had no two-factor" in again.output
    unknown = runner.invoke(cli, ["users", "reset-2fa", "nobody@annecy.example"], env=env)
    assert unknown.exit_code == 1
    assert events(engine, "2fa.reset")[-1].details["via"].startswith("cli:")
