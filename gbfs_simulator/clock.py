"""Clocks that drive a simulation from outside (the model itself never reads one)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta


class SimClock:
    """Accelerated time: ``start + speed x (wall time elapsed since creation)``.

    ``speed=480`` runs one simulated day in three minutes. The wall clock is
    injectable (``wall``, seconds, monotonic) so tests can drive it too.
    """

    def __init__(
        self, start: datetime, speed: float = 1.0, wall: Callable[[], float] = time.monotonic
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start = start
        self.speed = speed
        self._wall = wall
        self._wall0 = wall()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(self._wall() - self._wall0) * self.speed)

    __call__ = now


class ManualClock:
    """A clock that only moves when told to (for tests)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._t = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._t

    __call__ = now

    def set(self, t: datetime) -> None:
        with self._lock:
            self._t = t

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._t += delta
            return self._t
