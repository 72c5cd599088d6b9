"""The ``[web]`` settings: the session secret, workers, proxies, two-factor roles."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import Engine

from fleet_monitor.settings import ConfigError, Settings, WebSettings, load_settings
from fleet_monitor.web import create_app

KEY = "0123456789abcdef0123456789abcdef-key"


def web(tmp_path: Path, text: str = "", **env: str) -> WebSettings:
    config = tmp_path / "config.toml"
    config.write_text("[web]\n" + text)
    return load_settings(config, env=env).web


def test_secret_key_from_fleet_secret_key_by_default(tmp_path: Path) -> None:
    assert web(tmp_path).secret_key is None
    key = web(tmp_path, FLEET_SECRET_KEY=KEY).secret_key
    assert key is not None and key.reveal() == KEY
    assert KEY not in repr(web(tmp_path, FLEET_SECRET_KEY=KEY))  # never printed
    # an empty variable (docker-compose's "${X:-}") is no key
    assert web(tmp_path, FLEET_SECRET_KEY="").secret_key is None
    # a configured variable or file replaces the default name
    other = web(tmp_path, 'secret_key_env = "OTHER"\n', FLEET_SECRET_KEY=KEY, OTHER=KEY + "2")
    assert other.secret_key is not None and other.secret_key.reveal() == KEY + "2"
    (tmp_path / "key").write_text(KEY + "3\n")
    from_file = web(tmp_path, 'secret_key_file = "key"\n', FLEET_SECRET_KEY=KEY)
    assert from_file.secret_key is not None and from_file.secret_key.reveal() == KEY + "3"


def test_secret_key_rules(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least 32 characters"):
        web(tmp_path, FLEET_SECRET_KEY="too-short")
    with pytest.raises(ConfigError, match="must not be written in the config file"):
        web(tmp_path, f'secret_key = "{KEY}"\n')


def test_workers(tmp_path: Path) -> None:
    assert web(tmp_path).workers == 1
    assert web(tmp_path, WEB_CONCURRENCY="4").workers == 4
    assert web(tmp_path, "workers = 1\n", WEB_CONCURRENCY="3").workers == 3  # the larger
    assert web(tmp_path, "workers = 6\n", WEB_CONCURRENCY="2").workers == 6
    assert web(tmp_path, FLEET__WEB__WORKERS="2").workers == 2
    with pytest.raises(ConfigError, match="WEB_CONCURRENCY"):
        web(tmp_path, WEB_CONCURRENCY="many")
    with pytest.raises(ConfigError, match=r"web\.workers"):
        web(tmp_path, "workers = 0\n")


def test_proxies_and_roles(tmp_path: Path) -> None:
    assert web(tmp_path).trusted_proxies == ("127.0.0.1", "::1")
    env = {"FLEET__WEB__TRUSTED_PROXIES": '["10.0.0.0/8", "2001:db8::/32"]'}
    assert web(tmp_path, **env).trusted_proxies == ("10.0.0.0/8", "2001:db8::/32")
    with pytest.raises(ConfigError, match=r"web.trusted_proxies\[1\]"):
        web(tmp_path, 'trusted_proxies = ["10.0.0.1", "proxy.local"]\n')
    assert web(tmp_path).totp_roles == ("admin", "supervisor")
    with pytest.raises(ConfigError, match="unknown role 'boss'"):
        web(tmp_path, 'totp_roles = ["admin", "boss"]\n')
    with pytest.raises(ConfigError, match=r"web\.public_url"):
        web(tmp_path, 'public_url = "fleet.example.org"\n')


def test_app_refuses_several_workers_without_a_key(
    db_url: str, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ConfigError, match="2 web workers need a shared secret key"):
        create_app(Settings(database_url=db_url, web=WebSettings(workers=2)), engine=engine)
    with caplog.at_level(logging.WARNING, "fleet_monitor.web"):
        single = create_app(Settings(database_url=db_url), engine=engine)
    assert single.secret_key and "everyone is signed out at each restart" in caplog.text
