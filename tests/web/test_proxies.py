"""Behind nginx/Traefik: HSTS, Secure cookies and the client's real address, with the
X-Forwarded-* headers of trusted and untrusted peers."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from fleet_monitor.models.users import AuditEvent
from fleet_monitor.web import create_app
from fleet_monitor.web.proxies import TrustedProxies
from tests.web.conftest import PASSWORD, add_user, csrf_token, make_settings

EMAIL = "agent@annecy.example"
# over HTTPS, Flask-WTF also wants a same-site Referer on forms, as browsers send it
REFERER = {"Referer": "https://localhost/login"}
TLS_PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7", **REFERER}


def app_with(db_url: str, engine: Engine, *, testing: bool = True, **web: object) -> Flask:
    app = create_app(make_settings(db_url, **web), engine=engine)
    app.testing = testing
    return app


def sign_in(app: Flask, peer: str, headers: dict[str, str]) -> TestResponse:
    client = app.test_client()
    token = csrf_token(client)
    return client.post(
        "/login",
        data={"email": EMAIL, "password": PASSWORD, "csrf_token": token},
        headers=headers,
        environ_base={"REMOTE_ADDR": peer},
    )


def last_audit_ip(engine: Engine) -> str | None:
    with Session(engine) as s:
        return s.scalars(select(AuditEvent.ip).order_by(AuditEvent.id.desc())).first()


def cookie_of(response: TestResponse) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("fm_session="))


def test_trusted_local_proxy_gives_https_and_the_client_address(
    db_url: str, engine: Engine
) -> None:
    """Default: a proxy on the same host (loopback) is trusted, nothing to configure."""
    add_user(engine, EMAIL, "officer")
    app = app_with(db_url, engine)  # testing mode: plain http would get no Secure cookie
    response = sign_in(app, "127.0.0.1", TLS_PROXY)
    assert response.status_code == 302
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "; Secure" in cookie_of(response)
    assert last_audit_ip(engine) == "198.51.100.7"


def test_untrusted_peer_cannot_claim_https_or_another_address(
    db_url: str, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    add_user(engine, EMAIL, "officer")
    app = app_with(db_url, engine)
    with caplog.at_level(logging.WARNING, "fleet_monitor.web.proxies"):
        response = sign_in(app, "203.0.113.9", TLS_PROXY)
        sign_in(app, "203.0.113.9", TLS_PROXY)
    assert response.status_code == 302
    assert "Strict-Transport-Security" not in response.headers
    assert "Secure" not in cookie_of(response)
    assert last_audit_ip(engine) == "203.0.113.9"
    # one warning that tells the administrator what to configure, not one per request
    warnings = [r for r in caplog.records if "not a trusted proxy" in r.getMessage()]
    assert len(warnings) == 1 and "web.trusted_proxies" in warnings[0].getMessage()


def test_no_trusted_proxy_at_all(db_url: str, engine: Engine) -> None:
    add_user(engine, EMAIL, "officer")
    app = app_with(db_url, engine, trusted_proxies=())
    response = sign_in(app, "127.0.0.1", TLS_PROXY)
    assert "Strict-Transport-Security" not in response.headers
    assert last_audit_ip(engine) == "127.0.0.1"


def test_proxy_network_and_a_chain_of_proxies(db_url: str, engine: Engine) -> None:
    """Docker/Traefik: the proxy is on a private network; the client's own
    X-Forwarded-For entries (left of the real one) are never believed."""
    add_user(engine, EMAIL, "officer")
    app = app_with(db_url, engine, trusted_proxies=("172.16.0.0/12",))
    chain = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "6.6.6.6, 198.51.100.7, 172.18.0.5",
        **REFERER,
    }
    response = sign_in(app, "172.18.0.2", chain)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert last_audit_ip(engine) == "198.51.100.7"
    # the same headers straight from the internet change nothing
    sign_in(app, "198.51.100.200", chain)
    assert last_audit_ip(engine) == "198.51.100.200"


def test_login_limits_count_each_client_behind_the_proxy(db_url: str, engine: Engine) -> None:
    add_user(engine, EMAIL, "officer")
    app = app_with(db_url, engine)
    app.config["FLEET_LOGIN_IP_MAX_FAILURES"] = 3
    attacker = {"X-Forwarded-For": "198.51.100.66"}

    def attempt(email: str, password: str, headers: dict[str, str]) -> int:
        client = app.test_client()
        token = csrf_token(client)
        return client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": token},
            headers=headers,
        ).status_code

    for i in range(2):
        assert attempt(f"guess{i}@annecy.example", "wrong password", attacker) == 200
    assert attempt("guess9@annecy.example", "wrong password", attacker) == 429
    assert attempt(EMAIL, PASSWORD, attacker) == 429
    # everyone else comes through the same proxy, and is not locked out with the attacker
    assert attempt(EMAIL, PASSWORD, {"X-Forwarded-For": "198.51.100.77"}) == 302


def test_hsts_in_production_even_when_the_proxy_is_not_trusted(db_url: str, engine: Engine) -> None:
    """Production (not testing/debug): cookies are Secure and HSTS always goes out;
    browsers ignore HSTS received over plain HTTP (RFC 6797), so this is safe."""
    add_user(engine, EMAIL, "officer")
    app = app_with(db_url, engine, testing=False, trusted_proxies=())
    response = sign_in(app, "10.0.0.9", {"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "; Secure" in cookie_of(response)
    health = app.test_client().get("/api/health")
    assert "Strict-Transport-Security" in health.headers
    off = app_with(db_url, engine, testing=False, hsts_max_age_s=0)
    assert "Strict-Transport-Security" not in off.test_client().get("/api/health").headers


def test_cookie_secure_setting_wins(db_url: str, engine: Engine) -> None:
    add_user(engine, EMAIL, "officer")
    plain = app_with(db_url, engine, testing=False, cookie_secure=False)
    response = sign_in(plain, "127.0.0.1", {})
    assert "Secure" not in cookie_of(response)
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP on purpose


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("127.0.0.1", "198.51.100.7", "198.51.100.7"),
        ("127.0.0.1", "198.51.100.7:51234", "198.51.100.7"),
        ("::1", "[2001:db8::7]:443", "2001:db8::7"),
        ("127.0.0.1", "not-an-address, 198.51.100.7", "198.51.100.7"),
        ("127.0.0.1", "198.51.100.7, garbage", "127.0.0.1"),
        ("127.0.0.1", "10.0.0.1, 127.0.0.1", "10.0.0.1"),
        ("127.0.0.1", "127.0.0.2, 127.0.0.1", "127.0.0.2"),  # all trusted: the left-most
        ("::ffff:127.0.0.1", "198.51.100.7", "198.51.100.7"),  # IPv4-mapped loopback
        ("192.0.2.1", "198.51.100.7", "192.0.2.1"),  # untrusted peer: headers ignored
    ],
)
def test_client_address_from_x_forwarded_for(peer: str, forwarded: str, client: str) -> None:
    seen: dict[str, str] = {}

    def app(environ: dict[str, str], start_response: object) -> list[bytes]:
        seen.update(environ)
        return []

    middleware = TrustedProxies(app, ["127.0.0.0/8", "::1"])  # type: ignore[arg-type]
    middleware(
        {"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": forwarded, "wsgi.url_scheme": "http"},  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
    )
    assert seen["REMOTE_ADDR"] == client
