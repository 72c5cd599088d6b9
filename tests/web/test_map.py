"""The live map page: local assets only, legend, language switch, security headers."""

from __future__ import annotations

import json
import logging
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from fleet_monitor.web import create_app
from fleet_monitor.web.security import content_security_policy, tile_origin
from tests.web.conftest import T0, TILE_URL, Fleet, make_settings, vehicles

URL_RE = re.compile(r"""https?://[^\s"'<>)]+""")
ASSET_RE = re.compile(r"""(?:src|href)="([^"]+)\"""")


def page_config(html: str) -> dict:  # type: ignore[type-arg]
    match = re.search(r'<script type="application/json" id="fm-config">(.*?)</script>', html, re.S)
    assert match
    return json.loads(match.group(1))


def test_map_page_uses_only_local_assets(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # the only absolute URL in the page is the configured tile server
    assert URL_RE.findall(html) == [TILE_URL]
    assert "cdn" not in html.lower()
    assets = ASSET_RE.findall(html)
    assert assets, "no asset found in the page"
    for asset in assets:
        assert asset.startswith(("/", "?")), asset
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts == ["/static/vendor/leaflet/leaflet.js", "/static/js/map.js"]
    assert "/static/vendor/leaflet/leaflet.css" in assets

    leaflet = client.get("/static/vendor/leaflet/leaflet.js")
    assert leaflet.status_code == 200
    assert b"Leaflet 1.9.4" in leaflet.data[:200]
    leaflet.close()
    for path in (
        "/static/vendor/leaflet/leaflet.css",
        "/static/vendor/leaflet/images/layers.png",
        "/static/vendor/leaflet/LICENSE",
        "/static/js/map.js",
        "/static/css/map.css",
    ):
        asset = client.get(path)
        assert asset.status_code == 200, path
        asset.close()


def test_map_page_config_for_the_script(client: FlaskClient) -> None:
    config = page_config(client.get("/").get_data(as_text=True))
    assert config["vehiclesUrl"] == "/api/vehicles"
    assert config["tileUrl"] == TILE_URL
    assert config["refreshSeconds"] == 30
    assert config["timezone"] == "Europe/Paris"
    assert config["center"] == pytest.approx([45.8992, 6.1294])
    assert config["messages"]["parked_since"] == "Garé depuis"


def test_map_without_tiles_has_no_external_url_at_all(db_url: str, engine: Engine) -> None:
    app = create_app(make_settings(db_url, tile_url=""), engine=engine)
    response = app.test_client().get("/")
    html = response.get_data(as_text=True)
    assert URL_RE.findall(html) == []
    assert page_config(html)["tileUrl"] == ""
    assert "Aucun fond de carte configuré" in html
    assert "img-src 'self' data:;" in response.headers["Content-Security-Policy"]


def test_legend_lists_operators_with_distinct_colours(client: FlaskClient, engine: Engine) -> None:
    Fleet(engine, "velo-lac", "Vélo Lac").poll(vehicles(2, "L"), T0)
    Fleet(engine, "trott", "Trott").poll(vehicles(2, "T"), T0)
    html = client.get("/").get_data(as_text=True)
    assert "Vélo Lac" in html and "Trott" in html
    colours = page_config(html)["colours"]
    assert set(colours) == {"velo-lac", "trott"}
    assert len(set(colours.values())) == 2
    assert page_config(html)["names"] == {"velo-lac": "Vélo Lac", "trott": "Trott"}
    for state in ("disponible", "réservé", "hors service"):
        assert state in html


def test_security_headers(client: FlaskClient) -> None:
    for path in ("/", "/api/vehicles", "/api/health", "/static/js/map.js"):
        response = client.get(path)
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'self';" in csp
        assert "frame-ancestors 'none'" in csp
        assert "img-src 'self' data: https://*.tile.openstreetmap.org;" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert headers["X-Frame-Options"] == "DENY"
        response.close()


@pytest.mark.parametrize(
    ("tile_url", "origin"),
    [
        ("", None),
        ("https://tiles.example.org/{z}/{x}/{y}.png", "https://tiles.example.org"),
        ("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", "https://*.tile.openstreetmap.org"),
        ("http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png", "http://127.0.0.1:8080"),
        ("/tiles/{z}/{x}/{y}.png", None),
        ("https://{tenant}.example.org/{z}/{x}/{y}.png", None),
    ],
)
def test_tile_origin(tile_url: str, origin: str | None) -> None:
    assert tile_origin(tile_url) == origin
    if origin:
        assert f"img-src 'self' data: {origin};" in content_security_policy(tile_url)


def test_language_switch_is_remembered(client: FlaskClient) -> None:
    fr = client.get("/").get_data(as_text=True)
    assert '<html lang="fr">' in fr
    assert "Carte des véhicules en libre-service" in fr and "Légende" in fr

    en = client.get("/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in en
    assert "Shared vehicles map" in en and "Legend" in en and "Légende" not in en
    assert page_config(en)["messages"]["parked_since"] == "Parked since"
    assert page_config(en)["locale"] == "en-GB"

    # remembered in the session, without the parameter
    assert "Shared vehicles map" in client.get("/").get_data(as_text=True)
    assert "Légende" in client.get("/?lang=fr").get_data(as_text=True)
    # an unknown language changes nothing
    assert "Légende" in client.get("/?lang=de").get_data(as_text=True)


def test_default_language_comes_from_the_city_locale(db_url: str, engine: Engine) -> None:
    app = create_app(make_settings(db_url, locale="en"), engine=engine)
    assert "Shared vehicles map" in app.test_client().get("/").get_data(as_text=True)


def test_secret_key_from_settings(app: Flask) -> None:
    assert app.secret_key == "test-secret-key"


def test_random_secret_key_with_a_warning(
    db_url: str, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(db_url)
    settings = type(settings)(database_url=db_url)  # no web.secret_key
    with caplog.at_level(logging.WARNING, logger="fleet_monitor.web"):
        first = create_app(settings, engine=engine)
        second = create_app(settings, engine=engine)
    assert first.secret_key and len(str(first.secret_key)) >= 32
    assert first.secret_key != second.secret_key
    assert "secret_key" in caplog.text
