"""Benchmark (issue 15): the negotiation pack over twelve months at city scale.

Synthesises a year of history as the ingest stores it (``bench_stats.synthesise``:
3 operators, a vehicle feed fetched every minute, ~4 stays a day per vehicle,
the six districts of the simulated Annecy, violations), aggregates every day
once (the scheduled job's work), then times, for the twelve months:

1. ``build_pack`` (every figure the pack shows: statistics report, scorecards,
   monthly and quarterly trends, the H3 hexagon grid), with its hexagon grid
   timed on its own;
2. the pack's PDF (WeasyPrint), and the peak memory the process reached.

In the same run, the shared yardstick (``../shared/bench/yardstick.py``, a
naive COPY + upsert of a 20,000-vehicle poll) gives the machine's speed: the
figures are printed as ratios to it, so runs on other machines compare.

Run: ``.venv/bin/python bench/bench_pack.py [--vehicles N] [--days N] [--runs N]``
Needs the database server of var/database_url (or TEST_DATABASE_URL).
"""

from __future__ import annotations

import argparse
import resource
import sys
from datetime import date, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_stats import TZ, create_db, history, timed  # noqa: E402
from yardstick_run import COPY_MERGE, run_yardstick  # noqa: E402

from datastore.connection import driver_connection  # noqa: E402
from fleet_monitor.pack.document import PackQuery, build_pack, render_pdf_bytes  # noqa: E402
from fleet_monitor.pack.hexgrid import build_hexgrid  # noqa: E402
from fleet_monitor.stats.periods import parse_period  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="Keep the database.")
    parser.add_argument("--no-yardstick", action="store_true")
    args = parser.parse_args()

    first = date(2025, 10, 1)
    last = first + timedelta(days=args.days - 1)
    label = f"{first}..{last}"
    name, admin, url = create_db()
    try:
        settings, engine, until = history(name, url, args.vehicles, first, args.days)
        period = parse_period(label, TZ)
        query = PackQuery(period)
        rss_before = peak_rss_mb()

        def hexgrid_only() -> object:
            raw = engine.raw_connection()
            try:
                with driver_connection(raw).cursor() as cur:
                    ops = cur.execute("SELECT id, slug FROM operator ORDER BY id").fetchall()
                    return build_hexgrid(cur, period, ops)
            finally:
                raw.close()

        hex_s, grid = timed(hexgrid_only, args.runs)
        pack_s, context = timed(lambda: build_pack(engine, settings, query, now=until), args.runs)
        pdf_s, pdf = timed(lambda: render_pdf_bytes(context, created=until), 1)  # type: ignore[arg-type]
        rss_after = peak_rss_mb()
        print(f"negotiation pack, {label} ({args.vehicles:,} vehicles), median of {args.runs}:")
        print(f"  build_pack (every figure):        {pack_s * 1000:9.0f} ms")
        print(
            f"    of which the H3 grid:           {hex_s * 1000:9.0f} ms"
            f"   ({grid.positions:,} positions, {grid.samples} samples)"  # type: ignore[attr-defined]
        )
        print(f"  PDF (WeasyPrint):                 {pdf_s * 1000:9.0f} ms   ({len(pdf):,} bytes)")  # type: ignore[arg-type]
        print(
            f"  peak memory of the process:       {rss_after:9.0f} MB"
            f"   (before the pack: {rss_before:.0f} MB)"
        )
        engine.dispose()
        if not args.no_yardstick:
            figures, out = run_yardstick(url, 20_000)
            print("\nyardstick (../shared/bench/yardstick.py, 20,000 vehicles, same database):")
            print("  " + "\n  ".join(line for line in out.splitlines() if line.strip()))
            if COPY_MERGE in figures:
                y = figures[COPY_MERGE]
                print(
                    f"\npack / yardstick COPY + upsert ({y:.0f} ms):"
                    f" build x{pack_s * 1000 / y:.1f}, H3 grid x{hex_s * 1000 / y:.1f},"
                    f" PDF x{pdf_s * 1000 / y:.1f}"
                )
    finally:
        if not args.keep:
            with psycopg.connect(admin, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
