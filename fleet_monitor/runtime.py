"""Process-wide tuning for the service's long-running processes.

The ingest builds and drops hundreds of thousands of small objects per poll
(decoded JSON, parsed vehicles) while keeping a large, long-lived cache of
current rows. With CPython's default thresholds the collector runs full
collections over that cache many times a poll: measured on a 20,000-vehicle
feed, 30 % of the poll time (bench/README.md). None of these objects form
reference cycles, so collecting less often loses nothing.
"""

from __future__ import annotations

import gc
import signal
import threading
import time

GC_THRESHOLDS = (100_000, 50, 100)


def tune_gc() -> None:
    gc.set_threshold(*GC_THRESHOLDS)


def wait_for_stop(stop: threading.Event, *, poll_s: float = 0.2) -> int | None:
    """Block until SIGTERM/SIGINT arrives or ``stop`` is set; returns the signal, if any.

    Why not ``stop.wait()`` with a handler that sets ``stop``: the kernel may hand
    a process-wide signal to any thread, and Python runs the handler only when
    the main thread next executes bytecode. A main thread blocked in
    ``Event.wait()`` (a lock wait that the signal did not interrupt, since
    another thread took it) then never runs it, and the process ignores Ctrl-C
    (seen once in CI, with the demo's many threads). Here the main thread sleeps
    in short steps, so a pending handler runs within ``poll_s``; the handler only
    appends to a list (no lock taken inside a signal handler). Signals are
    caught only when called from the main thread (elsewhere ``stop`` ends it).
    """
    received: list[int] = []
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda number, _frame: received.append(number))
    while not received and not stop.is_set():
        time.sleep(poll_s)
    return received[0] if received else None
