"""The WSGI module builds the app from the settings, only when imported."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from flask import Flask

from fleet_monitor.settings import ConfigError


def test_wsgi_app_is_built_from_settings(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[web]\ntile_url = "https://tiles.example.org/{z}/{x}/{y}.png"\n')
    monkeypatch.setenv("FLEET_CONFIG", str(config))
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("FLEET_TEST_SECRET", "s3cret-from-env-at-least-32-characters")
    monkeypatch.setenv("FLEET__WEB__SECRET_KEY_ENV", "FLEET_TEST_SECRET")
    monkeypatch.delitem(sys.modules, "fleet_monitor.wsgi", raising=False)
    module = importlib.import_module("fleet_monitor.wsgi")
    try:
        assert isinstance(module.app, Flask)
        assert module.app.secret_key == "s3cret-from-env-at-least-32-characters"
        response = module.app.test_client().get("/api/health")
        assert response.status_code == 200
        assert "https://tiles.example.org" in response.headers["Content-Security-Policy"]
    finally:
        module.app.extensions["fleet_monitor.engine"].dispose()
        sys.modules.pop("fleet_monitor.wsgi", None)


def test_importing_the_web_package_builds_nothing() -> None:
    web = importlib.import_module("fleet_monitor.web")
    assert not any(isinstance(v, Flask) for v in vars(web).values())


def test_wsgi_reads_fleet_secret_key_and_refuses_workers_without_it(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docker-compose gives FLEET_SECRET_KEY: it is the key unless the config names another."""
    config = tmp_path / "config.toml"
    config.write_text("[web]\n")
    monkeypatch.setenv("FLEET_CONFIG", str(config))
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("FLEET_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("WEB_CONCURRENCY", "4")  # gunicorn's own setting for -w
    monkeypatch.delitem(sys.modules, "fleet_monitor.wsgi", raising=False)
    module = importlib.import_module("fleet_monitor.wsgi")
    try:
        assert module.app.secret_key == "k" * 40
    finally:
        module.app.extensions["fleet_monitor.engine"].dispose()
        sys.modules.pop("fleet_monitor.wsgi", None)

    monkeypatch.delenv("FLEET_SECRET_KEY")
    with pytest.raises(ConfigError, match="4 web workers need a shared secret key"):
        importlib.import_module("fleet_monitor.wsgi")
    sys.modules.pop("fleet_monitor.wsgi", None)
