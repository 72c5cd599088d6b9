"""Settings: typed, environment overrides, secrets never in the file, clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fleet_monitor.settings import ConfigError, load_settings

OP = """
[[operators]]
slug = "velo"
name = "Vélo"
discovery_url = "https://gbfs.example.org/gbfs.json"
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_and_env_overrides(tmp_path: Path) -> None:
    p = write(
        tmp_path, '[database]\nurl = "postgresql://db.example/x"\n[ingest]\nstale_after_s = 120\n'
    )
    s = load_settings(p, env={"FLEET__INGEST__STALE_AFTER_S": "600"})
    assert s.ingest.stale_after_s == 600
    assert s.database_url == "postgresql+psycopg://db.example/x"
    s = load_settings(p, env={"DATABASE_URL": "postgresql://other/y"})
    assert s.database_url == "postgresql+psycopg://other/y"
    assert s.city.timezone == "Europe/Paris"


def test_fleet_config_names_the_file(tmp_path: Path) -> None:
    p = write(tmp_path, '[city]\nname = "Elsewhere"\n')
    assert load_settings(env={"FLEET_CONFIG": str(p)}).city.name == "Elsewhere"
    with pytest.raises(ConfigError, match="FLEET_CONFIG"):
        load_settings(env={"FLEET_CONFIG": str(tmp_path / "missing.toml")})


def test_secret_from_env_and_file_never_literal(tmp_path: Path) -> None:
    (tmp_path / "tok").write_text("s3cret-file\n")
    p = write(tmp_path, OP + 'auth = { kind = "bearer", token_file = "tok" }\n')
    s = load_settings(p, env={})
    assert s.operators[0].auth.token.reveal() == "s3cret-file"
    assert "s3cret" not in repr(s)
    p = write(tmp_path, OP + 'auth = { kind = "basic", username = "u", password_env = "PW" }\n')
    assert load_settings(p, env={"PW": "pw1"}).operators[0].auth.password.reveal() == "pw1"
    with pytest.raises(ConfigError, match=r"operators\[0\]\.auth\.password_env.*PW is not set"):
        load_settings(p, env={})
    p = write(tmp_path, OP + 'auth = { kind = "bearer", token = "literal" }\n')
    with pytest.raises(ConfigError, match=r"operators\[0\]\.auth\.token.*must not be written"):
        load_settings(p, env={})


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[ingest]\nstale_after_s = 'soon'\n", "ingest.stale_after_s"),
        ("[ingest]\nunknown_knob = 1\n", "ingest.unknown_knob"),
        ("[city]\ntimezone = 'Mars/Olympus'\n", "city.timezone"),
        ("[database]\nurl = 'sqlite:///x.db'\n", "database.url"),
        (
            "[[operators]]\nslug = 'a b'\nname = 'x'\ndiscovery_url = 'https://x/g.json'\n",
            "operators[0].slug",
        ),
        ("[[operators]]\nslug = 'a'\nname = 'x'\n", "operators[0].discovery_url"),
        ("[ingest]\ncollapse_ratio = 2.0\n", "ingest.collapse_ratio"),
        ("[ingest]\nvalidate_workers = -1\n", "ingest.validate_workers"),
        ("[ingest\n", "config.toml"),
    ],
)
def test_wrong_config_names_key(tmp_path: Path, text: str, key: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_settings(p, env={})
    assert key in str(err.value)


def test_cli_refuses_wrong_config_with_exit_2(tmp_path: Path) -> None:
    p = write(tmp_path, "[ingest]\npoll_floor_s = -1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "fleet_monitor.cli", "--config", str(p), "config", "check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "ingest.poll_floor_s" in proc.stderr
    assert "Traceback" not in proc.stderr
