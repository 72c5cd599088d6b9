"""The machine's yardstick (``../shared/bench/yardstick.py``), run in the same benchmark run.

Absolute times vary between machines and between runs on a loaded machine, so
the benchmarks report their figures as ratios to the yardstick's: a naive
COPY + upsert of a vehicle feed into PostGIS, and a PostGIS / STRtree spatial
join of vehicles to zones. ``run_yardstick`` runs the script in a subprocess
against a database with PostGIS and returns each line's milliseconds by label.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

YARDSTICK = Path(__file__).resolve().parents[2] / "shared" / "bench" / "yardstick.py"
COPY_MERGE = "COPY + merge (one poll, end to end in DB)"
POSTGIS_JOIN = "PostGIS join vehicles x zones (ST_Intersects)"
_LINE = re.compile(r"^(?P<label>\S.*?)\s{2,}(?P<ms>[\d.]+) ms", re.MULTILINE)


def run_yardstick(url: str, n: int, zones: int = 2000) -> tuple[dict[str, float], str]:
    """({label: ms}, the script's output); empty figures when the script is missing."""
    if not YARDSTICK.exists():
        return {}, f"(yardstick not found at {YARDSTICK})"
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    proc = subprocess.run(
        [sys.executable, str(YARDSTICK), str(n), str(zones), dsn],
        capture_output=True,
        text=True,
        timeout=900,
    )
    figures = {m["label"]: float(m["ms"]) for m in _LINE.finditer(proc.stdout)}
    return figures, proc.stdout + proc.stderr
