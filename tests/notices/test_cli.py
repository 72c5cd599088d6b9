"""``fleet-monitor notices|reports|operators contacts|operators token`` (in process)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, text

from fleet_monitor.cli import cli
from tests.notices.helpers import T0, WATER, Feed, SMTPServer, evaluate, setup_city, vehicle_at


@pytest.fixture
def run(db_url: str, tmp_path: Path, smtp: SMTPServer):  # type: ignore[no-untyped-def]
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[mail]
smtp_host = "127.0.0.1"
smtp_port = {smtp.port}
smtp_starttls = false
from_address = "avis@annecy.example"
staff_recipients = ["mobilite@annecy.example"]

[notices]
public_url = "https://fleet.annecy.example"
"""
    )
    env = {"DATABASE_URL": db_url, "FLEET_CONFIG": str(config)}

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


def test_contacts_and_tokens(run, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    Feed(engine, "trotti", "Trotti")
    added = run(
        "operators", "contacts", "add", "trotti", "--email", "Ops@Trotti.example", "--no-reports"
    )
    assert added.exit_code == 0, added.output
    assert "trotti email ops@trotti.example" in added.output
    listed = run("operators", "contacts", "list")
    assert "ops@trotti.example  [notices]" in listed.output
    assert run("operators", "contacts", "add", "trotti", "--email", "nope").exit_code == 2
    refused = run("operators", "contacts", "add", "trotti", "--webhook", "http://127.0.0.1/x")
    assert refused.exit_code == 2 and "loopback" in refused.output
    assert run("operators", "contacts", "add", "nobody", "--email", "a@b.example").exit_code == 2

    created = run("operators", "token", "create", "trotti", "--name", "backoffice")
    assert created.exit_code == 0
    token = created.stdout.strip().splitlines()[0]
    assert token.startswith("fmt_") and len(token) > 40
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash, prefix FROM operator_api_token")).one()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in stored  # only the hash is kept
    listed = run("operators", "token", "list")
    assert stored.prefix in listed.output and token not in listed.output
    assert run("operators", "token", "revoke", stored.prefix).exit_code == 0


def test_notices_and_reports_commands(run, engine: Engine, smtp: SMTPServer) -> None:  # type: ignore[no-untyped-def]
    setup_city(engine)
    feed = Feed(engine, "trotti", "Trotti")
    run("operators", "contacts", "add", "trotti", "--email", "ops@trotti.example")
    feed.poll([vehicle_at("tw", WATER)], T0)
    evaluate(engine, T0 + timedelta(seconds=30))
    at = (T0 + timedelta(minutes=1)).isoformat()
    planned = run("notices", "plan", "--at", at)
    assert "issued: ANN-2026-000001" in planned.output
    sent = run("notices", "send-pending", "--at", at)
    assert sent.output.startswith("1 sent"), sent.output
    assert len(smtp.messages()) == 1
    listed = run("notices", "list")
    assert "ANN-2026-000001" in listed.output and "sent 1/1" in listed.output
    feed.poll([vehicle_at("tw", WATER)], T0 + timedelta(hours=2, minutes=5))
    checked = run("notices", "check-deadlines", "--at", (T0 + timedelta(hours=3)).isoformat())
    assert "1 overdue (120.00 EUR)" in checked.output
    assert run("notices", "check-deadlines", "--at", "tomorrow").exit_code == 2

    smtp.received.clear()
    generated = run("reports", "generate", "--day", "2026-11-02", "--send")
    assert generated.exit_code == 0, generated.output
    assert "trotti       v1 created" in generated.output
    assert "2 deliveries queued; 2 sent" in generated.output
    assert sorted(m["To"] for m in smtp.messages()) == [
        "mobilite@annecy.example",
        "ops@trotti.example",
    ]
    again = run("reports", "generate", "--day", "2026-11-02", "--send")
    assert "unchanged" in again.output and "0 deliveries queued; 0 sent" in again.output
    assert len(smtp.messages()) == 2
    assert run("reports", "generate", "--day", "02/11/2026").exit_code == 2
