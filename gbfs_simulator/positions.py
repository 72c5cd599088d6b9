"""Turn the ``at`` of a scripted case into a point of the city."""

from __future__ import annotations

import random

from gbfs_simulator.city import City
from gbfs_simulator.config import InLake, InNoParking, ScriptedCase, derive_seed

DEFAULT_LAKE_POINT = (45.9012, 6.1432)  # (lat, lon), ~200 m off the Pâquier


def _latlon(value: tuple[float, float], case: str) -> tuple[float, float]:
    lat, lon = float(value[0]), float(value[1])
    if not (40.0 <= lat <= 50.0 and 3.0 <= lon <= 9.0):
        if 40.0 <= lon <= 50.0 and 3.0 <= lat <= 9.0:
            raise ValueError(f"case {case}: position looks like (lon, lat); give (lat, lon)")
        raise ValueError(f"case {case}: position {value} is not near Annecy")
    return lon, lat


def resolve_position(city: City, case: ScriptedCase, seed: int, i: int = 0) -> tuple[float, float]:
    """The ``(lon, lat)`` of the ``i``-th vehicle of a pinned case (deterministic)."""
    rng = random.Random(derive_seed(seed, "case", case.name, i))
    if isinstance(case, InNoParking):
        zone = city.zone(case.zone)
        if zone.kind != "no_parking":
            raise ValueError(f"case {case.name}: {case.zone!r} is not a no-parking zone")
        return city.random_point_in(zone, rng, margin_m=2.0)
    at = getattr(case, "at", None)
    if isinstance(case, InLake):
        lon, lat = _latlon(at if isinstance(at, tuple) else DEFAULT_LAKE_POINT, case.name)
        if isinstance(at, str):
            lon, lat = city.random_point_in(city.zone(at), rng, margin_m=20.0)
        if not city.lake.contains(lon, lat):
            raise ValueError(f"case {case.name}: {at} is not in the lake")
        return round(lon, 6), round(lat, 6)
    if isinstance(at, tuple):
        return _latlon(at, case.name)
    if isinstance(at, str):
        if at in city.landmarks:
            return city.landmarks[at]
        for h in city.hotspots:
            if h.slug == at:
                return h.lon, h.lat
        return city.random_point_in(city.zone(at), rng, margin_m=3.0)
    raise ValueError(f"case {case.name}: no position")
