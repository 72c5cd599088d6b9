"""Process-wide helpers of the long-running commands (fleet_monitor/runtime.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# A signal the kernel hands to a thread other than the main one: Python runs the
# handler only when the main thread executes bytecode again.
SCRIPT = """
import signal, sys, threading, time
from fleet_monitor.runtime import wait_for_stop

def other_thread():
    time.sleep(0.5)
    signal.pthread_kill(threading.get_ident(), signal.{name})  # delivered to this thread

threading.Thread(target=other_thread, daemon=True).start()
started = time.monotonic()
got = wait_for_stop(threading.Event())
print(got, round(time.monotonic() - started, 1))
"""


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_a_signal_taken_by_another_thread_still_stops_the_wait(name: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(name=name)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert proc.returncode == 0, proc.stderr
    signum, waited = proc.stdout.split()
    assert int(signum) == getattr(__import__("signal"), name)
    assert float(waited) < 5


def test_a_set_event_ends_the_wait_without_a_signal() -> None:
    import threading

    from fleet_monitor.runtime import wait_for_stop

    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    # not the main thread: no handler is installed, only the event counts
    result: list[int | None] = []
    worker = threading.Thread(target=lambda: result.append(wait_for_stop(stop)))
    worker.start()
    worker.join(timeout=10)
    assert result == [None]
