"""The simulator over real HTTP on 127.0.0.1: discovery, schemas, ETag/304, gzip, admin."""

from __future__ import annotations

import gzip
import http.client
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import orjson
import pytest

from gbfs_simulator import ManualClock, ServerHandle, Simulation, start_server

from .conftest import START, schema_errors, small_config


def fetch(
    url: str,
    method: str = "GET",
    headers: dict | None = None,
    body: bytes | None = None,
    timeout: float = 10.0,
) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(method, parts.path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def server() -> Iterator[ServerHandle]:
    sim = Simulation(small_config(300), seed=5, start=START)
    sim.advance_to(START + timedelta(hours=4))
    handle = start_server(sim, admin_token="tok")
    yield handle
    handle.stop()


def test_discovery_and_every_linked_file_validate_over_http(server: ServerHandle) -> None:
    status, _, body = fetch(server.url + "/")
    ops = {o["slug"]: o for o in orjson.loads(body)["operators"]}
    assert status == 200 and set(ops) == {"velomax", "trotti", "lacbike"}
    seen = 0
    for op in ops.values():
        status, headers, body = fetch(op["discovery"])
        assert status == 200 and headers["content-type"].startswith("application/json")
        gbfs = orjson.loads(body)
        assert schema_errors(op["version"], "gbfs", gbfs) == []
        if op["version"].startswith("3"):
            feeds = gbfs["data"]["feeds"]
            status, _, body = fetch(op["manifest"])
            assert schema_errors("3.0", "manifest", orjson.loads(body)) == []
        else:
            assert set(gbfs["data"]) == {"fr", "en"}
            feeds = [f for lang in gbfs["data"].values() for f in lang["feeds"]]
        for feed in feeds:
            assert feed["url"].startswith(server.url)
            status, _, body = fetch(feed["url"])
            assert status == 200, feed
            assert schema_errors(op["version"], feed["name"], orjson.loads(body)) == [], feed
            seen += 1
    assert seen >= 30


def test_etag_and_304(server: ServerHandle) -> None:
    url = server.url + "/trotti/fr/system_information.json"
    status, headers, body = fetch(url)
    etag = headers["etag"]
    assert status == 200 and etag.startswith('"') and body
    status, headers2, body2 = fetch(url, headers={"If-None-Match": etag})
    assert status == 304 and body2 == b"" and headers2["etag"] == etag
    assert fetch(url, headers={"If-None-Match": '"other"'})[0] == 200
    lm = headers["last-modified"]
    assert fetch(url, headers={"If-Modified-Since": lm})[0] == 304
    # the vehicle feed: 304 while the state is unchanged, 200 once it moved on
    vurl = server.url + "/trotti/fr/free_bike_status.json"
    _, vh, _ = fetch(vurl)
    assert fetch(vurl, headers={"If-None-Match": vh["etag"]})[0] == 304
    server.sim.advance(timedelta(minutes=30))
    status, vh2, _ = fetch(vurl, headers={"If-None-Match": vh["etag"]})
    assert status == 200 and vh2["etag"] != vh["etag"]
    # an every-fetch rotator never answers 304 for its vehicles
    lurl = server.url + "/lacbike/vehicle_status.json"
    _, lh, _ = fetch(lurl)
    assert fetch(lurl, headers={"If-None-Match": lh["etag"]})[0] == 200


def test_gzip_when_asked(server: ServerHandle) -> None:
    url = server.url + "/velomax/en/free_bike_status.json"
    _, plain_h, plain = fetch(url)
    status, headers, body = fetch(url, headers={"Accept-Encoding": "gzip, deflate"})
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == plain and len(body) < len(plain)
    assert "content-encoding" not in plain_h and "Accept-Encoding" in headers["vary"]
    assert (
        fetch(url, headers={"Accept-Encoding": "gzip", "If-None-Match": headers["etag"]})[0] == 304
    )


def test_unknown_paths_and_methods(server: ServerHandle) -> None:
    assert fetch(server.url + "/nobody/gbfs.json")[0] == 404
    assert fetch(server.url + "/trotti/de/free_bike_status.json")[0] == 404
    assert fetch(server.url + "/lacbike/free_bike_status.json")[0] == 404
    assert fetch(server.url + "/velomax/manifest.json")[0] == 404
    assert fetch(server.url + "/trotti/gbfs.json", method="POST", body=b"{}")[0] == 405
    status, headers, body = fetch(server.url + "/trotti/gbfs.json", method="HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0
    status, _, body = fetch(server.url + "/city/no_parking.geojson")
    assert status == 200 and orjson.loads(body)["type"] == "FeatureCollection"


def test_faults_through_the_admin_endpoint(server: ServerHandle) -> None:
    admin = server.url + "/admin/faults"
    auth = {"Authorization": "Bearer tok", "Content-Type": "application/json"}
    fault = orjson.dumps({"kind": "http_error", "operator": "velomax", "status": 503})
    assert fetch(admin, "POST", {}, fault)[0] == 401
    status, _, body = fetch(admin, "POST", auth, fault)
    assert status == 201
    fid = orjson.loads(body)["id"]
    url = server.url + "/velomax/fr/free_bike_status.json"
    assert fetch(url)[0] == 503
    _, _, listed = fetch(admin, headers=auth)
    faults = orjson.loads(listed)["faults"]
    assert [f["id"] for f in faults if f["source"] == "admin"] == [fid]
    assert {f["case"] for f in faults if f["source"] == "case"} == {"velomax-outage"}
    assert fetch(f"{admin}/{fid}", "DELETE", auth)[0] == 200
    assert fetch(url)[0] == 200
    # wrong types, over the wire
    fetch(
        admin,
        "POST",
        auth,
        orjson.dumps({"kind": "wrong_types", "operator": "trotti", "feeds": ["free_bike_status"]}),
    )
    _, _, body = fetch(server.url + "/trotti/en/free_bike_status.json")
    assert isinstance(orjson.loads(body)["data"]["bikes"][0]["lon"], str)
    assert fetch(f"{admin}/{fid}", "DELETE", auth)[0] == 404
    server.sim.faults.clear("admin")


def test_timeout_fault_makes_clients_time_out(server: ServerHandle) -> None:
    admin = server.url + "/admin/faults"
    auth = {"X-Admin-Token": "tok"}
    fetch(
        admin, "POST", auth, orjson.dumps({"kind": "timeout", "operator": "lacbike", "delay_s": 3})
    )
    t = time.monotonic()
    with pytest.raises((TimeoutError, socket.timeout)):
        fetch(server.url + "/lacbike/vehicle_status.json", timeout=0.4)
    assert time.monotonic() - t < 2
    server.sim.faults.clear("admin")
    assert fetch(server.url + "/lacbike/vehicle_status.json")[0] == 200


def test_a_clock_drives_the_served_simulation() -> None:
    sim = Simulation(small_config(100, cases=False), seed=2, start=START)
    clock = ManualClock(START)
    with start_server(sim, clock=clock) as srv:
        url = srv.url + "/trotti/fr/free_bike_status.json"
        assert orjson.loads(fetch(url)[2])["last_updated"] == int(START.timestamp())
        clock.advance(timedelta(minutes=90))
        assert orjson.loads(fetch(url)[2])["last_updated"] == int(START.timestamp()) + 5400
        assert sim.now == START + timedelta(minutes=90)
    assert srv._stopping.is_set()
    srv.stop()  # idempotent
    with pytest.raises(OSError):
        fetch(url, timeout=1)


def test_stop_wakes_up_delayed_responses() -> None:
    sim = Simulation(small_config(60, cases=False), seed=2, start=START)
    srv = start_server(sim, admin_token="t")
    fetch(
        srv.url + "/admin/faults",
        "POST",
        {"X-Admin-Token": "t"},
        orjson.dumps({"kind": "timeout", "delay_s": 60}),
    )
    result: list[object] = []
    th = threading.Thread(
        target=lambda: result.append(
            _swallow(lambda: fetch(srv.url + "/trotti/gbfs.json", timeout=30))
        )
    )
    th.start()
    time.sleep(0.3)
    t = time.monotonic()
    srv.stop()
    th.join(10)
    assert not th.is_alive() and time.monotonic() - t < 6


def _swallow(fn):  # type: ignore[no-untyped-def]
    try:
        return fn()
    except Exception as exc:
        return exc
