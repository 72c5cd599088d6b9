"""Faults on demand (config and admin API, in-process): each kind, scope and duration."""

from __future__ import annotations

from datetime import datetime, timedelta

import orjson
import pytest

from gbfs_simulator import Fault, FeedService, SimConfig, Simulation

from .conftest import BASE, START, feed_path, schema_errors, small_config, vehicles_of, vid

TOKEN = {"Authorization": "Bearer s3cret"}


@pytest.fixture
def service() -> FeedService:
    sim = Simulation(small_config(200, cases=False), seed=3, start=START)
    sim.advance_to(START + timedelta(hours=3))
    return FeedService(sim, BASE, admin_token="s3cret")


def post(service: FeedService, fault: dict, headers: dict | None = None):
    return service.handle(
        "POST", "/admin/faults", headers if headers is not None else TOKEN, orjson.dumps(fault)
    )


def get(service: FeedService, slug: str, feed: str, lang: str | None = None):
    return service.handle("GET", feed_path(service.sim, slug, feed, lang))


def test_admin_requires_the_token(service: FeedService) -> None:
    fault = {"kind": "http_error", "operator": "trotti"}
    assert post(service, fault, {}).status == 401
    assert post(service, fault, {"Authorization": "Bearer nope"}).status == 401
    assert post(service, fault, {"X-Admin-Token": "s3cret"}).status == 201
    assert service.handle("GET", "/admin/faults", {}).status == 401


@pytest.mark.parametrize("status", [500, 503, 429, 401, 404])
def test_http_error(service: FeedService, status: int) -> None:
    assert (
        post(service, {"kind": "http_error", "operator": "trotti", "status": status}).status == 201
    )
    resp = get(service, "trotti", "free_bike_status")
    assert resp.status == status
    assert ("Retry-After" in resp.headers) == (status == 429)
    assert get(service, "trotti", "gbfs").status == status  # no feed scope: every file
    assert get(service, "velomax", "free_bike_status").status == 200


def test_feed_scope_and_duration(service: FeedService) -> None:
    resp = post(
        service,
        {
            "kind": "http_error",
            "operator": "lacbike",
            "feeds": ["vehicle_status"],
            "duration_s": 600,
        },
    )
    body = orjson.loads(resp.body)
    assert resp.status == 201 and body["end"] is not None
    assert get(service, "lacbike", "vehicle_status").status == 503
    assert get(service, "lacbike", "station_status").status == 200
    service.sim.advance(timedelta(minutes=9))
    assert get(service, "lacbike", "vehicle_status").status == 503
    service.sim.advance(timedelta(minutes=2))
    assert get(service, "lacbike", "vehicle_status").status == 200


def test_timeout_delays_the_answer(service: FeedService) -> None:
    post(service, {"kind": "timeout", "operator": "velomax", "delay_s": 12.5})
    resp = get(service, "velomax", "free_bike_status")
    assert resp.delay_s == 12.5 and resp.status == 200


def test_empty_vehicle_list_is_still_valid_gbfs(service: FeedService) -> None:
    post(service, {"kind": "empty", "operator": "trotti"})
    doc = orjson.loads(get(service, "trotti", "free_bike_status").body)
    assert doc["data"]["bikes"] == []
    assert schema_errors("2.3", "free_bike_status", doc) == []
    info = orjson.loads(get(service, "trotti", "system_information").body)
    assert info["data"]["system_id"]  # other files untouched


def test_stale_last_updated(service: FeedService) -> None:
    post(service, {"kind": "stale", "stale_by_s": 7200})
    now = service.sim.state_time
    v23 = orjson.loads(get(service, "trotti", "free_bike_status").body)
    assert v23["last_updated"] == int(now.timestamp()) - 7200
    v30 = orjson.loads(get(service, "lacbike", "vehicle_status").body)
    assert datetime.fromisoformat(v30["last_updated"]) == now - timedelta(hours=2)
    assert schema_errors("3.0", "vehicle_status", v30) == []


@pytest.mark.parametrize("mode", ["truncate", "garbage", "html"])
def test_malformed_json(service: FeedService, mode: str) -> None:
    post(service, {"kind": "malformed", "operator": "velomax", "mode": mode})
    resp = get(service, "velomax", "free_bike_status")
    assert resp.status == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(resp.body)
    assert resp.headers["Content-Type"].startswith(
        "text/html" if mode == "html" else "application/json"
    )


def test_wrong_types(service: FeedService) -> None:
    post(service, {"kind": "wrong_types", "operator": "trotti"})
    doc = orjson.loads(get(service, "trotti", "free_bike_status").body)
    bike = doc["data"]["bikes"][0]
    assert isinstance(bike["lat"], str) and float(bike["lat"])
    assert bike["is_reserved"] in (0, 1) and not isinstance(bike["is_reserved"], bool)
    assert isinstance(doc["last_updated"], str)
    assert schema_errors("2.3", "free_bike_status", doc)  # deliberately invalid


def test_reshuffle_changes_every_id_once(service: FeedService) -> None:
    before = vehicles_of(orjson.loads(get(service, "trotti", "free_bike_status").body))
    assert post(service, {"kind": "reshuffle", "operator": "trotti"}).status == 201
    after = vehicles_of(orjson.loads(get(service, "trotti", "free_bike_status").body))
    again = vehicles_of(orjson.loads(get(service, "trotti", "free_bike_status").body))
    assert [(v["lat"], v["lon"]) for v in before] == [(v["lat"], v["lon"]) for v in after]
    assert not {vid(v) for v in before} & {vid(v) for v in after}
    assert [vid(v) for v in after] == [vid(v) for v in again]


def test_list_and_delete_faults(service: FeedService) -> None:
    a = orjson.loads(post(service, {"kind": "http_error", "operator": "trotti"}).body)
    post(service, {"kind": "empty"})
    listed = orjson.loads(service.handle("GET", "/admin/faults", TOKEN).body)["faults"]
    assert [f["id"] for f in listed] == [a["id"], "f2"] and listed[0]["source"] == "admin"
    assert service.handle("DELETE", f"/admin/faults/{a['id']}", TOKEN).status == 200
    assert service.handle("DELETE", f"/admin/faults/{a['id']}", TOKEN).status == 404
    assert get(service, "trotti", "free_bike_status").status == 200
    assert orjson.loads(service.handle("DELETE", "/admin/faults", TOKEN).body) == {"removed": 1}
    state = orjson.loads(service.handle("GET", "/admin/state", TOKEN).body)
    assert state["operators"]["trotti"]["version"] == "2.3"


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "meteor"},
        {"kind": "http_error", "status": 99},
        {"kind": "empty", "feeds": "x"},
        {"kind": "empty", "colour": "red"},
        {"kind": "malformed", "mode": "spicy"},
        {"kind": "http_error", "operator": "nobody"},
        {"kind": "empty", "duration_s": -5},
        {"kind": "timeout", "delay_s": "10"},
        [1, 2],
    ],
)
def test_bad_fault_json_is_refused(service: FeedService, bad: object) -> None:
    resp = post(service, bad)  # type: ignore[arg-type]
    assert resp.status == 400, bad
    assert "error" in orjson.loads(resp.body)
    assert service.sim.faults.entries() == []


def test_faults_scheduled_by_config() -> None:
    cfg = small_config(150, cases=False)
    cfg = SimConfig(
        cfg.operators,
        faults=(
            Fault(
                "http_error",
                operator="trotti",
                start=timedelta(hours=1),
                duration=timedelta(minutes=30),
                status=502,
            ),
            Fault("reshuffle", operator="velomax", start=timedelta(hours=2)),
        ),
    )
    sim = Simulation(cfg, seed=1, start=START)
    service = FeedService(sim, BASE)
    assert get(service, "trotti", "free_bike_status").status == 200
    sim.advance_to(START + timedelta(hours=1, minutes=10))
    assert get(service, "trotti", "free_bike_status").status == 502
    ids = {v.key: v.public_id for v in sim.snapshot("velomax").vehicles}
    sim.advance_to(START + timedelta(hours=2))
    assert get(service, "trotti", "free_bike_status").status == 200
    after = {v.key: v.public_id for v in sim.snapshot("velomax").vehicles}
    assert all(after[k] != ids[k] for k in ids.keys() & after.keys())
    with pytest.raises(ValueError):
        Fault("malformed", mode="nope")
