"""``fleet-monitor mds publish|export``: explicit, immutable publications, validated
against the official MDS 2.0 schemas, exported byte for byte as stored."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import text

from fleet_monitor.database import make_engine
from tests.mds_schema import gbfs_errors, mds_errors, prose_errors
from tests.rules_db.conftest import CliResult
from tests.rules_db.test_cli_catalog import collection, square

PROVIDER = "c20e08cf-8488-46a6-a66c-5d8fb827f7e0"
EVERY_CLAUSE = f"""
operator = "trotti"
version = 1
name = "Trotti - AOT 2025-2027 {"x" * 300}"
effective_from = 2001-01-01T00:00:00+01:00
mds_provider_id = "{PROVIDER}"

[fleet]
cap = 500
cap_by_form_factor = {{ scooter_standing = 400, bicycle = 150 }}

[zones]
caps = {{ "district:centre" = 60 }}
floors = {{ "district:centre" = 5 }}

[time_limits]
max_idle = "90s"
max_disabled = "24h"

[parking]
mandatory = true
districts = ["district:centre"]
prohibited_kinds = ["no_parking", "water", "tram_tracks"]

[penalties]
idle_too_long = 49
in_water = 120
fleet_cap = 500
"""


def line(*pts: tuple[float, float]) -> dict:
    return {"type": "LineString", "coordinates": [list(p) for p in pts]}


def import_zones(cli: Callable[..., CliResult], tmp: Path, kind: str, *features: tuple) -> None:
    path = tmp / f"{kind}.geojson"
    path.write_text(collection(*features))
    res = cli("zones", "import", str(path), "--kind", kind)
    assert res.code == 0, res.out + res.err


@pytest.fixture
def city(cli: Callable[..., CliResult], tmp_path: Path) -> Path:
    import_zones(cli, tmp_path, "operating_area", ("annecy", square(6.08, 45.86, 0.1), {}))
    import_zones(
        cli,
        tmp_path,
        "water",
        ("lake", square(6.14, 45.87, 0.02), {"name": "Lac"}),
        ("canal", square(6.155, 45.875, 0.02), {"name": "Canal du Thiou"}),
    )
    import_zones(
        cli,
        tmp_path,
        "tram_tracks",
        ("t1", line((6.10, 45.90), (6.12, 45.90)), {}),
        ("t2", line((6.11, 45.89), (6.11, 45.91)), {}),
    )
    import_zones(cli, tmp_path, "district", ("centre", square(6.10, 45.89, 0.02), {}))
    import_zones(
        cli, tmp_path, "mandatory_parking", ("bay", square(6.105, 45.895, 0.0001), {"capacity": 8})
    )
    permit = tmp_path / "permit.toml"
    permit.write_text(EVERY_CLAUSE)
    res = cli("permits", "import", str(permit))
    assert res.code == 0, res.out + res.err
    return tmp_path


def validate(policies: dict, geographies: dict) -> None:
    assert mds_errors(policies, "policy", "/policies.json") == []
    assert mds_errors(geographies, "geography", "/geographies.json") == []
    assert prose_errors(policies, geographies) == []


def array(body: bytes, key: str) -> bytes:
    """The bytes of the list ``key`` of an MDS envelope (the documents, comma-joined)."""
    marker = b'"' + key.encode() + b'":['
    assert body.endswith(b"]}")
    return body[body.index(marker) + len(marker) : -2]


def rows(db_url: str, sql: str) -> list:
    engine = make_engine(db_url, pool_size=1)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)).all())
    finally:
        engine.dispose()


def test_publish_export_and_republish_after_a_zone_change(cli, city: Path, db_url: str) -> None:  # type: ignore[no-untyped-def]
    # a lead under 20 minutes is refused, nothing written
    res = cli("mds", "publish", "--lead-time", "19m")
    assert res.code == 2 and "20 minutes" in res.err
    assert rows(db_url, "SELECT * FROM mds_publication") == []

    res = cli("mds", "publish", "--lead-time", "30m", "--json")
    assert res.code == 0, res.out + res.err
    first = res.json()
    start = datetime.fromisoformat(first["start_at"])
    assert (start - datetime.fromisoformat(first["published_at"])).total_seconds() == 1800
    assert {p["facet"] for p in first["policies"]} == {
        "parking",
        "zone_caps",
        "fleet",
        "fleet_by_vehicle_type",
        "time",
    }

    out = city / "mds"
    out.mkdir()
    res = cli("mds", "export", "--dir", str(out))
    assert res.code == 0, res.err
    pol_bytes = (out / "policies.json").read_bytes()
    geo_bytes = (out / "geographies.json").read_bytes()
    for f in ("policies.json", "geographies.json"):
        assert stat.S_IMODE((out / f).stat().st_mode) == 0o644
    policies, geographies = json.loads(pol_bytes), json.loads(geo_bytes)
    validate(policies, geographies)
    for p in policies["policies"]:
        assert p["start_date"] - p["published_date"] == 30 * 60 * 1000
        assert p["provider_ids"] == [PROVIDER] and len(p["name"]) <= 255
    # the other export writes the same bytes
    assert cli("export", "mds-policy").out.rstrip("\n").encode() == pol_bytes
    rules = {r["name"]: r for p in policies["policies"] for r in p["rules"]}
    assert len(rules["No parking: water"]["geographies"]) == 1  # lake + canal dissolved
    assert len(rules["No parking: tram_tracks"]["geographies"]) == 1  # the lines cross
    idle = rules["Maximum idle time while rentable"]
    assert (idle["rule_units"], idle["maximum"]) == ("seconds", 90)

    (audit,) = rows(db_url, "SELECT event, details FROM audit_log WHERE event = 'mds.published'")
    assert audit[1]["publication_id"] == first["publication_id"]
    # nothing changed: nothing new
    res = cli("mds", "publish", "--lead-time", "30m", "--json")
    assert res.code == 0 and res.json()["policies"] == []
    assert len(rows(db_url, "SELECT * FROM mds_publication")) == 1

    # the lake grows: a new parking policy replaces the old one, the rest stands
    import_zones(
        cli,
        city,
        "water",
        ("lake", square(6.14, 45.87, 0.03), {"name": "Lac"}),
        ("canal", square(6.155, 45.875, 0.02), {"name": "Canal du Thiou"}),
    )
    res = cli("mds", "publish", "--json")  # default lead: 24 h
    assert res.code == 0, res.err
    second = res.json()
    old_parking = next(p["policy_id"] for p in first["policies"] if p["facet"] == "parking")
    (new,) = second["policies"]
    assert new["facet"] == "parking" and new["prev_policies"] == [old_parking]
    assert second["new_geographies"] == 1  # the new union of lake and canal
    res = cli("mds", "export", "--dir", str(out))
    policies2 = json.loads((out / "policies.json").read_bytes())
    geographies2 = json.loads((out / "geographies.json").read_bytes())
    validate(policies2, geographies2)
    # published documents are served unchanged, byte for byte: the new export starts
    # with the exact bytes of the first one's policies and geographies
    body2 = (out / "policies.json").read_bytes()
    assert array(body2, "policies").startswith(array(pol_bytes, "policies") + b",")
    geo_body2 = (out / "geographies.json").read_bytes()
    assert array(geo_body2, "geographies").startswith(array(geo_bytes, "geographies") + b",")
    stored = rows(db_url, "SELECT document FROM mds_policy ORDER BY publication_id, position")
    assert array(body2, "policies") == b",".join(bytes(r[0]) for r in stored)
    new_geo = geographies2["geographies"][-1]
    assert len(new_geo["prev_geographies"]) == 1
    assert new_geo["prev_geographies"][0] in {g["geography_id"] for g in geographies["geographies"]}
    listed = cli("mds", "list", "--json").json()
    assert [pub["id"] for pub in listed] == [second["publication_id"], first["publication_id"]]
    old = next(p for p in listed[1]["policies"] if p["policy_id"] == old_parking)
    assert old["replaced_from"] is not None
    assert "replaced from" in cli("mds", "list").out
    newest = next(p for p in policies2["policies"] if p["policy_id"] == new["policy_id"])
    assert newest["start_date"] - newest["published_date"] == 24 * 3600 * 1000


def test_published_rows_are_immutable(cli, city: Path, db_url: str) -> None:  # type: ignore[no-untyped-def]
    assert cli("mds", "publish", "--lead-time", "20m").code == 0
    engine = make_engine(db_url, pool_size=1)
    try:
        for sql in (
            "UPDATE mds_policy SET document = 'x'",
            "DELETE FROM mds_policy",
            "UPDATE mds_geography SET lineage = 'x'",
        ):
            with (
                pytest.raises(sqlalchemy.exc.IntegrityError, match="immutable"),
                engine.begin() as conn,
            ):
                conn.execute(text(sql))
    finally:
        engine.dispose()


def test_draft_exports_are_valid(cli, city: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli("export", "mds-policy", "--draft")
    assert res.code == 0, res.err
    policies = json.loads(res.out)
    assert mds_errors(policies, "policy", "/policies.json") == []
    res = cli("export", "mds-geography", "--draft")
    assert res.code == 0, res.err
    assert mds_errors(json.loads(res.out), "geography", "/geographies.json") == []


def test_dry_run_writes_nothing(cli, city: Path, db_url: str) -> None:  # type: ignore[no-untyped-def]
    res = cli("mds", "publish", "--dry-run")
    assert res.code == 0 and "would publish 5 policies" in res.out
    assert rows(db_url, "SELECT * FROM mds_policy") == []
    res = cli("mds", "export", "--dir", str(city))
    assert res.code == 2 and "nothing published yet" in res.err
    assert not (city / "policies.json").exists()


@pytest.mark.parametrize("version", ["2.3", "3.0"])
def test_gbfs_geofencing_export(cli, city: Path, version: str) -> None:  # type: ignore[no-untyped-def]
    out = city / "geofencing_zones.json"
    res = cli("export", "gbfs-geofencing", "--gbfs-version", version, "--out", str(out))
    assert res.code == 0, res.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    document = json.loads(out.read_bytes())
    assert gbfs_errors(document, version) == []
    names = [f["properties"]["name"] for f in document["data"]["geofencing_zones"]["features"]]
    assert len(names) == 5  # lake, canal, two tram lines, the operating area
    res = cli("export", "gbfs-geofencing", "--operator", "../x")
    assert res.code == 2 and "--operator" in res.err


def test_a_permit_without_clause_leaves_a_note(cli, city: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("mds", "publish", "--lead-time", "20m").code == 0
    permit = city / "v2.toml"
    permit.write_text(
        'operator = "trotti"\nversion = 2\neffective_from = 2020-01-01\n'
        "[parking]\nprohibited_kinds = []\n"
    )
    assert cli("permits", "import", str(permit)).code == 0
    res = cli("mds", "publish", "--json")
    assert res.code == 0, res.err
    result = res.json()
    assert result["policies"] == []
    assert any("no clause" in n for n in result["notes"])
    assert any(n.startswith("trotti: nothing to publish now") for n in result["notes"])
