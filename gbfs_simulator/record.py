"""Record a simulated history as a folder of timestamped GBFS captures.

Layout (see README.md)::

    OUT/index.json                       what was recorded, captures in time order
    OUT/cases.json                       the scripted cases (ground truth)
    OUT/<operator>/<epoch>/gbfs.json     discovery, in every capture
    OUT/<operator>/<epoch>/manifest.json 3.0 operators, in every capture
    OUT/<operator>/<epoch>/<feed>.json   real-time files in every capture; the
                                         other files in the first capture and
                                         whenever they change (``full=True``: always)

``<epoch>`` is the capture time in POSIX seconds; each file's own
``last_updated`` is its observation time (equal to ``<epoch>`` for real-time
files unless a ``stale`` fault says otherwise). A failed fetch (outage, timeout)
writes no file and is listed in ``index.json`` with its status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import orjson

from gbfs_simulator.config import SimConfig, default_config
from gbfs_simulator.service import FeedService
from gbfs_simulator.sim import Simulation

DEFAULT_BASE_URL = "http://gbfs-simulator.invalid"
FORMAT = "gbfs-simulator-recording/1"


@dataclass(frozen=True)
class RecordResult:
    out_dir: Path
    captures: int  # capture times
    files: int  # files written
    failures: int  # fetches that wrote no file (outage, timeout)
    sim: Simulation


def parse_every(text: str) -> timedelta:
    """``60s``, ``5m``, ``1h`` or plain seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not m:
        raise ValueError(f"bad interval {text!r} (e.g. 60s, 5m, 1h)")
    value = float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]
    if value <= 0:
        raise ValueError("interval must be positive")
    return timedelta(seconds=value)


def record_history(
    out_dir: Path | str,
    *,
    sim: Simulation | None = None,
    config: SimConfig | None = None,
    seed: int = 0,
    start: datetime | None = None,
    hours: float | None = None,
    until: datetime | None = None,
    every: timedelta = timedelta(seconds=60),
    operators: list[str] | None = None,
    base_url: str = DEFAULT_BASE_URL,
    full: bool = False,
) -> RecordResult:
    """Run a simulation from its current time to ``until`` (or for ``hours``), capturing.

    Pass an existing ``sim`` (its faults and scripted cases apply) or
    ``config``/``seed``/``start`` to build one. Captures happen at the current
    time and then every ``every`` up to and including the end.
    """
    if sim is None:
        if start is None:
            raise ValueError("give a sim or a start time")
        sim = Simulation(config or default_config(), seed=seed, start=start)
    if (hours is None) == (until is None):
        raise ValueError("give exactly one of hours or until")
    end = until if until is not None else sim.now + timedelta(hours=hours or 0)
    if every.total_seconds() <= 0:
        raise ValueError("every must be positive")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    slugs = operators or sim.operator_slugs()
    unknown = set(slugs) - set(sim.ops)
    if unknown:
        raise ValueError(f"unknown operators: {sorted(unknown)}")
    service = FeedService(sim, base_url)
    renderer = service.renderer
    last_static: dict[tuple[str, str], bytes] = {}
    captures, n_files, failures = [], 0, 0
    t = sim.now
    while t <= end:
        sim.advance_to(t)
        epoch = int(t.timestamp())
        for slug in slugs:
            cap_dir = out / slug / str(epoch)
            entry: dict[str, object] = {
                "operator": slug,
                "epoch": epoch,
                "time": t.isoformat(),
                "dir": f"{slug}/{epoch}",
            }
            files: dict[str, object] = {}
            for feed in renderer.served_names(slug):
                realtime = renderer.is_realtime(feed) or feed in ("gbfs", "manifest")
                resp = service.handle("GET", _path(sim, slug, feed))
                if resp.delay_s > 0:
                    files[feed] = {"status": "timeout"}
                    failures += 1
                    continue
                if resp.status != 200:
                    files[feed] = {"status": resp.status}
                    failures += 1
                    continue
                if not (realtime or full) and last_static.get((slug, feed)) == resp.body:
                    continue
                last_static[(slug, feed)] = resp.body
                cap_dir.mkdir(parents=True, exist_ok=True)
                (cap_dir / f"{feed}.json").write_bytes(resp.body)
                files[feed] = {"status": 200, "file": f"{feed}.json"}
                n_files += 1
            entry["files"] = files
            captures.append(entry)
        t += every
    index = {
        "format": FORMAT,
        "seed": sim.seed,
        "base_url": base_url,
        "start": captures[0]["time"] if captures else None,
        "end": captures[-1]["time"] if captures else None,
        "every_s": every.total_seconds(),
        "operators": {
            slug: {
                "version": sim.ops[slug].cfg.version,
                "languages": list(sim.ops[slug].cfg.languages),
                "id_rotation": sim.ops[slug].cfg.id_rotation,
                "permit_cap": sim.ops[slug].cfg.cap,
            }
            for slug in slugs
        },
        "captures": captures,
    }
    (out / "index.json").write_bytes(orjson.dumps(index, option=orjson.OPT_INDENT_2))
    (out / "cases.json").write_bytes(
        orjson.dumps({"cases": service.state()["cases"]}, option=orjson.OPT_INDENT_2)
    )
    return RecordResult(out, len({c["epoch"] for c in captures}), n_files, failures, sim)


def _path(sim: Simulation, slug: str, feed: str) -> str:
    if feed in ("gbfs", "manifest") or sim.ops[slug].cfg.vtuple >= (3, 0):
        return f"/{slug}/{feed}.json"
    return f"/{slug}/{sim.ops[slug].cfg.languages[0]}/{feed}.json"
