"""``fleet-monitor users ...``: run as a real process, the password given on stdin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from fleet_monitor.models.users import AuditEvent, UserAccount
from tests.web.conftest import Fleet, login

SECRET = "passphrase read from stdin"


def start(db_url: str, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    config = tmp_path / "config.toml"
    config.write_text("")
    env = {**os.environ, "DATABASE_URL": db_url, "FLEET_CONFIG": str(config)}
    return subprocess.Popen(
        [sys.executable, "-m", "fleet_monitor.cli", "users", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def finish(process: subprocess.Popen[str], stdin: str) -> subprocess.CompletedProcess[str]:
    out, err = process.communicate(stdin, timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def run(
    db_url: str, tmp_path: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return finish(start(db_url, tmp_path, *args), stdin)


def test_users_add_list_disable(db_url: str, engine: Engine, app: Flask, tmp_path: Path) -> None:
    Fleet(engine, "trott", "Trott")
    added = run(
        db_url, tmp_path, "add", "Chef@Annecy.example", "--role", "admin", stdin=SECRET + "\n"
    )
    assert added.returncode == 0, added.stderr
    assert "account chef@annecy.example created (admin)" in added.stdout
    assert SECRET not in added.stdout + added.stderr
    staff = run(
        db_url,
        tmp_path,
        "add",
        "staff@trott.example",
        "--role",
        "operator",
        "--operator",
        "trott",
        stdin=SECRET,  # no final newline: still the whole password
    )
    assert staff.returncode == 0, staff.stderr

    with Session(engine) as s:
        chef = s.scalar(select(UserAccount).where(UserAccount.email == "chef@annecy.example"))
        assert chef is not None and chef.role == "admin" and chef.active
        assert chef.password_hash.startswith("$argon2id$")
        created = s.scalars(select(AuditEvent).where(AuditEvent.event == "account.created")).all()
        assert all(e.details["via"].startswith("cli:") for e in created) and len(created) == 2
    assert login(app.test_client(), "chef@annecy.example", SECRET).status_code == 302
    assert login(app.test_client(), "staff@trott.example", SECRET).status_code == 302

    listed = run(db_url, tmp_path, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["email"]: r for r in json.loads(listed.stdout)}
    assert rows["staff@trott.example"]["operator"] == "trott"
    assert rows["chef@annecy.example"]["role"] == "admin"

    disabled = run(db_url, tmp_path, "disable", "staff@trott.example")
    assert disabled.returncode == 0, disabled.stderr
    assert "account staff@trott.example disabled" in disabled.stdout
    assert login(app.test_client(), "staff@trott.example", SECRET).status_code == 200  # refused
    text_list = run(db_url, tmp_path, "list")
    assert "DISABLED" in text_list.stdout and "chef@annecy.example" in text_list.stdout


def test_users_add_refusals(db_url: str, engine: Engine, tmp_path: Path) -> None:
    cases = [
        (("add", "a@annecy.example", "--role", "officer"), "", "no password on stdin"),
        (("add", "a@annecy.example", "--role", "officer"), "short\n", "at least 12 characters"),
        (("add", "a@annecy.example", "--role", "operator"), SECRET, "needs --operator"),
        (
            ("add", "a@annecy.example", "--role", "operator", "--operator", "nope"),
            SECRET,
            "unknown operator 'nope'",
        ),
        (("disable", "ghost@annecy.example"), "", "no account ghost@annecy.example"),
    ]
    processes = [start(db_url, tmp_path, *args) for args, _, _ in cases]  # in parallel
    for process, (args, stdin, message) in zip(processes, cases, strict=True):
        result = finish(process, stdin)
        assert result.returncode != 0, args
        assert message in result.stderr, (args, result.stderr)
    with Session(engine) as s:
        assert s.scalar(select(UserAccount)) is None
