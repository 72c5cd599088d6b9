"""Every file the simulator serves validates against the official schema of its version."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from gbfs_simulator import FeedService, SimConfig, Simulation
from gbfs_simulator.config import SUPPORTED_VERSIONS

from .conftest import BASE, START, feed_path, schema_errors, solo, vehicles_of


def served_documents(sim: Simulation) -> list[tuple[str, str, str | None, object]]:
    service = FeedService(sim, BASE)
    out = []
    for slug, op in sim.ops.items():
        langs = op.cfg.languages if op.cfg.vtuple < (3, 0) else (None,)
        for feed in service.renderer.served_names(slug):
            for lang in langs:
                resp = service.handle("GET", feed_path(sim, slug, feed, lang))
                assert resp.status == 200, (slug, feed)
                out.append((op.cfg.version, feed, lang, orjson.loads(resp.body)))
    return out


def test_demo_operators_serve_schema_valid_files(day_sim: Simulation) -> None:
    docs = served_documents(day_sim)
    feeds = {(v, f) for v, f, _, _ in docs}
    # the three demo operators and what each publishes
    assert ("1.1", "free_bike_status") in feeds and ("1.1", "gbfs_versions") in feeds
    assert {
        ("2.3", "vehicle_types"),
        ("2.3", "geofencing_zones"),
        ("2.3", "system_pricing_plans"),
    } <= feeds
    assert {
        ("3.0", "vehicle_status"),
        ("3.0", "manifest"),
        ("3.0", "station_status"),
        ("3.0", "station_information"),
    } <= feeds
    for version, feed, lang, doc in docs:
        assert schema_errors(version, feed, doc) == [], (version, feed, lang)


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_every_supported_version_is_schema_valid(version: str) -> None:
    sim = Simulation(SimConfig((solo(version),)), seed=2, start=START)
    sim.advance_to(START + timedelta(hours=4))
    docs = served_documents(sim)
    vehicle_feed = "vehicle_status" if version == "3.0" else "free_bike_status"
    assert any(f == vehicle_feed and vehicles_of(d) for _, f, _, d in docs)
    for _, feed, lang, doc in docs:
        assert schema_errors(version, feed, doc) == [], (version, feed, lang)


def test_the_validation_would_catch_a_broken_file(day_sim: Simulation) -> None:
    """Negative controls: the schemas and formats really are checked."""
    service = FeedService(day_sim, BASE)
    doc = orjson.loads(service.handle("GET", "/lacbike/vehicle_status.json").body)
    doc["data"]["vehicles"][0]["lat"] = "45.9"
    assert schema_errors("3.0", "vehicle_status", doc)
    doc = orjson.loads(service.handle("GET", "/lacbike/vehicle_status.json").body)
    doc["last_updated"] = "yesterday"
    assert schema_errors("3.0", "vehicle_status", doc)
    doc = orjson.loads(service.handle("GET", "/trotti/fr/free_bike_status.json").body)
    doc["last_updated"] = "1748840000"
    assert schema_errors("2.3", "free_bike_status", doc)


def test_versions_use_their_own_vocabulary(day_sim: Simulation) -> None:
    service = FeedService(day_sim, BASE)
    v11 = orjson.loads(service.handle("GET", "/velomax/fr/free_bike_status.json").body)
    bike = v11["data"]["bikes"][0]
    assert bike["is_reserved"] in (0, 1) and not isinstance(bike["is_reserved"], bool)
    assert isinstance(v11["last_updated"], int) and v11["version"] == "1.1"
    v23 = orjson.loads(service.handle("GET", "/trotti/en/free_bike_status.json").body)
    bike = v23["data"]["bikes"][0]
    assert isinstance(bike["is_disabled"], bool) and isinstance(bike["last_reported"], int)
    assert 0 <= bike["current_fuel_percent"] <= 1 and bike["vehicle_type_id"]
    v30 = orjson.loads(service.handle("GET", "/lacbike/vehicle_status.json").body)
    assert isinstance(v30["last_updated"], str) and v30["last_updated"].endswith("+02:00")
    assert "vehicle_id" in v30["data"]["vehicles"][0]
    gbfs3 = orjson.loads(service.handle("GET", "/lacbike/gbfs.json").body)
    assert isinstance(gbfs3["data"]["feeds"], list)
    gbfs1 = orjson.loads(service.handle("GET", "/velomax/gbfs.json").body)
    assert set(gbfs1["data"]) == {"fr", "en"}
    en_urls = [f["url"] for f in gbfs1["data"]["en"]["feeds"]]
    assert f"{BASE}/velomax/en/free_bike_status.json" in en_urls
    si_fr = orjson.loads(service.handle("GET", "/velomax/fr/system_pricing_plans.json").body)
    si_en = orjson.loads(service.handle("GET", "/velomax/en/system_pricing_plans.json").body)
    assert si_fr["data"]["plans"][0]["description"] != si_en["data"]["plans"][0]["description"]
