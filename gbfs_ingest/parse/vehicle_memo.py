"""The previous clean vehicle file of a feed, to parse only the records that changed.

Most records of a poll are byte for byte those of the previous poll (a parked
vehicle publishes the same text again). :class:`VehicleMemo` keeps the previous
file's raw records, their :class:`Vehicle` objects and, in numpy arrays, a hash
of each raw record, a hash of each id and each ``last_reported`` as epoch
seconds. A new file is matched against it with vectorised searches; a match is
confirmed by comparing the raw bytes, and then the previous ``Vehicle`` object
is reused as is. Callers must therefore treat parsed vehicles as read-only.

Why arrays rather than a dict of raw text: in a long-running process the
long-lived objects of such a dict end up scattered in memory (a few percent are
replaced every poll), and touching 100,000 of them costs 2-3 times what it
costs just after start. Here the per-poll work reads the fresh body, the
previous body (contiguous) and arrays; it touches a previous ``Vehicle`` only
to hand it over.

Only records read without any finding are remembered, so the findings of a
file are the same whether or not it was matched against a memo.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
import numpy as np

from gbfs_ingest.model import Vehicle

__all__ = ["Match", "VehicleMemo"]

_EMPTY_I = np.empty(0, np.int64)
_EMPTY_F = np.empty(0, np.float64)


class Match:
    """The records of a new file that equal a remembered one, and its arrays so far."""

    __slots__ = ("carried", "epoch", "id_hash", "raw_hash", "remembered", "vehicles")

    def __init__(self, n: int, raw_hash: np.ndarray) -> None:
        self.raw_hash = raw_hash
        self.vehicles: list[Vehicle | None] = [None] * n
        self.carried = 0
        self.remembered = np.zeros(n, bool)
        self.id_hash = np.zeros(n, np.int64)
        self.epoch = np.full(n, np.nan)


class VehicleMemo:
    """One feed's previous clean vehicle file (see the module doc)."""

    __slots__ = (
        "epoch",
        "id_hash",
        "last_updated",
        "raw_order",
        "raw_sorted",
        "raws",
        "remembered",
        "vehicles",
        "version",
    )

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.version: str | None = None
        self.last_updated: datetime | None = None
        self.raws: list[msgspec.Raw] = []
        self.vehicles: list[Vehicle] = []
        self.remembered: list[bool] = []
        self.raw_sorted, self.raw_order = _EMPTY_I, _EMPTY_I
        self.id_hash, self.epoch = _EMPTY_I, _EMPTY_F

    def __len__(self) -> int:
        return len(self.raws)

    def match(self, raws: list[msgspec.Raw], keys: list[bytes]) -> Match:
        """Find the records of ``raws`` (``keys``: their bytes) that are remembered."""
        n = len(raws)
        raw_hash = np.fromiter(map(hash, keys), np.int64, n)
        found = Match(n, raw_hash)
        if not self.raws:
            return found
        pos = np.searchsorted(self.raw_sorted, raw_hash)
        pos[pos == len(self.raw_sorted)] = 0
        cand = self.raw_order[pos]
        hit = np.flatnonzero(self.raw_sorted[pos] == raw_hash)
        if not len(hit):
            return found
        prev_raws, prev_vehicles, prev_ok = self.raws, self.vehicles, self.remembered
        out = found.vehicles
        took: list[int] = []
        took_from: list[int] = []
        for i, j in zip(hit.tolist(), cand[hit].tolist(), strict=True):
            if prev_ok[j] and raws[i] == prev_raws[j]:  # same bytes: not a hash collision
                out[i] = prev_vehicles[j]
                took.append(i)
                took_from.append(j)
        if took:
            at = np.array(took, np.int64)
            src = np.array(took_from, np.int64)
            found.remembered[at] = True
            found.id_hash[at] = self.id_hash[src]
            found.epoch[at] = self.epoch[src]
            found.carried = len(took)
        return found

    def remember(
        self,
        version: str,
        last_updated: datetime | None,
        raws: list[msgspec.Raw],
        vehicles: list[Vehicle],
        found: Match,
    ) -> None:
        """Keep this file for the next poll (``found``: its completed arrays)."""
        order = np.argsort(found.raw_hash, kind="stable")
        self.version, self.last_updated = version, last_updated
        self.raws, self.vehicles = raws, vehicles
        self.remembered = found.remembered.tolist()
        self.raw_order, self.raw_sorted = order, found.raw_hash[order]
        self.id_hash, self.epoch = found.id_hash, found.epoch


def epoch_of(when: datetime | None) -> float:
    return float("nan") if when is None else when.timestamp()


def same_time_everywhere(epoch: np.ndarray) -> bool:
    """Every record has a ``last_reported`` and all are the same instant."""
    return bool(len(epoch)) and not np.isnan(epoch).any() and bool((epoch == epoch[0]).all())


def has_duplicates(id_hash: np.ndarray) -> bool:
    """Two records with the same id hash (a real duplicate, or a collision: either way
    the tolerant parser decides)."""
    return bool(np.unique(id_hash).size != id_hash.size)
