"""The previous clean vehicle file of a feed, to parse only the records that changed.

Most records of a poll are byte for byte those of the previous poll (a parked
vehicle publishes the same text again). :class:`VehicleMemo` keeps the previous
file's :class:`Vehicle` objects and, in numpy arrays, a hash and the length
of each raw record, a hash of each id and each ``last_reported`` as epoch
seconds. A new file is matched against it with vectorised searches, and a
matched record reuses the previous ``Vehicle`` object as is (callers must
treat parsed vehicles as read-only). The result says which previous record
each one came from, so the diff can skip them without looking at them.

Why arrays rather than a dict of raw text: in a long-running process the
long-lived objects of such a dict end up scattered in memory (a few percent are
replaced every poll), and touching 100,000 of them costs 2-3 times what it
costs just after start. Here the per-poll work reads the fresh body and
arrays; it touches a previous ``Vehicle`` only to hand it over.

Only records read without any finding are remembered, so the findings of a
file are the same whether or not it was matched against a memo.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from gbfs_ingest.model import Vehicle

__all__ = ["Match", "VehicleMemo"]

_EMPTY_I = np.empty(0, np.int64)
_EMPTY_F = np.empty(0, np.float64)


class Match:
    """The records of a new file found in the memo, and the file's arrays so far."""

    __slots__ = (
        "base",
        "carried_from",
        "epoch",
        "id_hash",
        "order",
        "raw_hash",
        "raw_len",
        "remembered",
        "vehicles",
    )

    def __init__(self, raw_hash: np.ndarray, raw_len: np.ndarray) -> None:
        n = len(raw_hash)
        self.raw_hash, self.raw_len = raw_hash, raw_len
        self.vehicles = np.empty(n, object)  # Vehicle objects, None until filled
        self.carried_from = np.full(n, -1, np.int64)  # index in the memo's file, or -1
        self.base: list[Vehicle] | None = None  # the memo's file the indices refer to
        self.remembered = np.zeros(n, bool)
        self.id_hash = np.zeros(n, np.int64)
        self.epoch = np.full(n, np.nan)
        self.order = _EMPTY_I  # argsort of raw_hash


class VehicleMemo:
    """One feed's previous clean vehicle file (see the module doc).

    A record is taken as unchanged when its raw text has the same length and the
    same 64-bit SipHash (Python's ``hash`` of bytes, keyed per process) as a
    remembered one. Two different records of equal length colliding on 64 bits
    is the only way to get this wrong: about 3e-11 per 100,000-vehicle poll
    (5,000 changed records against 100,000 remembered ones), once in some
    30,000 years of minute polls. Comparing the bytes instead cost a third of
    the poll's parse time.
    """

    __slots__ = (
        "epoch",
        "id_hash",
        "last_updated",
        "raw_len",
        "raw_order",
        "raw_sorted",
        "remembered",
        "vehicle_array",
        "vehicles",
        "version",
    )

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.version: str | None = None
        self.last_updated: datetime | None = None
        self.vehicles: list[Vehicle] | None = None
        self.vehicle_array = np.empty(0, object)
        self.remembered = np.zeros(0, bool)
        self.raw_sorted, self.raw_order, self.raw_len = _EMPTY_I, _EMPTY_I, _EMPTY_I
        self.id_hash, self.epoch = _EMPTY_I, _EMPTY_F

    def __len__(self) -> int:
        return len(self.raw_len)

    def match(self, keys: list[bytes]) -> Match:
        """Find the records (``keys``: their raw bytes) that are remembered."""
        n = len(keys)
        found = Match(
            np.fromiter(map(hash, keys), np.int64, n), np.fromiter(map(len, keys), np.int64, n)
        )
        found.order = np.argsort(found.raw_hash)
        if not len(self.raw_sorted):
            return found
        # searched in sorted order (cache-friendly), then put back in file order
        pos = np.empty(n, np.int64)
        pos[found.order] = np.searchsorted(self.raw_sorted, found.raw_hash[found.order])
        pos[pos == len(self.raw_sorted)] = 0
        cand = self.raw_order[pos]
        hit = (
            (self.raw_sorted[pos] == found.raw_hash)
            & (self.raw_len[cand] == found.raw_len)
            & self.remembered[cand]
        )
        at = np.flatnonzero(hit)
        src = cand[at]
        found.base = self.vehicles
        found.carried_from[at] = src
        found.vehicles[at] = self.vehicle_array[src]
        found.remembered[at] = True
        found.id_hash[at] = self.id_hash[src]
        found.epoch[at] = self.epoch[src]
        return found

    def remember(
        self, version: str, last_updated: datetime | None, vehicles: list[Vehicle], found: Match
    ) -> None:
        """Keep this file for the next poll (``found``: its completed arrays)."""
        order = found.order
        self.version, self.last_updated = version, last_updated
        self.vehicles, self.vehicle_array = vehicles, found.vehicles
        self.remembered = found.remembered
        self.raw_order, self.raw_sorted, self.raw_len = order, found.raw_hash[order], found.raw_len
        self.id_hash, self.epoch = found.id_hash, found.epoch


#: ``epoch`` of a record whose ``last_reported`` was read with a finding (coerced);
#: NaN means no ``last_reported`` at all.
NOT_CLEAN = float("inf")


def same_time_everywhere(epoch: np.ndarray) -> bool:
    """As the tolerant parser decides it: every record has a ``last_reported`` and
    those read without a finding are all the same instant."""
    if not len(epoch) or np.isnan(epoch).any():
        return False
    clean = epoch[epoch != NOT_CLEAN]
    return bool(len(clean)) and bool((clean == clean[0]).all())


def has_duplicates(id_hash: np.ndarray) -> bool:
    """Two records with the same id hash (a real duplicate, or a collision: either way
    the tolerant parser decides)."""
    ordered = np.sort(id_hash)
    return bool((ordered[1:] == ordered[:-1]).any())
