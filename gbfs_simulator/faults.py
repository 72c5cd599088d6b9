"""Feed faults: a board of scheduled/active faults and the body transforms they apply."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from gbfs_simulator.config import FAULT_KINDS, Fault

# Kinds that only make sense for list feeds when no feed scope is given.
_LIST_FEEDS = ("vehicle_status", "station_status")
# Keys whose numbers the ``wrong_types`` fault turns into strings.
_NUMERIC_KEYS = frozenset(
    {
        "lat",
        "lon",
        "ttl",
        "last_updated",
        "last_reported",
        "current_range_meters",
        "current_fuel_percent",
        "capacity",
        "num_bikes_available",
        "num_vehicles_available",
        "num_docks_available",
        "price",
        "max_range_meters",
    }
)


def canonical_feed(name: str) -> str:
    """``free_bike_status`` and ``vehicle_status`` are one feed for fault scoping."""
    return "vehicle_status" if name == "free_bike_status" else name


@dataclass
class FaultEntry:
    id: str
    fault: Fault
    start: float  # POSIX seconds (simulated time)
    end: float | None
    source: str  # config | admin | case
    case: str | None = None

    def active_at(self, t: float) -> bool:
        return self.start <= t and (self.end is None or t < self.end)

    def applies_to(self, operator: str, feed: str) -> bool:
        f = self.fault
        if f.operator is not None and f.operator != operator:
            return False
        feed = canonical_feed(feed)
        if f.feeds is None:
            return f.kind != "empty" or feed in _LIST_FEEDS
        return feed in {canonical_feed(x) for x in f.feeds}

    def to_json(self) -> dict[str, Any]:
        f = self.fault
        return {
            "id": self.id,
            "kind": f.kind,
            "operator": f.operator,
            "feeds": list(f.feeds) if f.feeds is not None else None,
            "start": _iso(self.start),
            "end": _iso(self.end) if self.end is not None else None,
            "status": f.status,
            "delay_s": f.delay_s,
            "stale_by_s": f.stale_by_s,
            "mode": f.mode,
            "source": self.source,
            "case": self.case,
        }


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


class FaultBoard:
    """The faults of a simulation, keyed by id (``f1``, ``f2`` ...)."""

    def __init__(self) -> None:
        self._entries: dict[str, FaultEntry] = {}
        self._n = 0

    def add(
        self, fault: Fault, start: float, end: float | None, source: str, case: str | None = None
    ) -> FaultEntry:
        self._n += 1
        entry = FaultEntry(f"f{self._n}", fault, start, end, source, case)
        self._entries[entry.id] = entry
        return entry

    def remove(self, fault_id: str) -> bool:
        return self._entries.pop(fault_id, None) is not None

    def clear(self, source: str | None = None) -> int:
        ids = [i for i, e in self._entries.items() if source is None or e.source == source]
        for i in ids:
            del self._entries[i]
        return len(ids)

    def get(self, fault_id: str) -> FaultEntry | None:
        return self._entries.get(fault_id)

    def entries(self) -> list[FaultEntry]:
        return list(self._entries.values())

    def active(self, operator: str, feed: str, t: float) -> list[FaultEntry]:
        """Faults shaping a response now (``reshuffle`` acts on the state, not here)."""
        return [
            e
            for e in self._entries.values()
            if e.fault.kind != "reshuffle" and e.active_at(t) and e.applies_to(operator, feed)
        ]


def fault_from_json(obj: Any, now: datetime) -> tuple[Fault, float, float | None]:
    """Parse the admin endpoint's JSON into a fault and its window (POSIX seconds).

    Fields: kind (required), operator, feeds (list), start_in_s (default 0),
    duration_s (simulated seconds; absent = until removed), status, delay_s,
    stale_by_s, mode.
    """
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    known = {
        "kind",
        "operator",
        "feeds",
        "start_in_s",
        "duration_s",
        "status",
        "delay_s",
        "stale_by_s",
        "mode",
    }
    unknown = set(obj) - known
    if unknown:
        raise ValueError(f"unknown fields: {sorted(unknown)}")
    kind = obj.get("kind")
    if kind not in FAULT_KINDS:
        raise ValueError(f"kind must be one of {list(FAULT_KINDS)}")
    feeds = obj.get("feeds")
    if feeds is not None and (
        not isinstance(feeds, list) or not all(isinstance(x, str) for x in feeds)
    ):
        raise ValueError("feeds must be a list of feed names")
    operator = obj.get("operator")
    if operator is not None and not isinstance(operator, str):
        raise ValueError("operator must be a string")
    nums: dict[str, Any] = {}
    for key, typ in (
        ("start_in_s", float),
        ("duration_s", float),
        ("status", int),
        ("delay_s", float),
        ("stale_by_s", int),
    ):
        if key in obj and obj[key] is not None:
            val = obj[key]
            if isinstance(val, bool) or not isinstance(val, int | float):
                raise ValueError(f"{key} must be a number")
            nums[key] = typ(val)
    mode = obj.get("mode", "truncate")
    if not isinstance(mode, str):
        raise ValueError("mode must be a string")
    start = now.timestamp() + nums.pop("start_in_s", 0.0)
    duration = nums.pop("duration_s", None)
    if duration is not None and duration <= 0:
        raise ValueError("duration_s must be positive")
    fault = Fault(
        kind=kind,
        operator=operator,
        feeds=tuple(feeds) if feeds else None,
        mode=mode,
        duration=timedelta(seconds=duration) if duration else None,
        **nums,
    )
    return fault, start, (start + duration if duration else None)


# ----------------------------------------------------------------------------
# Body transforms


def make_empty(body: bytes) -> bytes:
    doc = orjson.loads(body)
    data = doc.get("data", {})
    for key in ("bikes", "vehicles", "stations"):
        if key in data:
            data[key] = []
    return orjson.dumps(doc)


def make_stale(body: bytes, by_s: int) -> bytes:
    doc = orjson.loads(body)
    lu = doc.get("last_updated")
    if isinstance(lu, int):
        doc["last_updated"] = lu - by_s
    elif isinstance(lu, str):
        doc["last_updated"] = (datetime.fromisoformat(lu) - timedelta(seconds=by_s)).isoformat()
    return orjson.dumps(doc)


def _wrong(obj: Any) -> Any:
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            if isinstance(v, bool):
                out[k] = int(v)
            elif k in _NUMERIC_KEYS and isinstance(v, int | float):
                out[k] = str(v)
            else:
                out[k] = _wrong(v)
        return out
    if isinstance(obj, list):
        return [_wrong(x) for x in obj]
    return obj


def make_wrong_types(body: bytes) -> bytes:
    """Numbers as strings (``"lat": "45.9"``), booleans as 0/1 — as real feeds do."""
    return orjson.dumps(_wrong(orjson.loads(body)))


HTML_ERROR = b"<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"


def make_malformed(body: bytes, mode: str) -> tuple[bytes, str]:
    """Break the JSON; returns (body, content type)."""
    if mode == "html":
        return HTML_ERROR, "text/html; charset=utf-8"
    if mode == "garbage":
        return body.replace(b'"', b"'"), "application/json"
    return body[: max(1, len(body) // 2)], "application/json"
