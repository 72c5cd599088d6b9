"""Zones and permits from the command line: versioning, listing, MDS exports, and
wrong input (one clear message, exit code 2, nothing written)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from fleet_monitor.database import make_engine
from tests.rules_db.conftest import CliResult, permit_toml, run_cli, scalar


def square(lon: float, lat: float, d: float = 0.001) -> dict:
    ring = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def collection(*features: tuple[str, dict, dict]) -> str:
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "id": fid, "geometry": g, "properties": p}
                for fid, g, p in features
            ],
        }
    )


@pytest.fixture
def count(db_url: str) -> Callable[[str], int]:
    def n(table: str) -> int:
        engine = make_engine(db_url, pool_size=1)
        try:
            return int(scalar(engine, f"SELECT count(*) FROM {table}"))
        finally:
            engine.dispose()

    return n


def _zones(cli: Callable[..., CliResult], *args: str) -> list[dict]:
    res = cli("zones", "list", "--json", *args)
    assert res.code == 0, res.out
    return res.json()


def test_zone_versions_follow_the_imports(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    v1 = tmp_path / "np_v1.geojson"
    v1.write_text(
        collection(
            ("paquier", square(6.14, 45.90), {"name": "Pâquier"}),
            ("quais", square(6.12, 45.89), {"name": "Quais"}),
            ("pont", square(6.13, 45.895), {"name": "Pont"}),
        )
    )
    res = cli("zones", "import", str(v1), "--kind", "no_parking", "--json")
    assert res.code == 0, res.out
    assert len(res.json()["created"]) == 3
    again = cli("zones", "import", str(v1), "--kind", "no_parking", "--json").json()
    assert again["created"] == [] and len(again["unchanged"]) == 3  # re-import: a no-op

    v2 = tmp_path / "np_v2.geojson"
    v2.write_text(
        collection(
            ("paquier", square(6.14, 45.90, 0.002), {"name": "Pâquier (agrandi)"}),  # changed
            ("pont", square(6.13, 45.895), {"name": "Pont"}),  # unchanged
            ("europe", square(6.15, 45.905), {"name": "Jardins de l'Europe"}),  # new
        )
    )  # "quais" is gone
    res = cli(
        "zones",
        "import",
        str(v2),
        "--kind",
        "no_parking",
        "--effective-from",
        "2025-07-01",
        "--json",
    ).json()
    assert res["created"] == [
        {"zone_id": "no_parking:paquier", "version": 2},
        {"zone_id": "no_parking:europe", "version": 1},
    ]
    assert res["unchanged"] == ["no_parking:pont"] and res["retired"] == ["no_parking:quais"]

    june = {(z["zone_id"], z["version"]) for z in _zones(cli, "--at", "2025-06-15")}
    july = {(z["zone_id"], z["version"]) for z in _zones(cli, "--at", "2025-07-02T12:00")}
    assert june == {("no_parking:paquier", 1), ("no_parking:quais", 1), ("no_parking:pont", 1)}
    assert july == {("no_parking:paquier", 2), ("no_parking:europe", 1), ("no_parking:pont", 1)}
    every = _zones(cli, "--all")
    assert len(every) == 5
    old = next(z for z in every if z["zone_id"] == "no_parking:paquier" and z["version"] == 1)
    assert old["effective_from"] is None  # a first version applies to all stored history
    assert old["effective_to"].startswith("2025-06-30T22:00")  # midnight in Annecy, in UTC
    # a new version must start after the one it replaces
    v3 = tmp_path / "np_v3.geojson"
    v3.write_text(collection(("paquier", square(6.14, 45.90, 0.003), {"name": "Pâquier"})))
    res = cli(
        "zones",
        "import",
        str(v3),
        "--kind",
        "no_parking",
        "--partial",
        "--effective-from",
        "2025-06-01",
    )
    assert res.code == 2 and "not after version 2" in res.err
    assert len(_zones(cli, "--all")) == 5  # nothing written
    res = cli(
        "zones",
        "import",
        str(v3),
        "--kind",
        "no_parking",
        "--partial",
        "--effective-from",
        "2025-08-01",
        "--json",
    )
    assert res.json()["created"] == [{"zone_id": "no_parking:paquier", "version": 3}]
    assert res.json()["retired"] == []  # --partial: the others stay


ONE = collection(("x", square(6.1, 45.9), {}))
POINT = {"type": "Point", "coordinates": [6.1, 45.9]}
BROKEN = {"type": "Polygon", "coordinates": [[[6.1, 45.9]]]}


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("not json {", ["--kind", "no_parking"], "invalid JSON"),
        ('{"type": "FeatureCollection"}', ["--kind", "no_parking"], "features"),
        (ONE, ["--kind", "parking"], "Invalid value for '--kind'"),
        (ONE, ["--kind", "water", "--effective-from", "soon"], "is not a date"),
        (collection(("x", square(650000, 6540000, 100), {})), ["--kind", "water"], "WGS 84"),
        (collection(("x", POINT, {})), ["--kind", "water"], "Point"),
        (collection(("x", BROKEN, {})), ["--kind", "water"], "invalid geometry"),
        (ONE, ["--kind", "water", "--from-geofencing"], "--from-geofencing"),
        (collection(), ["--kind", "water"], "no zone"),
    ],
)
def test_bad_zone_files_are_refused_and_nothing_is_written(
    cli, count, tmp_path: Path, content: str, args: list[str], message: str
) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "zones.geojson"
    f.write_text(content)
    res = cli("zones", "import", str(f), *args)
    assert res.code == 2
    assert message in res.out + res.err
    assert count("zone") == 0


def test_permits_import_list_and_errors(cli, count, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "trotti.toml"
    good.write_text(permit_toml("trotti", max_idle="72h", cap=500))
    assert cli("permits", "import", str(good), "--json").json()["status"] == "created"
    assert cli("permits", "import", str(good), "--json").json()["status"] == "unchanged"
    changed = tmp_path / "trotti_edit.toml"
    changed.write_text(permit_toml("trotti", max_idle="48h", cap=500))
    res = cli("permits", "import", str(changed))
    assert res.code == 2 and "higher version" in res.out + res.err
    rows = cli("permits", "list", "--json").json()
    assert len(rows) == 1 and rows[0]["terms"]["max_idle"] == 72 * 3600
    assert rows[0]["gps_tolerance_m"] == 10.0  # the service's default: the text states none

    for text, message in (
        ("operator = 'x'\nversion = [", "invalid TOML"),
        (permit_toml("x") + "[notices]\nday_deadlin = '2h'\n", "notices.day_deadlin: unknown"),
        (permit_toml("x", max_idle="soon"), "time_limits.max_idle"),
        ("version = 1\neffective_from = 2025-01-01\n", "operator: required key is missing"),
    ):
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        res = cli("permits", "import", str(bad))
        assert res.code == 2, res.out
        assert message in res.out + res.err
    assert count("permit") == 1


def test_real_cli_exit_code_and_message_on_bad_input(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "draft.toml"
    bad.write_text("operator = 'x'\nversion = 1\n")
    res = run_cli(db_url, "permits", "import", str(bad))
    assert res.code == 2
    assert "effective_from: required key is missing" in res.err
    assert "Traceback" not in res.err
    res = run_cli(db_url, "rules", "run", "--at", "yesterday-ish")
    assert res.code == 2 and "--at" in res.err
    res = run_cli(db_url, "zones", "import", str(bad), "--kind", "lake")
    assert res.code == 2 and "'lake' is not one of" in res.err


def test_mds_exports_parse(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    zones = tmp_path / "area.geojson"
    zones.write_text(collection(("annecy", square(6.08, 45.86, 0.1), {"name": "Annecy"})))
    assert cli("zones", "import", str(zones), "--kind", "operating_area").code == 0
    lines = tmp_path / "tram.geojson"
    lines.write_text(
        collection(("t1", {"type": "LineString", "coordinates": [[6.1, 45.9], [6.12, 45.91]]}, {}))
    )
    assert cli("zones", "import", str(lines), "--kind", "tram_tracks").code == 0
    permit = tmp_path / "p.toml"
    permit.write_text(permit_toml("trotti", max_idle="5d", cap=400))
    assert cli("permits", "import", str(permit)).code == 0

    out = tmp_path / "policies.json"
    res = cli("export", "mds-policy", "--out", str(out))
    assert res.code == 0, res.out
    policy = json.loads(out.read_text())
    assert policy["version"] == "2.0.0"
    (p,) = policy["data"]["policies"]
    kinds = {r["name"]: r for r in p["rules"]}
    assert kinds["Fleet cap"]["maximum"] == 400
    assert kinds["Maximum idle time while rentable"]["maximum"] == 5 * 24 * 60
    res = cli("export", "mds-geography")
    assert res.code == 0
    geo = json.loads(res.out)
    assert len(geo["geographies"]) == 2
    for g in geo["geographies"]:
        (feature,) = g["geography_json"]["features"]
        assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")  # lines buffered
    res = cli("export", "mds-policy", "--out", str(tmp_path / "missing" / "p.json"))
    assert res.code == 2


def test_timed_zones_take_their_schedule_from_a_toml_file(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path
) -> None:
    zones = tmp_path / "markets.geojson"
    zones.write_text(collection(("vieille-ville", square(6.125, 45.899), {"name": "Marché"})))
    no_schedule = cli("zones", "import", str(zones), "--kind", "scheduled_restriction")
    assert no_schedule.code == 2 and "needs a schedule" in no_schedule.err
    toml = tmp_path / "markets.toml"
    toml.write_text(
        'lead = "1h"\n[zones."vieille-ville"]\n'
        'recurring = [{days = ["tue", "fri", "sun"], start = "06:00", end = "14:00"}]\n'
    )
    args = ("zones", "import", str(zones), "--kind", "scheduled_restriction")
    res = cli(*args, "--schedule", str(toml), "--json")
    assert res.code == 0, res.out
    assert res.json()["created"] == [
        {"zone_id": "scheduled_restriction:vieille-ville", "version": 1}
    ]
    # a changed schedule is a new version of the zone
    toml.write_text(toml.read_text().replace('"sun"', '"sat"'))
    again = cli(*args, "--schedule", str(toml), "--json")
    assert again.json()["created"] == [
        {"zone_id": "scheduled_restriction:vieille-ville", "version": 2}
    ]
    # a schedule for a zone that is not in the file, or a bad one: refused, nothing written
    toml.write_text('[zones."elsewhere"]\nrecurring = []\nevents = []\n')
    bad = cli(*args, "--schedule", str(toml))
    assert bad.code == 2 and "elsewhere" in bad.err
    always = tmp_path / "np.geojson"
    always.write_text(collection(("x", square(6.13, 45.9), {"schedule": {"events": []}})))
    refused = cli("zones", "import", str(always), "--kind", "no_parking")
    assert refused.code == 2 and "apply at all times" in refused.err
    assert len(_zones(cli, "--kind", "scheduled_restriction")) == 1
