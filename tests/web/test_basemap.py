"""The base map: settings, local MBTiles tiles, the street layer, the CSP, the address API."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fleet_monitor.addresses_import import import_addresses
from fleet_monitor.settings import ConfigError, settings_from_dict
from fleet_monitor.web.security import content_security_policy
from tests.web.conftest import make_app, signed_in
from tests.web.mbtiles import lonlat_to_tile, png, tile_colour, write_mbtiles

BOUNDS = (6.10, 45.88, 6.16, 45.92)
IGN_WMTS = (
    "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2&STYLE=normal&TILEMATRIXSET=PM"
    "&FORMAT=image/png&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"
)


@pytest.fixture(scope="module")
def mbtiles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiles") / "annecy.mbtiles"
    write_mbtiles(path, BOUNDS, range(12, 16))
    return path


def web_settings(tmp_path: Path, **web: object) -> object:
    return settings_from_dict({"web": web}, env={}, base_dir=tmp_path)


def test_settings_check_the_base_map(tmp_path: Path, mbtiles: Path) -> None:
    ok = settings_from_dict({"web": {"tile_url": IGN_WMTS}}, env={})
    assert ok.web.tile_url == IGN_WMTS
    local = settings_from_dict(
        {"web": {"basemap_mbtiles": mbtiles.name}}, env={}, base_dir=mbtiles.parent
    )
    assert local.web.basemap_mbtiles == str(mbtiles)  # relative to the config file
    bad = {
        "https://tiles.example.org/{z}/{x}.png": "web.tile_url",  # no {y}
        "ftp://tiles.example.org/{z}/{x}/{y}.png": "web.tile_url",
        "https://user:pw@tiles.example.org/{z}/{x}/{y}.png": "web.tile_url",
        "https://{z}.example.org/{z}/{x}/{y}.png": "web.tile_url",
    }
    for url, key in bad.items():
        with pytest.raises(ConfigError) as err:
            settings_from_dict({"web": {"tile_url": url}}, env={})
        assert err.value.key == key, url
    cases = [
        ({"tile_url": IGN_WMTS, "basemap_mbtiles": str(mbtiles)}, "web.basemap_mbtiles"),
        ({"basemap_mbtiles": str(tmp_path / "missing.mbtiles")}, "web.basemap_mbtiles"),
        ({"tile_max_zoom": 30}, "web.tile_max_zoom"),
        ({"tile_attribution": "a\nb"}, "web.tile_attribution"),
    ]
    for table, key in cases:
        with pytest.raises(ConfigError) as err:
            settings_from_dict({"web": table}, env={})
        assert err.value.key == key, table
    with pytest.raises(ConfigError) as err:
        settings_from_dict({"addresses": {"max_distance_m": 0}}, env={})
    assert err.value.key == "addresses.max_distance_m"


def test_a_wrong_mbtiles_file_is_explained_at_start(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    text_file = tmp_path / "tiles.mbtiles"
    text_file.write_text("not a database")
    with pytest.raises(ConfigError, match="not an SQLite database"):
        make_app(db_url, engine, tile_url="", basemap_mbtiles=str(text_file))
    vector = tmp_path / "vector.mbtiles"
    write_mbtiles(vector, BOUNDS, range(12, 13), fmt="pbf")
    with pytest.raises(ConfigError, match="not a raster format"):
        make_app(db_url, engine, tile_url="", basemap_mbtiles=str(vector))
    empty = tmp_path / "empty.mbtiles"
    with sqlite3.connect(empty) as conn:
        conn.execute("CREATE TABLE metadata (name text, value text)")
    with pytest.raises(ConfigError, match="not an MBTiles file"):
        make_app(db_url, engine, tile_url="", basemap_mbtiles=str(empty))


def test_local_tiles_are_served_flipped_checked_and_cached(
    db_url: str, engine: Engine, mbtiles: Path
) -> None:
    app: Flask = make_app(db_url, engine, tile_url="", basemap_mbtiles=str(mbtiles))
    anon = app.test_client()
    x, y = lonlat_to_tile(6.1294, 45.8992, 14)
    assert anon.get(f"/basemap/tiles/14/{x}/{y}").status_code in (302, 401)  # sign-in first
    client = signed_in(app, engine, "officer@annecy.example", "officer")
    response = client.get(f"/basemap/tiles/14/{x}/{y}")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    # the tile stored at TMS row 2^z-1-y is the one of XYZ row y
    assert response.data == png(tile_colour(14, x, y))
    assert response.headers["Cache-Control"] == "private, max-age=86400"
    etag = response.headers["ETag"]
    again = client.get(f"/basemap/tiles/14/{x}/{y}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    for path in (
        f"/basemap/tiles/11/{x // 8}/{y // 8}",  # below the file's zooms
        f"/basemap/tiles/14/{x}/{(1 << 14) - 1 - y}",  # the unflipped row: no tile there
        "/basemap/tiles/14/16384/0",  # x >= 2^z
        "/basemap/tiles/23/0/0",
        "/basemap/tiles/-1/0/0",
        "/basemap/tiles/14/1.5/2",
        "/basemap/tiles/14/0/0;DROP",
        "/basemap/tiles/99999999999999999999999/0/0",
    ):
        assert client.get(path).status_code == 404, path
    # the map page draws them, with the file's attribution and zoom range
    page = client.get("/").get_data(as_text=True)
    assert "/basemap/tiles/{z}/{x}/{y}" in page
    assert "Test tiles \\u00a9 City of Annecy" in page or "Test tiles © City of Annecy" in page
    assert '"maxNativeZoom": 15' in page
    assert "fm-no-tiles" not in page
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "img-src 'self' data:;" in csp  # local tiles: nothing more


def test_remote_tiles_xyz_and_wmts_are_allowed_by_the_csp() -> None:
    assert "img-src 'self' data: https://data.geopf.fr;" in content_security_policy(IGN_WMTS)
    osm = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in content_security_policy(osm)


def test_remote_tile_attribution(db_url: str, engine: Engine) -> None:
    app = make_app(db_url, engine, tile_url=IGN_WMTS)
    client = signed_in(app, engine, "officer@annecy.example", "officer")
    page = client.get("/").get_data(as_text=True)
    assert "IGN G\\u00e9oplateforme" in page or "IGN Géoplateforme" in page
    assert "TILEMATRIX={z}\\u0026TILEROW={y}" in page or "TILEMATRIX={z}&TILEROW={y}" in page


def test_street_layer_and_address_api(db_url: str, engine: Engine, tmp_path: Path) -> None:
    streets = tmp_path / "streets.geojson"
    streets.write_bytes(
        orjson.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "Rue Royale"},
                        "geometry": {
                            "type": "LineString",
                            "coordinates": [[6.12, 45.9], [6.13, 45.9]],
                        },
                    },
                    {  # not a line: left out
                        "type": "Feature",
                        "properties": {"name": "x"},
                        "geometry": {"type": "Point", "coordinates": [6.12, 45.9]},
                    },
                    {  # a hostile name: sent as an empty label
                        "type": "Feature",
                        "properties": {"name": "Rue\u202e<img src=x>"},
                        "geometry": {
                            "type": "LineString",
                            "coordinates": [[6.12, 45.91], [6.13, 45.91]],
                        },
                    },
                    {  # a coordinate out of range: left out
                        "type": "Feature",
                        "properties": {"name": "Rue du Pôle"},
                        "geometry": {
                            "type": "LineString",
                            "coordinates": [[6.12, 45.91], [6.13, 95]],
                        },
                    },
                ],
            }
        )
    )
    ban = tmp_path / "adresses-74.csv"
    ban.write_text(
        "id;numero;rep;nom_voie;code_postal;code_insee;nom_commune;"
        "code_insee_ancienne_commune;nom_ancienne_commune;lon;lat\n"
        "74010_0500_00003;3;;Rue Royale;74000;74010;Annecy;74010;Annecy;6.1250;45.90005\n",
        encoding="utf-8",
    )
    with Session(engine) as s, s.begin():
        import_addresses(s, ban)
    app = make_app(db_url, engine, tile_url="", basemap_streets=str(streets))
    client = signed_in(app, engine, "officer@annecy.example", "officer")
    layer = client.get("/basemap/streets.json")
    assert layer.status_code == 200 and layer.headers["Cache-Control"].startswith("private")
    names = [f["properties"]["name"] for f in layer.get_json()["features"]]
    assert names == ["Rue Royale", ""]  # the point and the out-of-range line are left out
    page = client.get("/").get_data(as_text=True)
    assert '"streetsUrl":"/basemap/streets.json"' in page.replace(" ", "")
    answer = client.get("/api/address?lat=45.9&lon=6.125").get_json()
    assert answer["address"]["label"] == "3 Rue Royale, 74000 Annecy"
    assert answer["address"]["distance_m"] == 6  # 0.00005 degree of latitude: 5.6 m
    far = client.get("/api/address?lat=45.95&lon=6.125").get_json()
    assert far == {"address": None, "max_distance_m": 60.0}
    for query in ("lat=95&lon=6", "lat=nan&lon=6", "lat=45.9", "lat=1e400&lon=6", "lat=x&lon=y"):
        response = client.get(f"/api/address?{query}")
        assert response.status_code == 400, query
    # pages stay uncached; only tiles and streets are kept
    assert client.get("/api/address?lat=45.9&lon=6.125").headers["Cache-Control"] == "no-store"


def test_the_local_base_map_is_public_only_when_configured(
    db_url: str, engine: Engine, mbtiles: Path
) -> None:
    """``[web] basemap_public``: the residents' public page can draw the local base map;
    by default its tiles need sign-in (an MBTiles file may hold licensed data)."""
    x, y = lonlat_to_tile(6.1294, 45.8992, 14)
    tile = f"/basemap/tiles/14/{x}/{y}"
    private = make_app(db_url, engine, tile_url="", basemap_mbtiles=str(mbtiles)).test_client()
    assert private.get(tile).status_code in (302, 401)
    app = make_app(db_url, engine, tile_url="", basemap_mbtiles=str(mbtiles), basemap_public=True)
    public = app.test_client()
    response = public.get(tile)
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert public.get("/").status_code == 302  # the rest still needs sign-in
