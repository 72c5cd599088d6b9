"""Every bad argument of the zones, permits and rules commands: exit code 2, one
message naming the argument, nothing written (every rules table compared), and
the next ``rules run`` still works."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from shapely.geometry import mapping

from tests.rules.helpers import line, square
from tests.rules_db.conftest import CliResult, fingerprint, permit_toml
from tests.rules_db.fleet import Fleet

T0 = datetime(2025, 6, 3, 8, 0, tzinfo=UTC)
RING = [[6.13, 45.90], [6.131, 45.90], [6.131, 45.901], [6.13, 45.901], [6.13, 45.90]]
BOWTIE = [[6.13, 45.90], [6.131, 45.901], [6.131, 45.90], [6.13, 45.901], [6.13, 45.90]]


def collection(*geometries: dict, props: dict | None = None) -> str:
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "id": f"f{i}", "geometry": g, "properties": props or {}}
                for i, g in enumerate(geometries)
            ],
        }
    )


def polygon(ring: list) -> dict:
    return {"type": "Polygon", "coordinates": [ring]}


FILES: dict[str, str] = {
    "area.geojson": collection(mapping(square(-3000, -3000, 3000, 3000))),
    "lawn.geojson": json.dumps(
        {
            "type": "Feature",
            "id": "lawn",
            "geometry": mapping(square(0, 0, 100, 100)),
            "properties": {},
        }
    ),
    "tram.geojson": collection(mapping(line((0, 300), (300, 300)))),
    "bowtie.geojson": collection(polygon(BOWTIE)),
    "unclosed.geojson": collection(polygon(RING[:-1])),
    "swapped.geojson": collection(polygon([[y, x] for x, y in RING])),
    "paris.geojson": collection(polygon([[x - 3.78, y + 2.95] for x, y in RING])),
    "lambert.geojson": json.dumps(
        {
            "type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}},
            "features": [{"type": "Feature", "geometry": polygon(RING), "properties": {}}],
        }
    ),
    "nan.toml": permit_toml("trotti", version=2, tolerance="nan"),
    "inf.toml": permit_toml("trotti", version=2) + "[penalties]\nidle_too_long = inf\n",
    "ghost_zone.toml": permit_toml("trotti", version=2)
    + '[zones]\ncaps = { "district:nowhere" = 10 }\n',
    "wrong_kind.toml": permit_toml("trotti", version=2)
    + '[operating_area]\nzones = ["no_parking:lawn"]\n',
    "draft.toml": permit_toml("trotti", version=2, max_idle="2h"),
}


@pytest.fixture
def city(engine, cli, tmp_path: Path) -> Fleet:  # type: ignore[no-untyped-def]
    """Observations, zones and a permit, as a city has them; the files of FILES."""
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    fleet = Fleet(engine, "trotti")
    for minutes in (0, 55):
        fleet.poll(T0 + timedelta(minutes=minutes), {"a": (50, 50), "b": (500, 500)})
    for args in (
        ("area.geojson", "--kind", "operating_area"),
        ("lawn.geojson", "--kind", "no_parking"),
        ("tram.geojson", "--kind", "tram_tracks", "--buffer-m", "3"),
    ):
        res = cli("zones", "import", str(tmp_path / args[0]), *args[1:])
        assert res.code == 0, res.err
    (tmp_path / "permit.toml").write_text(permit_toml("trotti", max_idle="30m", cap=10))
    assert cli("permits", "import", str(tmp_path / "permit.toml")).code == 0
    return fleet


def _future() -> str:
    return (datetime.now(UTC) + timedelta(days=1)).isoformat(timespec="seconds")


BAD: list[tuple[str, Callable[[Path], list[str]], str]] = [
    # zones import: buffers
    (
        "negative buffer",
        lambda d: [
            "zones",
            "import",
            str(d / "tram.geojson"),
            "--kind",
            "tram_tracks",
            "--buffer-m",
            "-5",
        ],
        "--buffer-m",
    ),
    (
        "huge buffer",
        lambda d: [
            "zones",
            "import",
            str(d / "tram.geojson"),
            "--kind",
            "tram_tracks",
            "--buffer-m",
            "5000",
        ],
        "--buffer-m",
    ),
    (
        "nan buffer",
        lambda d: [
            "zones",
            "import",
            str(d / "tram.geojson"),
            "--kind",
            "tram_tracks",
            "--buffer-m",
            "nan",
        ],
        "--buffer-m",
    ),
    (
        "buffer of an area",
        lambda d: [
            "zones",
            "import",
            str(d / "lawn.geojson"),
            "--kind",
            "no_parking",
            "--buffer-m",
            "3",
        ],
        "--buffer-m",
    ),
    # zones import: geometry and coordinates
    (
        "self-intersecting",
        lambda d: ["zones", "import", str(d / "bowtie.geojson"), "--kind", "water"],
        "Self-intersection",
    ),
    (
        "unclosed ring",
        lambda d: ["zones", "import", str(d / "unclosed.geojson"), "--kind", "water"],
        "not closed",
    ),
    (
        "lat/lon swapped",
        lambda d: ["zones", "import", str(d / "swapped.geojson"), "--kind", "water"],
        "look swapped",
    ),
    (
        "not WGS 84",
        lambda d: ["zones", "import", str(d / "lambert.geojson"), "--kind", "water"],
        "is not WGS 84",
    ),
    (
        "outside the city",
        lambda d: ["zones", "import", str(d / "paris.geojson"), "--kind", "water"],
        "outside the city's area",
    ),
    (
        "year 1",
        lambda d: [
            "zones",
            "import",
            str(d / "lawn.geojson"),
            "--kind",
            "no_parking",
            "--effective-from",
            "0001-01-01",
        ],
        "--effective-from",
    ),
    (
        "year 9999",
        lambda d: [
            "zones",
            "import",
            str(d / "lawn.geojson"),
            "--kind",
            "no_parking",
            "--effective-from",
            "9999-12-31",
        ],
        "--effective-from",
    ),
    (
        "operator slug",
        lambda d: [
            "zones",
            "import",
            str(d / "lawn.geojson"),
            "--kind",
            "no_parking",
            "--operator",
            "a|b",
        ],
        "--operator",
    ),
    # permits import: numbers and references
    (
        "permit nan",
        lambda d: ["permits", "import", str(d / "nan.toml")],
        "nan.toml: gps_tolerance_m: expected a finite number",
    ),
    (
        "permit inf",
        lambda d: ["permits", "import", str(d / "inf.toml")],
        "inf.toml: penalties.idle_too_long: expected a finite number",
    ),
    (
        "permit unknown zone",
        lambda d: ["permits", "import", str(d / "ghost_zone.toml")],
        "zones.caps: no such zone district:nowhere",
    ),
    (
        "permit zone of another kind",
        lambda d: ["permits", "import", str(d / "wrong_kind.toml")],
        "operating_area.zones",
    ),
    # rules run --at
    ("at 2100", lambda d: ["rules", "run", "--at", "2100-01-01"], "--at"),
    ("at 2099, in the future", lambda d: ["rules", "run", "--at", "2099-06-01"], "--at"),
    ("at year 1", lambda d: ["rules", "run", "--at", "0001-01-01"], "--at"),
    ("at year 9999", lambda d: ["rules", "run", "--at", "9999-12-31"], "--at"),
    ("at tomorrow", lambda d: ["rules", "run", "--at", _future()], "--at"),
    ("future, forced", lambda d: ["rules", "run", "--at", _future(), "--force"], "--at"),
    ("before the history", lambda d: ["rules", "run", "--at", "2024-01-01"], "--force"),
    # rules replay
    (
        "replay to the future",
        lambda d: [
            "rules",
            "replay",
            "--from",
            "2025-06-03",
            "--to",
            _future(),
            "--permit",
            str(d / "draft.toml"),
        ],
        "--to",
    ),
    (
        "replay before the history",
        lambda d: [
            "rules",
            "replay",
            "--from",
            "2020-01-01",
            "--to",
            "2020-01-02",
            "--permit",
            str(d / "draft.toml"),
        ],
        "--from",
    ),
    (
        "replay draft naming no zone",
        lambda d: [
            "rules",
            "replay",
            "--from",
            "2025-06-03",
            "--to",
            "2025-06-04",
            "--permit",
            str(d / "ghost_zone.toml"),
        ],
        "--permit",
    ),
    (
        "replay step overflow",
        lambda d: [
            "rules",
            "replay",
            "--from",
            "2025-06-03",
            "--to",
            "2025-06-04",
            "--every",
            "1e400h",
            "--permit",
            str(d / "draft.toml"),
        ],
        "--every",
    ),
    # other commands
    ("retire nothing", lambda d: ["zones", "retire", "no_parking:nowhere"], "REFS"),
    ("list at year 9999", lambda d: ["zones", "list", "--at", "9999-12-31"], "--at"),
]


@pytest.mark.parametrize(("args", "field"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_exits_2_names_the_field_and_writes_nothing(
    city: Fleet, cli, tmp_path: Path, args: Callable[[Path], list[str]], field: str
) -> None:  # type: ignore[no-untyped-def]
    before = fingerprint(city.engine)
    res: CliResult = cli(*args(tmp_path))
    assert res.code == 2, res.out + res.err
    lines = [ln for ln in res.err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.err  # one message
    assert field in lines[0], lines[0]
    assert "Traceback" not in res.out + res.err
    assert fingerprint(city.engine) == before  # nothing written
    after = cli("rules", "run", "--at", (T0 + timedelta(hours=1)).isoformat(), "--json")
    assert after.code == 0, after.err
    # the rules still run on the good configuration: a and b idle, a on the lawn
    assert after.json()["by_rule"] == {
        "idle_too_long": {"violation": 2, "uncertain": 0},
        "in_no_parking_area": {"violation": 1, "uncertain": 0},
    }


def test_click_refuses_out_of_range_ids_and_limits(city: Fleet, cli) -> None:  # type: ignore[no-untyped-def]
    for args in (
        ("violations", "show", "99999999999999999999999"),
        ("violations", "list", "--limit", "-1"),
    ):
        res = cli(*args)
        assert res.code == 2 and "Traceback" not in res.err, res.err


def test_force_replays_the_past_but_never_the_future(city: Fleet, cli) -> None:  # type: ignore[no-untyped-def]
    res = cli("rules", "run", "--at", "2024-06-01", "--force", "--json")
    assert res.code == 0, res.err
    assert res.json()["vehicles"] == 0  # nothing was observed then
    assert cli("rules", "run", "--at", (T0 + timedelta(hours=1)).isoformat()).code == 0


def test_warnings_import_what_is_only_suspicious(city: Fleet, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ghost = tmp_path / "ghost.toml"
    ghost.write_text(permit_toml("ghost", max_idle="1h"))
    res = cli("permits", "import", str(ghost))
    assert res.code == 0
    assert "operator 'ghost' is not registered (known operators: trotti)" in res.err

    res = cli("zones", "import", str(tmp_path / "bowtie.geojson"), "--kind", "water", "--repair")
    assert res.code == 0, res.err
    assert "repaired: feature 0 (water:f0): Self-intersection" in res.err
    res = cli("zones", "list", "--kind", "water", "--json")
    assert res.json()[0]["geometry_type"] == "MultiPolygon"

    res = cli("zones", "import", str(tmp_path / "paris.geojson"), "--kind", "pedestrian", "--force")
    assert res.code == 0 and "outside the city's area" in res.err and "--force" in res.err
    res = cli(
        "zones",
        "import",
        str(tmp_path / "unclosed.geojson"),
        "--kind",
        "pedestrian",
        "--repair",
        "--partial",
    )
    assert res.code == 0 and "closed 1 ring" in res.err
    assert cli("rules", "run", "--at", (T0 + timedelta(hours=1)).isoformat()).code == 0
