"""The simulated city's streets and addresses: deterministic, named, on land, BAN-shaped."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from gbfs_simulator.city import default_city
from gbfs_simulator.streets import BAN_COLUMNS, addresses_csv, city_addresses, city_streets


def test_streets_are_named_lines_and_addresses_lie_on_land() -> None:
    fc = city_streets()
    names = {f["properties"]["name"] for f in fc["features"]}
    assert len(fc["features"]) > 300 and len(names) > 100
    assert {"Avenue de Genève", "Rue Royale", "Quai de l'Isle"} <= names
    assert all(f["geometry"]["type"] in ("LineString", "MultiLineString") for f in fc["features"])
    addresses = city_addresses()
    assert len(addresses) > 20_000
    city = default_city()
    assert all(city.is_land(a.lon, a.lat) for a in addresses[::50])
    assert len({a.ban_id for a in addresses}) == len(addresses)
    districts = Counter(a.district for a in addresses)
    assert set(districts) == {
        "annecy", "annecy-le-vieux", "seynod", "cran-gevrier", "meythet", "pringy"
    }  # fmt: skip


def test_the_ban_csv_is_deterministic_and_well_formed(tmp_path: Path) -> None:
    text = addresses_csv()
    lines = text.splitlines()
    assert lines[0] == BAN_COLUMNS
    width = len(BAN_COLUMNS.split(";"))
    assert all(len(line.split(";")) == width for line in lines[1:])
    first = dict(zip(BAN_COLUMNS.split(";"), lines[1].split(";"), strict=True))
    assert first["code_insee"] == "74010" and first["nom_commune"] == "Annecy"
    assert first["nom_ancienne_commune"] in ("Annecy", "Meythet", "Cran-Gevrier")
    assert 900_000 < float(first["x"]) < 1_000_000 and 6_500_000 < float(first["y"]) < 6_600_000
    out = tmp_path / "adresses-74.csv"
    subprocess.run(
        [sys.executable, "-m", "gbfs_simulator", "export-addresses", "--out", str(out)],
        check=True,
        capture_output=True,
    )
    assert out.read_text(encoding="utf-8") == text  # same city, same file
