"""Access to the app's engine and settings from inside a request."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import Engine

from fleet_monitor.settings import Settings


def get_engine() -> Engine:
    engine: Engine = current_app.extensions["fleet_monitor.engine"]
    return engine


def get_settings() -> Settings:
    settings: Settings = current_app.extensions["fleet_monitor.settings"]
    return settings
