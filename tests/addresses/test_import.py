"""``fleet-monitor addresses import``: the BAN CSV format, hostile rows and files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from fleet_monitor.addresses import nearest_address, nearest_addresses
from tests.rules_db.conftest import CliResult

HEADER = (
    "id;id_fantoir;numero;rep;nom_voie;code_postal;code_insee;nom_commune;"
    "code_insee_ancienne_commune;nom_ancienne_commune;x;y;lon;lat;type_position;alias;"
    "nom_ld;libelle_acheminement;nom_afnor;source_position;source_nom_voie;"
    "certification_commune;cad_parcelles"
)


def row(ban_id: str, numero: str, rep: str, voie: str, lon: str, lat: str, **kw: str) -> str:
    fields = [
        ban_id, ban_id[:10], numero, rep, voie, kw.get("cp", "74940"), kw.get("insee", "74010"),
        kw.get("commune", "Annecy"), kw.get("old_insee", "74011"),
        kw.get("old", "Annecy-le-Vieux"), "941000.00", "6540000.00", lon, lat, "entrée", "",
        "", "ANNECY", voie.upper(), "commune", "commune", "1", "",
    ]  # fmt: skip
    return ";".join(fields)


GOOD = [
    row("74010_0420_00012_bis", "12", "bis", "Avenue d'Albigny", "6.1450", "45.9100"),
    row("74010_0420_00014", "14", "", "Avenue d'Albigny", "6.1452", "45.9101"),
    row("74010_0500_00001", "1", "", "Rue Royale", "6.1275", "45.9007", cp="74000",
        old_insee="", old=""),
]  # fmt: skip


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM address")).scalar_one())


def write(tmp_path: Path, lines: list[str], name: str = "adresses-74.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_and_nearest_with_the_former_commune(
    cli: Callable[..., CliResult], engine: Engine, tmp_path: Path
) -> None:
    res = cli("addresses", "import", str(write(tmp_path, [HEADER, *GOOD])), "--json")
    assert res.code == 0, res.err
    out = json.loads(res.out)
    assert out["imported"] == 3 and out["dropped"] == {} and out["communes"] == ["74010"]
    with Session(engine) as s:
        found = nearest_address(s, 6.14502, 45.91001, 60)
        assert found is not None
        assert found.label == "12 bis Avenue d'Albigny, 74940 Annecy-le-Vieux (Annecy)"
        assert 1 <= found.distance_m <= 3  # ~1.6 m, geodesic metres
        old_town = nearest_address(s, 6.1275, 45.9008, 60)
        assert old_town is not None and old_town.label == "1 Rue Royale, 74000 Annecy"
        assert 10 < old_town.distance_m < 12  # 0.0001 degree of latitude = 11.1 m
        # beyond the distance limit: no address rather than a far one
        assert nearest_address(s, 6.1400, 45.8900, 60) is None
        many = nearest_addresses(s, [(6.1275, 45.9008), (6.14, 45.89), (float("nan"), 1.0)])
        assert many[0] is not None and many[0].ban_id == "74010_0500_00001"
        assert many[1] is None and many[2] is None
    res = cli("addresses", "nearest", "6.14502", "45.91001")
    assert res.code == 0 and "Annecy-le-Vieux (Annecy) (2 m)" in res.out


def test_hostile_rows_are_dropped_with_a_count(
    cli: Callable[..., CliResult], engine: Engine, tmp_path: Path
) -> None:
    bad = [
        row("74010_0420_00016", "16", "", "Avenue d'Albigny", "6.1454", "95.0"),  # lat
        row("74010_0420_00018", "18", "", "Avenue d'Albigny", "nan", "45.91"),  # lon
        row("74010_0420_00020", "2O", "", "Avenue d'Albigny", "6.1456", "45.9102"),  # numero
        row("74010_0420_00022", "22", "", "Rue <script>\u202e", "6.1458", "45.9103"),
        row("74010 0420 00024", "24", "", "Avenue d'Albigny", "6.1460", "45.9104"),  # id
        row("74010_0420_00026", "26", "", "", "6.1462", "45.9105"),  # street
        row("74010_0420_00028", "28", "", "Avenue d'Albigny", "6.1464", "45.9106", cp="7494"),
        row("74010_0420_00030", "30", "", "A" * 5000, "6.1466", "45.9107"),  # line too long
        "74010_0420_00032;too;few;fields",
        GOOD[1],  # duplicate id
    ]
    res = cli("addresses", "import", str(write(tmp_path, [HEADER, *GOOD, *bad])), "--json")
    assert res.code == 0, res.err
    out = json.loads(res.out)
    assert out["imported"] == 3
    assert sum(out["dropped"].values()) == len(bad)
    assert out["dropped"]["duplicate id"] == 1
    assert out["dropped"]["lat out of range"] == 1
    assert out["dropped"]["control characters in nom_voie"] == 1
    assert out["examples"]["bad numero"] == [7]
    assert count(engine) == 3
    # the text report names the reasons and lines on stderr
    res = cli("addresses", "import", str(write(tmp_path, [HEADER, *GOOD, *bad])))
    assert res.code == 0 and "3 addresses imported" in res.out
    assert "dropped 1: bad numero (lines 7)" in res.err


def test_bad_files_exit_2_and_write_nothing(
    cli: Callable[..., CliResult], engine: Engine, tmp_path: Path
) -> None:
    assert cli("addresses", "import", str(write(tmp_path, [HEADER, *GOOD]))).code == 0
    before = count(engine)
    cases = {
        "comma.csv": [HEADER.replace(";", ","), *[g.replace(";", ",") for g in GOOD]],
        "no-lat.csv": [HEADER.replace(";lat;", ";latitude;"), *GOOD],
        "empty.csv": [],
        "header-only.csv": [HEADER],
        "all-bad.csv": [HEADER, row("x y", "1", "", "Rue", "6.1", "45.9")],
    }
    for name, lines in cases.items():
        res = cli("addresses", "import", str(write(tmp_path, lines, name)))
        assert res.code == 2, (name, res.out, res.err)
        assert "nothing imported" in res.err, name
    # invalid UTF-8 after many good rows: the rows already copied are rolled back too
    latin = tmp_path / "latin1.csv"
    body = "\n".join([HEADER, *GOOD]).replace("74010_0420_00014", "74010_0420_00099")
    latin.write_bytes(body.encode() + b"\n" + row("74010_9", "1", "", "Rue", "6", "45").encode()
                      + b"\n" + "Rue de l'Égalité".encode("latin-1") + b"\n")  # fmt: skip
    res = cli("addresses", "import", str(latin))
    assert res.code == 2 and "not UTF-8" in res.err
    res = cli("addresses", "import", str(tmp_path / "missing.csv"))
    assert res.code == 2 and "no such file" in res.err
    assert count(engine) == before
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM address WHERE ban_id = '74010_0420_00099'")
            ).scalar_one()
            == 0
        )


def test_a_new_file_replaces_its_communes_addresses(
    cli: Callable[..., CliResult], engine: Engine, tmp_path: Path
) -> None:
    other = row("74001_0001_00001", "1", "", "Route de Paris", "6.0", "45.9", insee="74001",
                commune="Abondance", old_insee="", old="")  # fmt: skip
    assert cli("addresses", "import", str(write(tmp_path, [HEADER, *GOOD, other]))).code == 0
    renamed = GOOD[1].replace("Avenue d'Albigny", "Avenue du Petit Port")
    res = cli("addresses", "import", str(write(tmp_path, [HEADER, GOOD[0], renamed])), "--json")
    out = json.loads(res.out)
    assert out["imported"] == 2 and out["removed"] == 1  # Rue Royale no longer in the file
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT ban_id, street FROM address")).all())
    assert rows == {
        "74010_0420_00012_bis": "Avenue d'Albigny",
        "74010_0420_00014": "Avenue du Petit Port",
        "74001_0001_00001": "Route de Paris",  # another commune: untouched
    }


def test_the_simulated_city_ships_its_addresses(
    cli: Callable[..., CliResult], engine: Engine, city_csv: Path
) -> None:
    res = cli("addresses", "import", str(city_csv), "--json")
    assert res.code == 0, res.err
    out = json.loads(res.out)
    assert out["imported"] > 20_000 and out["dropped"] == {}
    with Session(engine) as s:
        # the Gare d'Annecy lies on Rue Sommeiller/Avenue de Genève in the generated city
        found = nearest_address(s, 6.1220, 45.9020, 100)
        assert found is not None and found.commune == "Annecy"
        formers = {
            r[0] for r in s.execute(text("SELECT DISTINCT former_commune_name FROM address"))
        }
    assert formers == {"Annecy", "Annecy-le-Vieux", "Seynod", "Cran-Gevrier", "Meythet", "Pringy"}
