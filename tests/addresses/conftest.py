"""Fixtures of the address tests: the CLI in-process, and the simulated city's BAN file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from gbfs_simulator.streets import addresses_csv
from tests.rules_db.conftest import CliResult


@pytest.fixture
def cli(db_url: str) -> Callable[..., CliResult]:
    from fleet_monitor.cli import cli as group

    def invoke(*args: str) -> CliResult:
        res = CliRunner().invoke(group, list(args), env={"DATABASE_URL": db_url})
        if res.exception is not None and not isinstance(res.exception, SystemExit):
            raise res.exception
        return CliResult(res.exit_code, res.stdout, res.stderr)

    return invoke


@pytest.fixture(scope="session")
def city_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulated city's addresses in the BAN format (generated once per session)."""
    path = tmp_path_factory.mktemp("ban") / "adresses-74.csv"
    path.write_text(addresses_csv(), encoding="utf-8")
    return path
