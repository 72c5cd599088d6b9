"""The password policy: length, the bundled list of common passwords, padding, repetition."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from fleet_monitor import passwords
from fleet_monitor.cli import cli
from fleet_monitor.models.users import UserAccount
from fleet_monitor.passwords import PasswordRejected, check_password, common_passwords

DATA = Path(passwords.__file__).parent / "data"


def test_bundled_list_is_there_with_its_origin() -> None:
    words = common_passwords()
    assert len(words) == 40_101
    assert {"123456", "password", "azerty", "qwerty123456", "1qaz2wsx3edc"} <= words
    assert all(w == w.lower() for w in words)
    raw = gzip.decompress((DATA / "common-passwords.txt.gz").read_bytes()).decode()
    assert raw.endswith("\n") and len(raw.splitlines()) == len(words)
    readme = (DATA / "README.md").read_text()
    assert "BSD-3-Clause" in readme and "MIT" in readme and "Django 5.2.19" in readme


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short one", "too_short"),
        ("x" * 1025, "too_long"),
        ("qwerty123456", "common"),  # in the list as it is
        ("QWERTY123456", "common"),  # whatever the case
        ("Password2024!!", "common"),  # a common password padded with digits and signs
        ("  dragon 1234567", "common"),
        ("!!!sunshine!!!", "common"),
        ("abababababab", "repetitive"),
        ("1111111111111", "repetitive"),
        ("agent@annecy.example", "is_email"),
    ],
)
def test_refused(password: str, code: str) -> None:
    with pytest.raises(PasswordRejected) as info:
        check_password(password, "agent@annecy.example")
    assert info.value.code == code


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "lake shore tram at dawn",
        "Trottinette-sur-le-Pâquier-7",
        "p4ssw0rd is not enough, but this is",
        "dragonfly-over-annecy",
    ],
)
def test_accepted(password: str) -> None:
    check_password(password, "agent@annecy.example")


def test_cli_refuses_a_common_password(db_url: str, engine: Engine) -> None:
    runner = CliRunner()
    env = {"DATABASE_URL": db_url}
    args = ["users", "add", "chief@annecy.example", "--role", "supervisor"]
    refused = runner.invoke(cli, args, input="iloveyou1234\n", env=env)
    assert refused.exit_code == 1 and "too common" in refused.output
    with Session(engine) as s:
        assert s.scalar(select(UserAccount)) is None
    accepted = runner.invoke(cli, args, input="peaks above the lake\n", env=env)
    assert accepted.exit_code == 0, accepted.output
