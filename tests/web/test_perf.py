"""/api/vehicles with 20,000 vehicles: one query, well under the 200 ms target."""

from __future__ import annotations

import time

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from tests.web.conftest import LAT, LON, T0, Fleet, vehicles

N_OPERATORS = 4
PER_OPERATOR = 5_000


@pytest.mark.slow
def test_vehicles_endpoint_with_20000_vehicles(client: FlaskClient, engine: Engine) -> None:
    start = time.perf_counter()
    for k in range(N_OPERATORS):
        fleet = Fleet(engine, f"op{k}", f"Operator {k}")
        batch = vehicles(PER_OPERATOR, f"op{k}-", lon=LON + k * 0.002)
        for i, v in enumerate(batch):  # spread over ~3 x 3 km around the centre
            v.lat = LAT - 0.015 + (i % 100) * 0.0003
            v.lon = LON - 0.02 + k * 0.01 + (i // 100) * 0.0002
        fleet.poll(batch, T0)
    seeded = time.perf_counter() - start

    client.get("/api/vehicles").close()  # warm the connection pool
    timings = []
    for _ in range(5):
        t = time.perf_counter()
        response = client.get("/api/vehicles")
        body = response.get_data()
        timings.append(time.perf_counter() - t)
    best, median = min(timings), sorted(timings)[len(timings) // 2]
    data = response.get_json(force=True)
    assert len(data["features"]) == N_OPERATORS * PER_OPERATOR
    print(
        f"\n/api/vehicles, {len(data['features'])} vehicles, {len(body) / 1e6:.1f} MB: "
        f"best {best * 1000:.0f} ms, median {median * 1000:.0f} ms (seeding {seeded:.1f} s)"
    )
    # the target is 200 ms; allow headroom for a loaded CI machine
    assert median < 0.5
