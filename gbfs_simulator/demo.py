"""One call to run the simulated city for the demo: simulation + accelerated clock + server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from gbfs_simulator.clock import SimClock
from gbfs_simulator.config import SimConfig, default_config
from gbfs_simulator.server import ServerHandle, start_server
from gbfs_simulator.sim import Simulation


@dataclass
class SimulatedCity:
    sim: Simulation
    clock: SimClock
    server: ServerHandle

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def admin_token(self) -> str:
        return self.server.admin_token

    def discovery_urls(self) -> dict[str, str]:
        """Operator slug -> discovery URL (``gbfs.json``)."""
        return {slug: self.server.discovery_url(slug) for slug in self.sim.operator_slugs()}

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> SimulatedCity:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_simulated_city(
    *,
    seed: int = 1,
    vehicles: int = 1500,
    speed: float = 480.0,
    start: datetime | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    admin_token: str | None = None,
    config: SimConfig | None = None,
    cases: bool = True,
    tick_interval: float = 1.0,
) -> SimulatedCity:
    """Start the demo city on ``host:port`` (0 = any free port); ``stop()`` it when done.

    ``start`` defaults to the current wall-clock minute; simulated time then runs
    ``speed`` times faster than the wall clock (480: a day in 3 minutes), so
    consumers should take "now" from ``clock.now()``, not from the wall clock.
    """
    if start is None:
        start = datetime.now(UTC).replace(second=0, microsecond=0)
    sim = Simulation(config or default_config(vehicles, cases=cases), seed=seed, start=start)
    clock = SimClock(start, speed)
    server = start_server(
        sim, host, port, clock=clock, admin_token=admin_token, tick_interval=tick_interval
    )
    return SimulatedCity(sim, clock, server)
