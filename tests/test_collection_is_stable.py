"""Every pytest-xdist worker must collect the same test names.

A parametrized id built from a gzip body once carried the header's mtime, so
two workers starting in different seconds collected different names and the
whole CI run stopped at collection ("Different tests were collected between
gw0 and gw1"). This collects the suite twice, in different seconds and with
different hash seeds (set iteration order), and requires identical names.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def collected_names(hash_seed: str) -> list[str]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "tests"]
    done = subprocess.run(
        [*command, "-p", "no:cacheprovider", "-p", "no:xdist"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_two_collections_in_different_seconds_give_the_same_names() -> None:
    first = collected_names("1")
    time.sleep(1.1)
    second = collected_names("2")
    assert len(first) > 1000
    changed = sorted(set(first) ^ set(second))
    assert not changed, changed[:10]
    assert first == second
