"""Operators' API tokens: expiry, a request rate per token, and the audit of their use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from fleet_monitor.cli import cli
from fleet_monitor.models.notices import OperatorApiToken
from fleet_monitor.models.users import AuditEvent
from fleet_monitor.notices.contacts import ContactError, create_token
from gbfs_ingest.registry import ensure_operator
from tests.web.conftest import make_app


@pytest.fixture
def operators(engine: Engine) -> None:
    with Session(engine) as s, s.begin():
        ensure_operator(s, "trotti", "Trotti", None)
        ensure_operator(s, "velo", "Vélo", None)


def new_token(engine: Engine, slug: str = "trotti", days: int = 90) -> str:
    with Session(engine) as s, s.begin():
        _row, token = create_token(s, slug, name="backoffice", actor="test", days=days)
    return token


def audit(engine: Engine, prefix: str) -> list[AuditEvent]:
    with Session(engine) as s:
        rows = s.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [e for e in rows if e.event.startswith(prefix)]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_tokens_expire(db_url: str, engine: Engine, operators: None) -> None:
    app = make_app(db_url, engine)
    token = new_token(engine, days=30)
    with Session(engine) as s:
        row = s.scalar(select(OperatorApiToken))
        assert row is not None
        assert (
            timedelta(days=29, hours=23) < row.expires_at - datetime.now(UTC) <= timedelta(days=30)
        )
    client = app.test_client()
    assert client.get("/api/notices", headers=bearer(token)).status_code == 200
    with Session(engine) as s, s.begin():
        s.execute(
            update(OperatorApiToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    response = client.get("/api/notices", headers=bearer(token))
    assert response.status_code == 401
    assert response.get_json() == {"error": "invalid, revoked or expired API token"}
    refused = audit(engine, "api.token_refused")
    assert [(e.details["reason"], e.details["token"]) for e in refused] == [
        ("expired", token[:10] + "…")
    ]
    assert token not in str(refused[0].details)  # never the token itself
    for days in (0, 731):
        with Session(engine) as s, pytest.raises(ContactError, match="1 to 730 days"):
            create_token(s, "trotti", name="x", actor="test", days=days)


def test_rate_limit_per_token(db_url: str, engine: Engine, operators: None) -> None:
    app = make_app(db_url, engine, api_token_requests_per_minute=5)
    token, other = new_token(engine), new_token(engine, "velo")
    client = app.test_client()
    statuses = [client.get("/api/notices", headers=bearer(token)).status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    refused = client.get("/api/notices", headers=bearer(token))
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.get_json() == {"error": "too many requests"}
    # another token (and another worker: the count is in the database) is not affected
    other_worker = make_app(db_url, engine, api_token_requests_per_minute=5).test_client()
    assert other_worker.get("/api/notices", headers=bearer(other)).status_code == 200
    assert other_worker.get("/api/notices", headers=bearer(token)).status_code == 429
    # a new window starts a minute after the first request
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE rate_limit SET window_start = window_start - interval '61 s'")
    assert client.get("/api/notices", headers=bearer(token)).status_code == 200
    # recorded once per window, not once per refused request
    assert len(audit(engine, "api.rate_limited")) == 1


def test_every_read_with_a_token_is_audited(db_url: str, engine: Engine, operators: None) -> None:
    app = make_app(db_url, engine)
    token = new_token(engine)
    client = app.test_client()
    client.get("/api/notices?limit=5", headers=bearer(token))
    client.get("/api/notices/ANN-2026-0001", headers=bearer(token))  # unknown: 404
    reads = audit(engine, "api.token_read") + audit(engine, "access.refused")
    with Session(engine) as s:
        trotti = s.scalar(select(OperatorApiToken.operator_id))
    assert [(e.event, e.details["path"], e.details["status"]) for e in reads] == [
        ("api.token_read", "/api/notices", 200),
        ("access.refused", "/api/notices/ANN-2026-0001", 404),
    ]
    assert all(e.actor_email == f"token:{token[:10]}…" for e in reads)
    assert all(e.operator_id == trotti for e in reads)
    assert reads[0].details["query"] == "limit=5"


def test_bad_tokens_from_one_address_are_cut_off(db_url: str, engine: Engine) -> None:
    app = make_app(db_url, engine)
    client = app.test_client()
    statuses = [
        client.get("/api/notices", headers=bearer(f"fmt_guess{i}")).status_code for i in range(31)
    ]
    assert statuses == [401] * 29 + [429] * 2
    assert [e.details["reason"] for e in audit(engine, "api.token_refused")] == ["unknown"] * 30


def test_cli_creates_tokens_with_an_expiry(db_url: str, engine: Engine, operators: None) -> None:
    runner = CliRunner()
    env = {"DATABASE_URL": db_url}
    result = runner.invoke(cli, ["operators", "token", "create", "trotti", "--days", "7"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("fmt_") and "valid until" in result.output
    listing = runner.invoke(cli, ["operators", "token", "list"], env=env)
    expected = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%d")
    assert f"expires {expected}" in listing.output
    too_long = runner.invoke(
        cli, ["operators", "token", "create", "trotti", "--days", "1000"], env=env
    )
    assert too_long.exit_code == 2
    with Session(engine) as s:
        assert len(s.scalars(select(OperatorApiToken)).all()) == 1


def test_api_token_views_need_a_flask_app(app: Flask) -> None:
    """Token views are the only ones reachable without a session (marked authenticates_bearer)."""
    marked = sorted(
        endpoint
        for endpoint, view in app.view_functions.items()
        if getattr(view, "authenticates_bearer", False)
    )
    assert marked and all(e.startswith("notices_api.") for e in marked)
