"""Every benchmark under ``bench/`` still runs, at a tiny scale.

The benchmarks are not timed here (their figures live in ``bench/README.md``),
but a benchmark that no longer runs is a performance claim nobody can check:
``bench_stats.py`` wrote to ``vehicle`` for ten days after it became a view
(migration 0007), and nothing noticed. Each one is run as a user would, in a
subprocess, against the test server, and must exit 0 and print its figures.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import _server_url

ROOT = Path(__file__).resolve().parents[1]

# (script, tiny arguments, a line its figures must match)
BENCHMARKS = [
    (
        "bench_ingest.py",
        ["--quick"],
        r"ours median +[\d.]+ ms \(polls 1-7\).*\| x[\d.]+",
    ),
    ("bench_parse.py", [], r"20000 vehicles, valid +: decode +[\d.]+ ms"),
    (
        "bench_rules.py",
        ["--vehicles", "2000", "--zones", "200", "--runs", "1", "--naive-subset", "20", "--db"],
        r"evaluate_all, every rule: median [\d.]+ s wall",
    ),
    (
        "bench_stats.py",
        ["--vehicles", "300", "--days", "3", "--runs", "1"],
        r"raw and aggregated figures identical: True",
    ),
    (
        "bench_pack.py",
        ["--vehicles", "300", "--days", "20", "--runs", "1", "--no-yardstick"],
        r"of which the H3 grid: +\d+ ms +\(6,000 positions, 60 samples\)",
    ),
    (
        "bench_web.py",
        ["--vehicles", "500", "--violations", "50"],
        r"/api/vehicles, 500 vehicles .* target 200 ms",
    ),
    (
        "bench_basemap.py",
        [
            *("--vehicles", "500", "--copies", "0", "--runs", "1", "--sample", "20"),
            *("--baseline-sample", "5", "--no-yardstick"),
        ],
        r"bulk, one query \(nearest_addresses\): +[\d.]+ ms for 500 vehicles",
    ),
]


def test_every_benchmark_is_listed() -> None:
    scripts = {p.name for p in (ROOT / "bench").glob("bench_*.py")}
    assert scripts == {script for script, _args, _line in BENCHMARKS}


@pytest.mark.parametrize(("script", "args", "line"), BENCHMARKS, ids=[b[0] for b in BENCHMARKS])
def test_benchmark_runs_at_a_tiny_scale(script: str, args: list[str], line: str) -> None:
    env = {**os.environ, "TEST_DATABASE_URL": _server_url()}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert re.search(line, done.stdout), done.stdout[-3000:]
