"""The MDS 2.0 Policy and Geography APIs over HTTP: every response validated against
the official schemas, stored bytes served unchanged, paging, versions, access."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient
from shapely.geometry import box
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from fleet_monitor.mds.store import publish
from fleet_monitor.notices.contacts import create_token
from fleet_monitor.settings import MdsSettings
from fleet_monitor.violations.demo_setup import demo_permit_text
from fleet_monitor.web import create_app
from gbfs_ingest.registry import ensure_operator
from gbfs_simulator import zone_file_path
from rules import ZONE_KINDS, Zone, load_permit_toml, zones_from_geojson
from rules.mds import MEDIA_TYPE
from tests.mds_schema import gbfs_errors, mds_errors, prose_errors
from tests.web.conftest import make_settings, signed_in

NOW = datetime.now(UTC).replace(microsecond=0)
EDGE = f"""
operator = "velo"
version = 1
name = "Vélo\\tAOT {"é" * 300}"
effective_from = 2001-01-01
mds_provider_id = "c20e08cf-8488-46a6-a66c-5d8fb827f7e0"
[parking]
prohibited_kinds = ["no_parking"]
"""


def city_zones() -> list[Zone]:
    zones = [
        z
        for kind in ZONE_KINDS
        for z in zones_from_geojson(zone_file_path(kind).read_bytes(), kind)
    ]
    # an operator's own zone, covering the world
    return [*zones, Zone("velo:world", "no_parking", box(-180, -90, 180, 90), operator="velo")]


def city_permits() -> list[Any]:
    start = NOW - timedelta(days=1)
    return [
        load_permit_toml(demo_permit_text("trotti", 600, start)),
        load_permit_toml(demo_permit_text("lacbike", 150, start, mandatory_parking=True)),
        load_permit_toml(EDGE),
    ]


@pytest.fixture
def published(engine: Engine) -> None:
    with Session(engine) as s, s.begin():
        for slug in ("trotti", "lacbike", "velo"):
            ensure_operator(s, slug, slug.title(), None)
        publish(s, city_permits(), city_zones(), now=NOW, lead=timedelta(hours=24))


def zone_ids(geography: dict[str, Any]) -> list[str]:
    props = geography["geography_json"]["features"][0]["properties"]
    return list(props.get("zone_ids") or [props.get("zone_id")])


def app_with(db_url: str, engine: Engine, access: str) -> Flask:
    settings = dataclasses.replace(make_settings(db_url), mds=MdsSettings(access=access))
    app = create_app(settings, engine=engine)
    app.testing = True
    return app


@pytest.fixture
def public(db_url: str, engine: Engine) -> FlaskClient:
    return app_with(db_url, engine, "public").test_client()


def get(client: FlaskClient, url: str, status: int = 200, **kw: Any) -> Any:
    response = client.get(url, **kw)
    assert response.status_code == status, response.data[:500]
    if status == 200:
        assert response.headers["Content-Type"] == MEDIA_TYPE
    return response


def test_nothing_published_yet(public: FlaskClient) -> None:
    for url, ref, path in (
        ("/mds/policies", "policy", "/policies"),
        ("/mds/policies.json", "policy", "/policies.json"),
        ("/mds/geographies", "geography", "/geographies"),
    ):
        body = orjson.loads(get(public, url).data)
        assert mds_errors(body, ref, path) == []
        assert body.get("policies", body.get("geographies")) == []


def test_every_response_is_valid_and_stored_bytes_are_served(
    public: FlaskClient, published: None, engine: Engine
) -> None:
    flat = get(public, "/mds/policies.json").data
    geo_flat = get(public, "/mds/geographies.json").data
    policies, geographies = orjson.loads(flat), orjson.loads(geo_flat)
    assert mds_errors(policies, "policy", "/policies.json") == []
    assert mds_errors(geographies, "geography", "/geographies.json") == []
    assert prose_errors(policies, geographies) == []
    assert policies["last_updated"] == geographies["last_updated"] == int(NOW.timestamp() * 1000)
    assert {p["name"].split(" ")[0] for p in policies["policies"]} == {"Trotti", "LacBike", "Vélo"}
    listed = orjson.loads(get(public, "/mds/policies").data)
    assert mds_errors(listed, "policy", "/policies") == []
    # every policy (none has started yet), in order of start
    assert sorted(p["policy_id"] for p in listed["policies"]) == sorted(
        p["policy_id"] for p in policies["policies"]
    )
    starts = [p["start_date"] for p in listed["policies"]]
    assert starts == sorted(starts)
    with Session(engine) as s:
        stored = dict(s.execute(text("SELECT policy_id, document FROM mds_policy")).all())
        stored_geo = dict(s.execute(text("SELECT geography_id, document FROM mds_geography")).all())
    for pid, document in stored.items():
        one = get(public, f"/mds/policies/{pid}").data
        assert mds_errors(orjson.loads(one), "policy", "/policies/{policy_id}") == []
        assert bytes(document) in one and bytes(document) in flat
    for gid, document in stored_geo.items():
        one = get(public, f"/mds/geographies/{gid}").data
        assert mds_errors(orjson.loads(one), "geography", "/geographies/{geography_id}") == []
        assert one.endswith(b'"geography":' + bytes(document) + b"}")
    listed_geo = orjson.loads(get(public, "/mds/geographies").data)
    assert mds_errors(listed_geo, "geography", "/geographies") == []


def test_paging_dates_versions_and_errors(public: FlaskClient, published: None) -> None:
    everything = orjson.loads(get(public, "/mds/policies").data)["policies"]
    url: str | None = "/mds/policies?page_size=2"
    seen = []
    while url:
        body = orjson.loads(get(public, url).data)
        assert mds_errors(body, "policy", "/policies") == []
        assert len(body["policies"]) <= 2
        seen += [p["policy_id"] for p in body["policies"]]
        url = body["links"]["next"]
    assert seen == [p["policy_id"] for p in everything] and len(seen) > 2
    # policies start 24 h after publication: none is in effect during the next hour
    soon = int((NOW + timedelta(hours=1)).timestamp() * 1000)
    now = int(NOW.timestamp() * 1000)
    body = orjson.loads(get(public, f"/mds/policies?start_date={now}&end_date={soon}").data)
    assert body["policies"] == []
    mds = "application/vnd.mds+json"
    get(public, "/mds/policies", 406, headers={"Accept": f"{mds};version=1.2"})
    get(public, "/mds/policies", headers={"Accept": f"{mds};version=2.0"})
    for bad in ("start_date=abc", "start_date=1", "page_size=0", "page_size=5000"):
        error = orjson.loads(get(public, f"/mds/policies?{bad}", 400).data)
        assert set(error) == {"error", "error_description", "error_details"}
    get(public, "/mds/policies/not-a-uuid", 400)
    get(public, "/mds/policies/00000000-0000-0000-0000-000000000000", 404)
    get(public, "/mds/geographies/00000000-0000-0000-0000-000000000000", 404)
    etag = get(public, "/mds/policies.json").headers["ETag"]
    assert public.get("/mds/policies.json", headers={"If-None-Match": etag}).status_code == 304


def test_token_access(db_url: str, engine: Engine, published: None) -> None:
    app = app_with(db_url, engine, "token")
    anon = app.test_client()
    error = orjson.loads(get(anon, "/mds/policies.json", 401).data)
    assert error["error"] == "unauthorized"
    with Session(engine) as s, s.begin():
        _row, token = create_token(s, "velo", name="mds", actor="test")
    auth = {"Authorization": f"Bearer {token}"}
    mine = orjson.loads(get(anon, "/mds/policies.json", headers=auth).data)
    assert mine["policies"] and all(p["name"].startswith("Vélo") for p in mine["policies"])
    geos = orjson.loads(get(anon, "/mds/geographies", headers=auth).data)["geographies"]
    assert any("velo:world" in zone_ids(g) for g in geos)  # velo's own zone, for velo
    with Session(engine) as s, s.begin():
        _row, trotti = create_token(s, "trotti", name="mds", actor="test")
    theirs = orjson.loads(
        get(anon, "/mds/geographies", headers={"Authorization": f"Bearer {trotti}"}).data
    )["geographies"]
    assert len(theirs) < len(geos)  # velo's own zones are not shown to trotti
    assert not any("velo:world" in zone_ids(g) for g in theirs)
    assert mds_errors(mine, "policy", "/policies.json") == []
    get(anon, "/mds/policies.json", 401, headers={"Authorization": "Bearer nope"})
    staff = signed_in(app, engine, "officer@annecy.example", "officer")
    everything = orjson.loads(get(staff, "/mds/policies.json").data)
    assert len(everything["policies"]) > len(mine["policies"])


@pytest.mark.parametrize("version", ["2.3", "3.0"])
def test_gbfs_geofencing_served(db_url: str, engine: Engine, version: str) -> None:
    from fleet_monitor.violations.catalog import import_zones

    with Session(engine) as s, s.begin():
        ensure_operator(s, "velo", "Velo", None)
        for kind in ("water", "no_parking", "operating_area"):
            zones = zones_from_geojson(zone_file_path(kind).read_bytes(), kind)
            import_zones(s, zones, kind=kind, operator=None, now=NOW)
        world = Zone("velo:world", "no_parking", box(-180, -90, 180, 90), operator="velo")
        import_zones(s, [world], kind="no_parking", operator="velo", now=NOW)
        _row, token = create_token(s, "velo", name="gbfs", actor="test")
    url = f"/gbfs/{version}/geofencing_zones.json"
    public = app_with(db_url, engine, "public").test_client()
    response = public.get(url)
    assert response.status_code == 200 and response.mimetype == "application/json"
    city = orjson.loads(response.data)
    assert gbfs_errors(city, version) == []
    velo = orjson.loads(public.get(url, headers={"Authorization": f"Bearer {token}"}).data)
    assert gbfs_errors(velo, version) == []
    count = len(city["data"]["geofencing_zones"]["features"])
    assert len(velo["data"]["geofencing_zones"]["features"]) == count + 1  # its world zone
    etag = response.headers["ETag"]
    assert public.get(url, headers={"If-None-Match": etag}).status_code == 304
    protected = app_with(db_url, engine, "token").test_client()
    assert protected.get(url).status_code == 401


def test_access_setting_is_checked() -> None:
    from fleet_monitor.settings import ConfigError, settings_from_dict

    assert settings_from_dict({}, env={}).mds.access == "public"
    assert settings_from_dict({"mds": {"access": "token"}}, env={}).mds.access == "token"
    with pytest.raises(ConfigError, match=r"mds\.access"):
        settings_from_dict({"mds": {"access": "open"}}, env={})
    with pytest.raises(ConfigError, match=r"mds\.acess"):
        settings_from_dict({"mds": {"acess": "token"}}, env={})
