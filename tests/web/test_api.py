"""/api/vehicles (GeoJSON of current vehicles) and /api/health."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from shapely.geometry import shape
from sqlalchemy import Engine

from fleet_monitor.database import make_engine
from fleet_monitor.web import create_app
from tests.web.conftest import LAT, LON, M_LAT, T0, Fleet, make_settings, vehicles


@pytest.fixture
def fleets(engine: Engine) -> dict[str, Fleet]:
    lac = Fleet(engine, "velo-lac", "Vélo Lac")
    trott = Fleet(engine, "trott", "Trott")
    lac.poll(vehicles(3, "L", vehicle_type_id="ebike", fuel=0.42, range_m=None), T0)
    trott.poll(vehicles(2, "T", lon=LON + 0.01, fuel=None, range_m=15_400.0), T0)
    # one minute later: L0 has moved 300 m (a new, observed dwell), L1 is disabled
    moved = vehicles(3, "L", vehicle_type_id="ebike", fuel=0.42, range_m=None)
    moved[0].lat = LAT + 300 * M_LAT + 0.0001
    moved[1].is_disabled = True
    lac.poll(moved, T0 + timedelta(minutes=1))
    return {"velo-lac": lac, "trott": trott}


def get_geojson(client: FlaskClient, query: str = "") -> dict:  # type: ignore[type-arg]
    response = client.get(f"/api/vehicles{query}")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    data = response.get_json(force=True)
    assert data["type"] == "FeatureCollection"
    for feature in data["features"]:
        assert feature["type"] == "Feature"
        geom = shape(feature["geometry"])
        assert geom.geom_type == "Point" and geom.is_valid
        assert 6.0 < geom.x < 6.3 and 45.8 < geom.y < 46.0  # lon, lat order
    return data


def by_gbfs_id(data: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {f["properties"]["gbfs_id"]: f for f in data["features"]}


def test_vehicles_are_geojson_with_their_properties(client: FlaskClient, fleets: object) -> None:
    data = get_geojson(client)
    features = by_gbfs_id(data)
    assert sorted(features) == ["L0", "L1", "L2", "T0", "T1"]
    assert len({f["id"] for f in data["features"]}) == 5  # stable ids for in-place refresh

    l0 = features["L0"]
    assert l0["geometry"]["coordinates"] == pytest.approx(
        [LON, LAT + 300 * M_LAT + 0.0001], abs=1e-6
    )
    assert l0["properties"] == {
        "operator": "velo-lac",
        "gbfs_id": "L0",
        "state": "available",
        "vehicle_type": "ebike",
        "battery_pct": 42,
        "range_m": None,
        "parked_since": "2026-11-02T08:01:00Z",
        "parked_since_confidence": "observed",
    }
    l1 = features["L1"]["properties"]
    assert l1["state"] == "disabled"
    # a state change in place does not end the stay (issue 11, docs/ingest.md "Stays")
    assert (l1["parked_since"], l1["parked_since_confidence"]) == (
        "2026-11-02T08:00:00Z",
        "first_seen",
    )
    l2 = features["L2"]["properties"]
    assert (l2["parked_since"], l2["parked_since_confidence"]) == (
        "2026-11-02T08:00:00Z",
        "first_seen",
    )
    t0 = features["T0"]["properties"]
    assert (t0["operator"], t0["battery_pct"], t0["range_m"]) == ("trott", None, 15400)


def test_vehicles_filter_by_operator(client: FlaskClient, fleets: object) -> None:
    assert sorted(by_gbfs_id(get_geojson(client, "?operator=trott"))) == ["T0", "T1"]
    assert sorted(by_gbfs_id(get_geojson(client, "?operator=velo-lac"))) == ["L0", "L1", "L2"]
    assert get_geojson(client, "?operator=nobody")["features"] == []
    bad = client.get("/api/vehicles?operator=x'%20OR%201=1--")
    assert bad.status_code == 400
    assert "operator" in bad.get_json()["error"]


def test_vanished_vehicles_are_not_drawn(client: FlaskClient, fleets: dict[str, Fleet]) -> None:
    fleets["trott"].poll(vehicles(1, "T", lon=LON + 0.01), T0 + timedelta(minutes=2))
    assert sorted(by_gbfs_id(get_geojson(client, "?operator=trott"))) == ["T0"]


def test_no_vehicles_is_an_empty_collection(client: FlaskClient) -> None:
    body = get_geojson(client)
    # foreign members (service clock, time shown, data health) beside the features
    assert {k: body[k] for k in ("type", "features", "as_of", "operators")} == {
        "type": "FeatureCollection",
        "features": [],
        "as_of": None,
        "operators": {},
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["now"])
    assert body["positionless"] == 0  # vehicles listed without a position: none


def test_health_ok(client: FlaskClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["database"] == "ok"


def test_health_reports_an_unreachable_database(db_url: str) -> None:
    dead = "postgresql+psycopg://nobody@127.0.0.1:9/nowhere?connect_timeout=2"
    engine = make_engine(dead, pool_size=1)
    try:
        client = create_app(make_settings(db_url), engine=engine).test_client()
        response = client.get("/api/health")
    finally:
        engine.dispose()
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def test_vehicles_filter_by_state_and_parked_time(
    client: FlaskClient, fleets: dict[str, Fleet]
) -> None:
    assert sorted(by_gbfs_id(get_geojson(client, "?state=disabled"))) == ["L1"]
    both = get_geojson(client, "?state=disabled&state=reserved")
    assert sorted(by_gbfs_id(both)) == ["L1"]
    assert sorted(by_gbfs_id(get_geojson(client, "?state=available,disabled"))) == [
        "L0",
        "L1",
        "L2",
        "T0",
        "T1",
    ]
    assert len(get_geojson(client, "?min_parked_days=0")["features"]) == 5
    for bad in (
        "?state=stolen",
        "?min_parked_days=-1",
        "?min_parked_days=x",
        "?min_parked_days=nan",
    ):
        response = client.get(f"/api/vehicles{bad}")
        assert response.status_code == 400, bad
        assert response.get_json()["error"]


def test_min_parked_days_counts_from_the_dwell_start(client: FlaskClient, engine: Engine) -> None:
    now = datetime.now(UTC)
    fleet = Fleet(engine, "velo-lac", "Vélo Lac")
    fleet.poll(vehicles(2, "L"), now - timedelta(days=4))
    moved = vehicles(2, "L")
    moved[1].lat += 500 * M_LAT  # L1 moved two days ago: its new dwell is 2 days old
    fleet.poll(moved, now - timedelta(days=2))
    assert sorted(by_gbfs_id(get_geojson(client, "?min_parked_days=3"))) == ["L0"]
    assert sorted(by_gbfs_id(get_geojson(client, "?min_parked_days=1.5"))) == ["L0", "L1"]
    assert get_geojson(client, "?min_parked_days=5")["features"] == []


def test_anonymous_api_calls_get_401(anon: FlaskClient, fleets: object) -> None:
    response = anon.get("/api/vehicles")
    assert response.status_code == 401
    assert response.get_json() == {"error": "authentication required"}
    assert "Location" not in response.headers
    assert anon.get("/api/health").status_code == 200
