"""PreparedCity: metric projection, candidate grid, invalid and huge geometries."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod
from shapely.geometry import Point, Polygon

from rules import PreparedCity, prepare_city
from tests.rules.helpers import LAT0, LON0, NOW, ll, square, vehicle, zone

AREA = zone("area:city", "operating_area", square(-2000, -2000, 2000, 2000))


def test_projection_preserves_metres():
    city = PreparedCity([AREA])
    lon, lat, _ = Geod(ellps="WGS84").fwd(LON0 + 0.02, LAT0 + 0.01, 37.0, 1000.0)
    x, y = city.project_xy(np.array([LON0 + 0.02, lon]), np.array([LAT0 + 0.01, lat]))
    assert float(np.hypot(x[1] - x[0], y[1] - y[0])) == pytest.approx(1000.0, abs=0.05)
    assert city.crs.startswith("+proj=tmerc")


def test_grid_candidates_match_a_naive_loop():
    rng = np.random.default_rng(7)
    zones = [AREA]
    for k in range(300):
        x, y = rng.uniform(-1800, 1800, 2)
        w, h = rng.uniform(3, 200, 2)
        zones.append(
            zone(
                f"z{k}",
                ["no_parking", "pedestrian", "mandatory_parking"][k % 3],
                square(x, y, x + w, y + h),
            )
        )
    snaps = [vehicle(f"v{i}", *rng.uniform(-2100, 2100, 2)) for i in range(1500)]
    city = PreparedCity(zones, tolerance_m=5.0)
    loc = city.locate(snaps, NOW)
    fast = {
        (int(v), int(z)): (bool(i), bool(e))
        for v, z, i, e in zip(loc.pair_v, loc.pair_z, loc.pair_inner, loc.pair_exact, strict=True)
    }
    naive = {}
    for i in range(len(snaps)):
        p = Point(float(loc.x[i]), float(loc.y[i]))
        for zi in range(len(zones)):
            if city.grown[zi].intersects(p):
                naive[(i, zi)] = (city.inner[zi].contains(p), city.base[zi].intersects(p))
    assert fast == naive
    assert len(fast) > 1500  # every vehicle is in the area, many in small zones too
    assert np.all(np.diff(loc.pair_v) >= 0)


def test_invalid_self_intersecting_polygon_is_repaired():
    bowtie = Polygon([ll(0, 0), ll(100, 100), ll(100, 0), ll(0, 100), ll(0, 0)])
    assert not bowtie.is_valid
    city = PreparedCity([AREA, zone("no_parking:bowtie", "no_parking", bowtie)], tolerance_m=1.0)
    loc = city.locate([vehicle("v1", 80, 50), vehicle("v2", 50, 80)], NOW)
    in_bowtie = {
        int(v)
        for v, z, e in zip(loc.pair_v, loc.pair_z, loc.pair_exact, strict=True)
        if z == 1 and e
    }
    assert in_bowtie == {0}  # right lobe; (50, 80) is in the gap between the lobes


def test_depth_is_signed():
    city = PreparedCity([AREA], tolerance_m=10.0)
    snaps = [vehicle("in", 1980, 0), vehicle("out", 2004, 0)]
    loc = city.locate(snaps, NOW)
    depth = city.depth_m(loc.pair_v, loc.pair_z, loc)
    assert depth.tolist() == pytest.approx([20.0, -4.0], abs=0.1)


def test_empty_city_needs_an_area_of_interest():
    with pytest.raises(ValueError, match="no zones"):
        PreparedCity([])
    city = PreparedCity([], aoi=(6.0, 45.8, 6.3, 46.0))
    loc = city.locate([vehicle("v1", 0, 0)], NOW)
    assert len(loc.pair_v) == 0


def test_prepare_city_is_memoised_on_content():
    a = prepare_city([AREA], tolerance_m=10.0)
    assert (
        prepare_city(
            [zone("area:city", "operating_area", square(-2000, -2000, 2000, 2000))],
            tolerance_m=10.0,
        )
        is a
    )
    assert prepare_city([AREA], tolerance_m=5.0) is not a
    moved = zone("area:city", "operating_area", square(-2000, -2000, 2100, 2000))
    assert prepare_city([moved], tolerance_m=10.0) is not a
