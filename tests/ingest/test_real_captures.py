"""Every real capture in ../shared/gbfs/real ingests into PostGIS without an error,
with the vehicle and station counts its README states."""

from __future__ import annotations

import json
import subprocess
import sys

import psycopg
import pytest
from sqlalchemy.engine import make_url

from fleet_monitor.database import make_engine
from gbfs_ingest.config import IngestSettings
from gbfs_ingest.replay import replay
from tests.conftest import GBFS_REAL

# folder -> (vehicles stored, stations stored). Counts from shared/gbfs/README.md §3;
# HSL (an OTP test fixture) has 10 stations of which two have no id (null, "") and
# one no position: 7 are valid, the 3 others are dropped and counted.
EXPECTED = {
    "bcycle-rtc-bike-share_las-vegas_v1.1_mdkt": (0, 37),
    "bolt_essen_v1.0_mdkt": (1350, 0),
    "bolt_essen_v3.0_mdkt": (1360, 80),
    "capital-bikeshare_washington-dc_v1.x": (0, 581),
    "citiz_hauts-de-france_v3.0_mdkt": (166, 77),
    "donkey-republic_barcelona_v1.1_mdkt": (0, 1392),
    "donkey-republic_barcelona_v2.3_mdkt": (342, 1392),
    "dott_brussels_v2.3_mdkt": (0, 2238),
    "ecovelo-velodaqui_nouvelle-aquitaine_v3.0_mdkt": (0, 6),
    "flamingo_tauranga-nz_v3.0_mdkt": (295, 13),
    "hsl-citybikes_helsinki_v1.x_otp": (0, 7),
    "jcdecaux-cyclocity-dublinbikes_dublin_v3.0_mdkt": (0, 115),
    "lillestrom-bysykkel_lillestrom_v2.2_otp": (0, 6),
    # 194 snapshots over 5 days, every id rotated at almost every snapshot: the vehicles
    # published by the last snapshot
    "lime_seattle-u-district_v2.2_timeseries_5d": (941, 0),
    "lime_seattle_v1.0_mdkt": (12040, 1),
    "lime_seattle_v2.2_mdkt": (0, 1),
    "lyft-baywheels_sf-bay_v1.x_timeseries_2023": (0, 518),
    "lyft-baywheels_sf-bay_v1.x_transitland": (720, 496),
    "lyft-divvy_chicago_v2.3": (1244, 1811),
    "mobidata-bw-oekostadt-renningen-carsharing_renningen_v2.3_mdkt": (40, 33),
    "nextbike-city-bike-linz_linz_v2.3_mdkt": (380, 50),
    "pbsc-bike-nordelta_nordelta-ar_v2.3_mdkt": (0, 20),
    "pbsc-pogoh_pittsburgh_v1.x_mdkt": (0, 60),
    "tier_oslo_v2.3_otp": (0, 0),
    "urbansharing-oslo-bysykkel_oslo_v2.3_timeseries": (0, 260),
    "voi_marseille_v2.3": (1466, 0),
}


def test_every_capture_is_listed() -> None:
    assert sorted(p.name for p in GBFS_REAL.iterdir() if p.is_dir()) == sorted(EXPECTED)


@pytest.fixture(scope="module")
def replayed(template_db):  # type: ignore[no-untyped-def]
    """Replay all captures into one fresh database (one operator per folder)."""
    from tests.conftest import _clone, _drop

    url = _clone(template_db)
    engine = make_engine(url, pool_size=2)
    results = {}
    try:
        for name in sorted(EXPECTED):
            results[name] = replay(
                engine,
                GBFS_REAL / name,
                operator_slug=name[:60],
                operator_name=name,
                settings=IngestSettings(),
            )
        yield results
    finally:
        engine.dispose()
        _drop(url)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_capture_ingests_with_right_counts(replayed, name: str) -> None:  # type: ignore[no-untyped-def]
    s = replayed[name]
    assert s.errors == [], s.errors
    assert s.files_ok == s.files > 0
    assert (s.vehicles_stored, s.stations_stored) == EXPECTED[name]


def test_versions_detected(replayed) -> None:  # type: ignore[no-untyped-def]
    assert replayed["bolt_essen_v3.0_mdkt"].version == "3.0"
    assert replayed["lyft-divvy_chicago_v2.3"].version == "2.3"
    assert replayed["hsl-citybikes_helsinki_v1.x_otp"].version.startswith("1.")


def test_cli_ingest_single_archived_file_json(db_url: str) -> None:
    src = GBFS_REAL / "voi_marseille_v2.3" / "free_bike_status.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fleet_monitor.cli",
            "ingest",
            str(src),
            "--operator",
            "voi",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"DATABASE_URL": db_url, "PATH": ""},
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["operator"] == "voi"
    assert summary["version"] == "2.3"
    assert summary["vehicles_stored"] == 1466
    assert summary["errors"] == []


def test_cli_ingest_nothing_usable_exits_2_and_writes_nothing(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "free_bike_status.json"
    bad.write_text("{ this is not json")
    proc = subprocess.run(
        [sys.executable, "-m", "fleet_monitor.cli", "ingest", str(bad), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"DATABASE_URL": db_url, "PATH": ""},
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert "nothing usable" in line and "free_bike_status.json: " in line and "not JSON" in line
    with psycopg.connect(
        make_url(db_url).set(drivername="postgresql").render_as_string(False)
    ) as c:
        assert c.execute(
            "SELECT (SELECT count(*) FROM operator) + (SELECT count(*) FROM feed)"
            " + (SELECT count(*) FROM feed_fetch)"
        ).fetchone() == (0,)
