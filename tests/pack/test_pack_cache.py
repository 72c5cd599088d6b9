"""The web pack's cache: built once per key while fresh, rebuilt after, bounded."""

from __future__ import annotations

import time

from fleet_monitor.web.stats_pack import PackCache


def test_built_once_while_fresh_then_rebuilt() -> None:
    cache = PackCache(ttl_s=0.2, entries=4)
    builds: list[int] = []

    def build() -> int:
        builds.append(1)
        return len(builds)

    assert cache.get_or_build(("pdf", "2026-10", ""), build) == 1
    assert cache.get_or_build(("pdf", "2026-10", ""), build) == 1
    assert cache.get_or_build(("pdf", "2026-10", "trotti"), build) == 2  # another key
    time.sleep(0.25)
    assert cache.get_or_build(("pdf", "2026-10", ""), build) == 3  # expired: rebuilt


def test_oldest_entries_leave_first() -> None:
    cache = PackCache(ttl_s=60, entries=2)
    for i in range(3):
        cache.get_or_build((str(i),), lambda i=i: i)
    assert cache.get_or_build(("0",), lambda: "rebuilt") == "rebuilt"
    assert cache.get_or_build(("2",), lambda: "rebuilt") == 2


def test_a_failed_build_is_not_kept() -> None:
    cache = PackCache(ttl_s=60, entries=2)

    def fail() -> int:
        raise ValueError("no such operator")

    for _ in range(2):
        try:
            cache.get_or_build(("x",), fail)
        except ValueError:
            pass
        else:
            raise AssertionError("the failure must reach the caller")
    assert cache.get_or_build(("x",), lambda: 5) == 5
