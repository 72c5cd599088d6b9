"""``fleet-monitor addresses``: import the national address base (BAN), look one up.

``import FILE``: a BAN CSV file (``adresses-74.csv``, see
:mod:`fleet_monitor.addresses_import`). Bad rows are dropped and counted by
reason; a bad file prints one message and exits 2 with nothing written.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from fleet_monitor.cli_rules_inputs import InputError, session_scope, settings


def register(cli: click.Group) -> None:
    @cli.group("addresses")
    def addresses() -> None:
        """The national address base (BAN): import, nearest address."""

    @addresses.command("import")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
    def import_cmd(file: Path, as_json: bool) -> None:
        """Import a BAN CSV file (';'-separated, UTF-8), e.g. adresses-74.csv."""
        from fleet_monitor.addresses_import import AddressFileError, import_addresses

        if not file.is_file():
            raise InputError(f"{file}: no such file")
        try:
            with session_scope(write=True) as session:
                result = import_addresses(session, file)
        except AddressFileError as exc:
            raise InputError(f"{file.name}: {exc}; nothing imported") from None
        dropped = sum(result.dropped.values())
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "read": result.read,
                        "imported": result.imported,
                        "removed": result.removed,
                        "communes": sorted(result.communes),
                        "dropped": dict(result.dropped),
                        "examples": result.examples,
                    }
                )
            )
            return
        click.echo(
            f"{file.name}: {result.imported} addresses imported in {len(result.communes)}"
            f" communes, {result.removed} removed, {dropped} rows dropped"
        )
        for reason, count in result.dropped.most_common():
            lines = ", ".join(str(n) for n in result.examples.get(reason, []))
            click.echo(f"  dropped {count}: {reason} (lines {lines})", err=True)

    @addresses.command("nearest")
    @click.argument("lon", type=float)
    @click.argument("lat", type=float)
    def nearest_cmd(lon: float, lat: float) -> None:
        """The nearest address of a position (within [addresses] max_distance_m)."""
        from fleet_monitor.addresses import nearest_address

        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise InputError("LON LAT: out of range (longitude first, WGS 84 degrees)")
        limit = settings().addresses.max_distance_m
        with session_scope(write=False) as session:
            found = nearest_address(session, lon, lat, limit)
        if found is None:
            click.echo(f"no address within {limit:g} m")
        else:
            click.echo(f"{found.label} ({found.distance_rounded_m} m)")
