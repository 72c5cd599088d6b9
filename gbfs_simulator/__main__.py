"""Command line: ``python -m gbfs_simulator {serve,record,export-city,export-addresses,
export-streets,bench}``."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from datetime import UTC, datetime

import orjson

from gbfs_simulator.city import export_zones
from gbfs_simulator.record import parse_every, record_history


def _start(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bad ISO time {text!r}") from exc
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m gbfs_simulator",
        description="Simulated GBFS operators in a city like Annecy.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve live feeds over HTTP")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument(
        "--speed",
        type=float,
        default=480.0,
        help="simulated seconds per wall second (480: a day in 3 min)",
    )
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8765)
    s.add_argument("--vehicles", type=_positive_int, default=1500)
    s.add_argument("--start", type=_start, default=None, help="ISO time (default: now)")
    s.add_argument("--admin-token", default=None, help="default: a random token, printed")
    s.add_argument("--no-cases", action="store_true", help="no scripted cases")
    r = sub.add_parser("record", help="write a folder of timestamped captures")
    r.add_argument("--out", required=True)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--start", type=_start, required=True, help="ISO time, e.g. 2025-06-02T04:00Z")
    r.add_argument("--hours", type=float, required=True)
    r.add_argument("--every", type=parse_every, default=parse_every("60s"))
    r.add_argument("--vehicles", type=_positive_int, default=1500)
    r.add_argument("--operators", default=None, help="comma-separated slugs (default: all)")
    r.add_argument("--full", action="store_true", help="write every file in every capture")
    r.add_argument("--no-cases", action="store_true")
    e = sub.add_parser("export-city", help="rewrite the city's GeoJSON zone files")
    e.add_argument("--out", default=None)
    a = sub.add_parser("export-addresses", help="write the city's addresses (BAN CSV)")
    a.add_argument("--out", default="adresses-74.csv")
    st = sub.add_parser("export-streets", help="write the city's named streets (GeoJSON)")
    st.add_argument("--out", default="streets.geojson")
    b = sub.add_parser("bench", help="time vehicle document generation")
    b.add_argument("--vehicles", type=_positive_int, nargs="+", default=[20_000, 100_000])
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "record":
        from gbfs_simulator.config import default_config

        res = record_history(
            args.out,
            config=default_config(args.vehicles, cases=not args.no_cases),
            seed=args.seed,
            start=args.start,
            hours=args.hours,
            every=args.every,
            operators=args.operators.split(",") if args.operators else None,
            full=args.full,
        )
        print(
            f"{res.captures} captures, {res.files} files, {res.failures} failed fetches "
            f"-> {res.out_dir}"
        )
        return 0
    if args.command == "export-city":
        from pathlib import Path

        for path in export_zones(Path(args.out) if args.out else None):
            print(path)
        return 0
    if args.command in ("export-addresses", "export-streets"):
        from pathlib import Path

        from gbfs_simulator.streets import addresses_csv, city_streets

        out = Path(args.out)
        if args.command == "export-addresses":
            out.write_text(addresses_csv(), encoding="utf-8")
        else:
            out.write_bytes(orjson.dumps(city_streets()))
        print(out)
        return 0
    from gbfs_simulator.bench import measure

    for n in args.vehicles:
        print(orjson.dumps(measure(n), option=orjson.OPT_INDENT_2).decode())
    return 0


def _serve(args: argparse.Namespace) -> int:
    from gbfs_simulator.demo import start_simulated_city

    city = start_simulated_city(
        seed=args.seed,
        vehicles=args.vehicles,
        speed=args.speed,
        start=args.start,
        host=args.host,
        port=args.port,
        admin_token=args.admin_token,
        cases=not args.no_cases,
    )
    print(
        f"GBFS simulator on {city.url} (seed {args.seed}, speed x{args.speed:g}, "
        f"simulated start {city.sim.start.isoformat()})"
    )
    for slug, url in city.discovery_urls().items():
        print(f"  {slug:10s} GBFS {city.sim.ops[slug].cfg.version}  {url}")
    print(f"  admin token: {city.admin_token}  (POST {city.url}/admin/faults)")
    print("Ctrl-C to stop.", flush=True)
    # the handler takes no lock and the main thread sleeps in short steps: a signal
    # the kernel hands to another thread is still acted on (fleet_monitor/runtime.py)
    received: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):  # SIGINT too: it may start ignored
        signal.signal(sig, lambda number, _frame: received.append(number))
    try:
        while not received:
            time.sleep(0.2)
    finally:
        city.stop()
    print("stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
