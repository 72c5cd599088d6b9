"""Measure how long vehicle documents take to generate (``python -m gbfs_simulator bench``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from gbfs_simulator.config import OperatorConfig, SimConfig, default_operators
from gbfs_simulator.feeds import vehicle_feed_name
from gbfs_simulator.service import FeedService
from gbfs_simulator.sim import Simulation

BENCH_START = datetime(2025, 6, 3, 6, 0, tzinfo=UTC)  # 08:00 in Annecy, a Tuesday


def _median_ms(fn: Callable[[], object], repeats: int, before: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        before()
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 1)


def _operator_figures(sim: Simulation, slug: str, repeats: int) -> dict[str, object]:
    service = FeedService(sim, "http://127.0.0.1:8080")
    op = sim.ops[slug]
    feed = vehicle_feed_name(op.cfg.version)
    path = f"/{slug}/{feed}.json" if op.cfg.vtuple >= (3, 0) else f"/{slug}/fr/{feed}.json"
    render = lambda: service.renderer.render(slug, feed)  # noqa: E731

    def reset() -> None:
        for v in op.vehicles:
            v.frag = v.elem = None

    cold = _median_ms(render, repeats, reset)
    render()
    tick = _median_ms(render, repeats, lambda: sim.advance(timedelta(minutes=1)))
    unchanged = _median_ms(render, repeats, lambda: None)
    served = _median_ms(
        lambda: service.handle("GET", path), repeats, lambda: sim.advance(timedelta(minutes=1))
    )
    return {
        "version": op.cfg.version,
        "id_rotation": op.cfg.id_rotation,
        "listed": op.n_visible,
        "bytes": len(render()),
        "cold_ms": cold,
        "after_1_min_ms": tick,
        "unchanged_ms": unchanged,
        "served_after_1_min_ms": served,
    }


def measure(vehicles: int, repeats: int = 3, seed: int = 1) -> dict[str, object]:
    """Median generation times (ms) of each operator's vehicle document at 08:00.

    ``cold``: every per-vehicle fragment built (the first fetch, unless the
    server warmed up); ``after_1_min``: after one simulated minute of the morning
    peak (changed vehicles rebuilt); ``unchanged``: same state again (an
    every-fetch rotator still draws new IDs); ``served_after_1_min``: the whole
    request path (render, ETag) without HTTP. ``single_operator`` holds all
    ``vehicles`` in one GBFS 2.3 operator.
    """
    sim = Simulation(SimConfig(default_operators(vehicles)), seed=seed, start=BENCH_START)
    out: dict[str, object] = {"vehicles": vehicles}
    per_op = {slug: _operator_figures(sim, slug, repeats) for slug in sim.ops}
    out["per_operator"] = per_op
    out["all_operators_after_1_min_ms"] = round(
        sum(float(str(f["after_1_min_ms"])) for f in per_op.values()),
        1,
    )
    solo = OperatorConfig(
        slug="solo",
        name="Solo",
        version="2.3",
        vehicles=vehicles,
        form_factor="scooter_standing",
        propulsion_type="electric",
    )
    single = Simulation(SimConfig((solo,)), seed=seed, start=BENCH_START)
    out["single_operator"] = _operator_figures(single, "solo", repeats)
    return out
