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

GC_THRESHOLDS = (100_000, 50, 100)


def tune_gc() -> None:
    gc.set_threshold(*GC_THRESHOLDS)
