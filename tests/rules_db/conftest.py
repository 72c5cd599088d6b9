"""Fixtures of the rules' database tests: the CLI (in-process and as a real
subprocess), permits, and a simulated history recorded once per session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from fleet_monitor.database import make_engine
from gbfs_ingest.config import IngestSettings
from tests.conftest import _clone, _drop
from tests.rules_db.recording import replay_recording

ROOT = Path(__file__).resolve().parents[2]
SIM_START = datetime(2025, 6, 2, 4, 0, tzinfo=UTC)  # 06:00 in Annecy, a Monday
SIM_HOURS = 48
SIM_EVERY = timedelta(minutes=10)
SIM_VEHICLES = 300


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_cli(db_url: str, *args: str, cwd: Path = ROOT) -> CliResult:
    """The real command line, in a subprocess (as an officer would run it)."""
    env = {**os.environ, "DATABASE_URL": db_url}
    env.pop("FLEET_CONFIG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "fleet_monitor.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli(db_url: str) -> Callable[..., CliResult]:
    """The command line in-process (faster; same code path as the subprocess)."""
    from fleet_monitor.cli import cli as group

    def invoke(*args: str) -> CliResult:
        res = CliRunner().invoke(group, list(args), env={"DATABASE_URL": db_url})
        if res.exception is not None and not isinstance(res.exception, SystemExit):
            raise res.exception
        return CliResult(res.exit_code, res.stdout, res.stderr)

    return invoke


def permit_toml(operator: str, **terms: Any) -> str:
    """A small permit: ``max_idle``, ``cap``, ``tolerance``, ``effective_from``, ``version``,
    ``prohibited`` (kinds), ``max_disabled``."""
    start = terms.get("effective_from", datetime(2020, 1, 1, tzinfo=UTC))
    lines = [
        f'operator = "{operator}"',
        f"version = {terms.get('version', 1)}",
        f"effective_from = {start.isoformat()}",
    ]
    if "tolerance" in terms:
        lines.append(f"gps_tolerance_m = {terms['tolerance']}")
    if "cap" in terms:
        lines += ["[fleet]", f"cap = {terms['cap']}"]
    lines.append("[time_limits]")
    if "max_idle" in terms:
        lines.append(f'max_idle = "{terms["max_idle"]}"')
    if "max_disabled" in terms:
        lines.append(f'max_disabled = "{terms["max_disabled"]}"')
    if "prohibited" in terms:
        kinds = ", ".join(f'"{k}"' for k in terms["prohibited"])
        lines += ["[parking]", f"prohibited_kinds = [{kinds}]"]
    lines += ["[data]", "min_monthly_availability = 0.5"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- simulated city


@dataclass
class SimulatedHistory:
    dir: Path
    start: datetime
    index: dict[str, Any]
    cases: dict[str, dict[str, Any]]

    def at(self, hours: float) -> datetime:
        return self.start + timedelta(hours=hours)

    @property
    def caps(self) -> dict[str, int]:
        return {op: v["permit_cap"] for op, v in self.index["operators"].items()}


@pytest.fixture(scope="session")
def sim_history(tmp_path_factory: pytest.TempPathFactory) -> SimulatedHistory:
    """Two simulated days of the demo city with its scripted cases, every 10 minutes."""
    from gbfs_simulator import default_config, record_history

    out = tmp_path_factory.mktemp("sim")
    record_history(
        out,
        config=default_config(SIM_VEHICLES),
        seed=1,
        start=SIM_START,
        hours=SIM_HOURS,
        every=SIM_EVERY,
    )
    index = orjson.loads((out / "index.json").read_bytes())
    cases = {c["name"]: c for c in orjson.loads((out / "cases.json").read_bytes())["cases"]}
    return SimulatedHistory(out, SIM_START, index, cases)


@pytest.fixture(scope="session")
def sim_template(template_db: str, sim_history: SimulatedHistory) -> Iterator[str]:
    """A database holding the replayed simulated history of the three operators
    (failed fetches of the outage case included); cloned by ``sim_db``."""
    url = _clone(template_db)
    engine = make_engine(url, pool_size=2)
    try:
        settings = IngestSettings(validate_schema=False)
        for op in sim_history.index["operators"]:
            replay_recording(engine, sim_history.dir, op, settings)
    finally:
        engine.dispose()
    yield url
    _drop(url)


@pytest.fixture(scope="module")
def sim_db(sim_template: str) -> Iterator[str]:
    """A fresh copy of the replayed simulated history, for one test module."""
    url = _clone(sim_template)
    yield url
    _drop(url)


def scalar(engine: Any, sql: str, *params: Any) -> Any:
    from datastore import pg_connection

    with Session(engine) as s:
        cur = pg_connection(s).cursor()
        cur.execute(sql, params)
        row = cur.fetchone()
    return None if row is None else row[0]


#: every table the rules' commands write
RULES_TABLES = (
    "violation",
    "violation_event",
    "rules_run",
    "count_sample",
    "permit",
    "zone",
    "zone_retired",
    "rules_config_error",
)


def fingerprint(engine: Any, tables: tuple[str, ...] = RULES_TABLES) -> dict[str, str]:
    """Row count and a digest of every row of ``tables``: equal before and after
    means nothing was written."""
    from datastore import pg_connection

    out = {}
    with Session(engine) as s:
        cur = pg_connection(s).cursor()
        for t in tables:
            cur.execute(
                f"SELECT count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text),"
                f" '')) FROM {t} x"
            )
            out[t] = str(cur.fetchone())
    return out
