"""Measure how long vehicle documents take to generate (``python -m gbfs_simulator bench``)."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta

from gbfs_simulator.config import OperatorConfig, SimConfig, default_operators
from gbfs_simulator.feeds import FeedRenderer, vehicle_feed_name
from gbfs_simulator.sim import Simulation

BENCH_START = datetime(2025, 6, 3, 6, 0, tzinfo=UTC)  # 08:00 in Annecy, a Tuesday


def _ms(fn: object, repeats: int) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(repeats):
        t = time.perf_counter()
        body = fn()  # type: ignore[operator]
        times.append((time.perf_counter() - t) * 1000)
        size = len(body)
    return statistics.median(times), size


def measure(vehicles: int, repeats: int = 5, seed: int = 1) -> dict[str, object]:
    """Median generation time (ms) of each operator's vehicle document.

    ``cold``: first render (every fragment built); ``tick``: after one simulated
    minute at the morning peak (only changed vehicles rebuilt); ``unchanged``:
    same state again (every-fetch rotators still draw new IDs). ``single_100pct``:
    one operator holding all ``vehicles`` (2.3, after-trip rotation).
    """
    sim = Simulation(SimConfig(default_operators(vehicles)), seed=seed, start=BENCH_START)
    renderer = FeedRenderer(sim, "http://127.0.0.1:8080")
    out: dict[str, object] = {"vehicles": vehicles, "per_operator": {}}
    total = 0.0
    for slug, op in sim.ops.items():
        feed = vehicle_feed_name(op.cfg.version)
        t = time.perf_counter()
        body = renderer.render(slug, feed)
        cold = (time.perf_counter() - t) * 1000
        sim.advance(timedelta(minutes=1))
        t = time.perf_counter()
        renderer.render(slug, feed)
        tick = (time.perf_counter() - t) * 1000
        unchanged, size = _ms(lambda s=slug, f=feed: renderer.render(s, f), repeats)
        total += tick
        out["per_operator"][slug] = {  # type: ignore[index]
            "version": op.cfg.version,
            "listed": op.n_visible,
            "bytes": size or len(body),
            "cold_ms": round(cold, 1),
            "tick_ms": round(tick, 1),
            "unchanged_ms": round(unchanged, 1),
        }
    out["all_operators_tick_ms"] = round(total, 1)
    single = Simulation(
        SimConfig(
            (
                OperatorConfig(
                    slug="solo",
                    name="Solo",
                    version="2.3",
                    vehicles=vehicles,
                    id_rotation="after_trip",
                    form_factor="scooter_standing",
                    propulsion_type="electric",
                ),
            )
        ),
        seed=seed,
        start=BENCH_START,
    )
    r2 = FeedRenderer(single, "http://127.0.0.1:8080")
    t = time.perf_counter()
    r2.render("solo", "free_bike_status")
    cold = (time.perf_counter() - t) * 1000
    single.advance(timedelta(minutes=1))
    t = time.perf_counter()
    body = r2.render("solo", "free_bike_status")
    out["single_100pct"] = {
        "listed": single.ops["solo"].n_visible,
        "bytes": len(body),
        "cold_ms": round(cold, 1),
        "tick_ms": round((time.perf_counter() - t) * 1000, 1),
    }
    return out
