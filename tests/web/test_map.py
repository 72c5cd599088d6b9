"""The live map page: made by folium, local assets only, CSP nonces, legend, zones."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import folium
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from fleet_monitor.web import create_app
from fleet_monitor.web.security import add_nonce, content_security_policy, tile_origin
from tests.web.conftest import (
    T0,
    TILE_URL,
    Fleet,
    add_zone,
    make_app,
    make_settings,
    signed_in,
    vehicles,
)

URL_RE = re.compile(r"""https?://[^\s"'<>)]+""")
ASSET_RE = re.compile(r"""(?:src|href)="([^"]+)\"""")
SQUARE = "POLYGON((6.12 45.89, 6.14 45.89, 6.14 45.91, 6.12 45.91, 6.12 45.89))"


def page_config(html: str, element_id: str = "fm-config") -> dict:  # type: ignore[type-arg]
    match = re.search(
        rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S
    )
    assert match
    return json.loads(match.group(1))


def inline_scripts(html: str) -> list[str]:
    """The executable inline scripts of a page (not JSON blocks, not src=)."""
    return [
        body
        for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
        if "src=" not in attrs and "application/json" not in attrs
    ]


class Tags(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def test_map_page_uses_only_local_assets(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # the only absolute URL in the page is the configured tile server, once (folium's layer)
    assert URL_RE.findall(html) == [TILE_URL]
    for cdn in ("cdn", "jsdelivr", "cloudflare", "bootstrap", "jquery", "font-awesome"):
        assert cdn not in html.lower(), cdn
    assets = ASSET_RE.findall(html)
    for asset in assets:
        assert asset.startswith(("/", "?")), asset
    scripts = [a["src"] for t, a in tags_of(html) if t == "script" and a.get("src")]
    assert scripts == [
        "/static/vendor/leaflet/leaflet.js",
        "/static/js/leaflet-setup.js",
        "/static/js/map-layers.js",
        "/static/js/map-shapes.js",
        "/static/js/map.js",
        "/static/js/map-density.js",
        "/static/js/map-list.js",
        "/static/js/map-time.js",
        "/static/js/basemap.js",
    ]
    styles = [a["href"] for t, a in tags_of(html) if t == "link" and a.get("rel") == "stylesheet"]
    assert styles == [
        "/static/vendor/leaflet/leaflet.css",
        "/static/css/app.css",
        "/static/css/map.css",
        "/static/css/basemap.css",
    ]
    leaflet = client.get("/static/vendor/leaflet/leaflet.js")
    assert leaflet.status_code == 200
    assert b"Leaflet 1.9.4" in leaflet.data[:200]
    leaflet.close()
    for path in (
        *styles,
        *scripts,
        "/static/vendor/leaflet/images/layers.png",
        "/static/vendor/leaflet/LICENSE",
        "/static/img/locate.svg",
    ):
        asset = client.get(path)
        assert asset.status_code == 200, path
        asset.close()


def test_map_is_generated_by_folium(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    config = page_config(html)
    var = config["mapVar"]
    assert re.fullmatch(r"map_[0-9a-f]{32}", var)
    assert f'<div class="folium-map" id="{var}"' in html
    assert f'var {var} = L.map(\n                "{var}"' in html
    assert '"preferCanvas": true' in html
    assert f"L.control.scale({{imperial: false, maxWidth: 160}}).addTo({var})" in html
    assert f'L.tileLayer(\n                "{TILE_URL}"' in html
    # a new map (and name) per page
    assert page_config(client.get("/").get_data(as_text=True))["mapVar"] != var
    # folium's own CDN defaults were overridden on the instance, not changed for everyone
    assert folium.Map.default_js[0][1].startswith("https://cdn.jsdelivr.net/")


def test_every_inline_script_and_style_carries_the_request_nonce(client: FlaskClient) -> None:
    response = client.get("/")
    html = response.get_data(as_text=True)
    csp = response.headers["Content-Security-Policy"]
    nonce = re.search(r"script-src 'self' 'nonce-([A-Za-z0-9_-]+)';", csp)
    assert nonce, csp
    assert f"style-src 'self' 'nonce-{nonce.group(1)}';" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    tags = tags_of(html)
    scripts = [a for t, a in tags if t in ("script", "style")]
    assert len(scripts) >= 8  # folium's inline scripts and styles, ours
    for attrs in scripts:
        if attrs.get("type") == "application/json":  # data, never executed: no nonce
            assert "nonce" not in attrs, attrs
        else:
            assert attrs.get("nonce") == nonce.group(1), attrs
    for tag, attrs in tags:  # no inline handler or style attribute for the CSP to block
        assert "style" not in attrs, (tag, attrs)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
    again = client.get("/")
    assert nonce.group(1) not in again.headers["Content-Security-Policy"]
    again.close()


def test_add_nonce() -> None:
    html = (
        '<script>a</script><SCRIPT src="/x.js"></SCRIPT><style>b</style><script nonce="k">c'
        '<script type="application/json" id="d">{}</script>'
    )
    out = add_nonce(html, "N")
    assert out == (
        '<script nonce="N">a</script><SCRIPT nonce="N" src="/x.js"></SCRIPT>'
        '<style nonce="N">b</style><script nonce="k">c'
        '<script type="application/json" id="d">{}</script>'
    )


def test_map_page_config_for_the_script(client: FlaskClient) -> None:
    config = page_config(client.get("/").get_data(as_text=True))
    assert config["vehiclesUrl"] == "/api/vehicles"
    assert config["refreshSeconds"] == 30
    assert config["timezone"] == "Europe/Paris"
    assert config["locale"] == "fr-FR"
    assert config["operator"] is None
    assert config["messages"]["parked_since"] == "Garé depuis"
    assert config["messages"]["locate"] == "Me localiser"
    assert config["csrfToken"]


def test_map_without_tiles_has_no_external_url_at_all(db_url: str, engine: Engine) -> None:
    app = make_app(db_url, engine, tile_url="")
    client = signed_in(app, engine, "o@annecy.example", "officer")
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert URL_RE.findall(html) == []
    assert "L.tileLayer" not in html
    assert "Aucun fond de carte configuré" in html
    assert "img-src 'self' data:;" in response.headers["Content-Security-Policy"]


def test_legend_lists_operators_with_distinct_colours(client: FlaskClient, engine: Engine) -> None:
    Fleet(engine, "velo-lac", "Vélo Lac").poll(vehicles(2, "L"), T0)
    Fleet(engine, "trott", "Trott").poll(vehicles(2, "T"), T0)
    html = client.get("/").get_data(as_text=True)
    assert "Vélo Lac" in html and "Trott" in html
    config = page_config(html)
    assert set(config["colours"]) == {"velo-lac", "trott"}
    assert len(set(config["colours"].values())) == 2
    assert config["names"] == {"velo-lac": "Vélo Lac", "trott": "Trott"}
    for state in ("disponible", "réservé", "hors service"):
        assert state in html
    assert 'id="fm-min-days"' in html  # parked longer than N days
    assert html.count("data-state=") == 3


def test_operator_parameter_narrows_the_legend(client: FlaskClient, engine: Engine) -> None:
    Fleet(engine, "velo-lac", "Vélo Lac").poll(vehicles(1, "L"), T0)
    Fleet(engine, "trott", "Trott").poll(vehicles(1, "T"), T0)
    html = client.get("/?operator=trott").get_data(as_text=True)
    assert page_config(html)["operator"] == "trott"
    assert 'data-operator="trott"' in html and 'data-operator="velo-lac"' not in html


def test_security_headers(client: FlaskClient) -> None:
    for path in ("/", "/account", "/api/vehicles", "/api/health", "/static/js/map.js", "/login"):
        response = client.get(path)
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "object-src 'none'" in csp
        assert "img-src 'self' data: https://*.tile.openstreetmap.org;" in csp
        if path != "/":
            assert "script-src 'self';" in csp and "style-src 'self';" in csp, path
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert headers["X-Frame-Options"] == "DENY"
        if path.startswith("/static"):
            assert headers.get("Cache-Control") != "no-store", path
        else:
            assert headers["Cache-Control"] == "no-store", path
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


# --------------------------------------------------------------------------- zones


def test_no_zones_no_zone_layers(client: FlaskClient, engine: Engine) -> None:
    with engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM zone").scalar() == 0
    html = client.get("/").get_data(as_text=True)
    assert "L.control.layers" not in html and "L.geoJson" not in html
    assert page_config(html, "fm-map-data")["zones"] == []


def test_zones_are_toggleable_layers_by_kind(client: FlaskClient, engine: Engine) -> None:
    add_zone(engine, "water", "Lac d'Annecy", SQUARE)
    add_zone(engine, "no_parking", "Pâquier", SQUARE)
    add_zone(engine, "no_parking", "Quai <b>Vicaire</b></script><script>alert(1)</script>", SQUARE)
    add_zone(engine, "district", "Vieille ville", SQUARE)
    past = datetime.now(UTC) - timedelta(days=1)
    add_zone(engine, "pedestrian", "Expired rue Royale", SQUARE, effective_to=past)
    html = client.get("/").get_data(as_text=True)
    data = page_config(html, "fm-map-data")
    assert data["zoneControl"] is True
    layers = [(z["kind"], z["label"], z["count"], z["shown"], z["css"]) for z in data["zones"]]
    assert layers == [  # one layer per kind in force, districts hidden at first
        ("district", "Quartiers", 1, False, "district"),
        ("no_parking", "Stationnement interdit", 2, True, "no_parking"),
        ("water", "Plans d’eau", 1, True, "water"),
    ]
    names = [f["properties"]["label"] for z in data["zones"] for f in z["features"]]
    assert "Quai <b>Vicaire</b></script><script>alert(1)</script>" in names
    assert "Vieille ville" in names and "Expired rue Royale" not in names
    assert URL_RE.findall(html) == [TILE_URL]  # no folium plugin brought a CDN along
    # zone names are data in a JSON block (escaped), never in a script
    assert "</script><script>alert(1)" not in html
    assert "Quai \\u003cb\\u003eVicaire" in html
    for script in inline_scripts(html):
        assert "Vicaire" not in script and "Vieille" not in script and "Pâquier" not in script
    assert "L.geoJson" not in html and "L.control.layers" not in html


def test_operator_specific_zones_are_hidden_from_other_operators(
    app: Flask, engine: Engine
) -> None:
    lac = Fleet(engine, "velo-lac", "Vélo Lac")
    trott = Fleet(engine, "trott", "Trott")
    add_zone(engine, "no_parking", "For everyone", SQUARE)
    add_zone(engine, "mandatory_parking", "Trott only", SQUARE, operator="trott")
    own = signed_in(app, engine, "staff@trott.example", "operator", "trott")
    other = signed_in(app, engine, "staff@lac.example", "operator", "velo-lac")
    staff = signed_in(app, engine, "officer@annecy.example", "officer")
    assert lac.operator_id != trott.operator_id
    for client, sees in ((own, True), (other, False), (staff, True)):
        html = client.get("/").get_data(as_text=True)
        assert "For everyone" in html
        assert ("Trott only" in html) is sees


def test_language_switch_is_remembered(client: FlaskClient) -> None:
    fr = client.get("/").get_data(as_text=True)
    assert '<html lang="fr">' in fr
    assert "Carte des véhicules en libre-service" in fr and "Légende et filtres" in fr
    assert 'href="/?lang=en"' in fr

    en = client.get("/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in en
    assert "Shared vehicles map" in en and "Legend and filters" in en and "Légende" not in en
    assert page_config(en)["messages"]["parked_since"] == "Parked since"
    assert page_config(en)["locale"] == "en-GB"
    assert 'href="/?lang=fr"' in en

    # remembered in the session, without the parameter, on every page
    assert "Shared vehicles map" in client.get("/").get_data(as_text=True)
    assert "Change my password" in client.get("/account").get_data(as_text=True)
    assert "Légende" in client.get("/?lang=fr").get_data(as_text=True)
    # an unknown language changes nothing
    assert "Légende" in client.get("/?lang=de").get_data(as_text=True)
    # the switch keeps the page's other parameters
    assert 'href="/?operator=trott&amp;lang=en"' in client.get("/?operator=trott").get_data(
        as_text=True
    )


def test_default_language_comes_from_the_city_locale(db_url: str, engine: Engine) -> None:
    app = make_app(db_url, engine, locale="en")
    client = signed_in(app, engine, "o@annecy.example", "officer")
    assert "Shared vehicles map" in client.get("/").get_data(as_text=True)
    assert "Sign in" in app.test_client().get("/login").get_data(as_text=True)


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
