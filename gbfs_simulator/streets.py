"""The simulated city's streets and addresses, generated with the city.

Deterministic (no randomness beyond a fixed seed): the same streets and the
same addresses every time, so tests can name them.

* ``city_streets()``: a GeoJSON FeatureCollection of named street lines (the
  main avenues along the bus corridors, and a street grid per district, turned
  by a district's own angle, clipped to the land). The demo draws it as the
  base map when no tile source is configured.
* ``city_addresses()``: address points along every street, odd numbers on one
  side and even on the other, every ~24 m, in the national address base's
  (BAN) columns; ``addresses_csv()`` writes them in its CSV format
  (``adresses-74.csv``: ``;``-separated, UTF-8). The town is one commune,
  Annecy (INSEE 74010), whose former communes (the six districts) are in
  ``code_insee_ancienne_commune`` / ``nom_ancienne_commune``, as in the real BAN.

Street names are plausible, not a survey of Annecy.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, Polygon, mapping

from gbfs_simulator import _annecy as raw
from gbfs_simulator.city import _M_PER_DEG_LAT, _M_PER_DEG_LON, default_city

COMMUNE_INSEE = "74010"
COMMUNE_NAME = "Annecy"
POSTCODES = {
    "annecy": "74000",
    "annecy-le-vieux": "74940",
    "seynod": "74600",
    "cran-gevrier": "74960",
    "meythet": "74960",
    "pringy": "74370",
}
GRID_SPACING_M = 170.0
ADDRESS_SPACING_M = 24.0
ADDRESS_OFFSET_M = 9.0  # from the street's axis to the address point (the facade)
MIN_STREET_M = 60.0
SEED = 74010

BAN_COLUMNS = (
    "id;id_fantoir;numero;rep;nom_voie;code_postal;code_insee;nom_commune;"
    "code_insee_ancienne_commune;nom_ancienne_commune;x;y;lon;lat;type_position;alias;"
    "nom_ld;libelle_acheminement;nom_afnor;source_position;source_nom_voie;"
    "certification_commune;cad_parcelles"
)

# the main avenues (on the bus corridors of _annecy) and the old town's streets
MAIN_STREETS: list[tuple[str, list[tuple[float, float]]]] = [
    ("Avenue de Genève", [c for c in raw.TRAM_TRACKS[2][3]]),
    ("Avenue de Chambéry", [c for c in raw.TRAM_TRACKS[3][3]]),
    ("Avenue d'Albigny", [c for c in raw.TRAM_TRACKS[1][3]][3:]),
    ("Rue Sommeiller", [c for c in raw.TRAM_TRACKS[1][3]][:4]),
    ("Rue Royale", [(6.1245, 45.9003), (6.1275, 45.9007), (6.1300, 45.9010)]),
    ("Rue Sainte-Claire", [(6.1228, 45.8980), (6.1250, 45.8987), (6.1270, 45.8992)]),
    ("Quai de l'Isle", [(6.1262, 45.8984), (6.1285, 45.8990), (6.1310, 45.8996)]),
    ("Rue du Pâquier", [(6.1300, 45.9010), (6.1330, 45.9013), (6.1360, 45.9016)]),
]
KINDS = ("Rue", "Rue", "Rue", "Avenue", "Chemin", "Allée", "Boulevard", "Impasse", "Route")
NAMES = (
    "des Alpes",
    "du Lac",
    "de la Paix",
    "Jean Jaurès",
    "du Semnoz",
    "des Marquisats",
    "de la Tournette",
    "du Parmelan",
    "des Aravis",
    "du Salève",
    "des Glières",
    "Carnot",
    "Victor Hugo",
    "de la République",
    "Louis Armand",
    "des Écoles",
    "du Stade",
    "des Tilleuls",
    "des Vergers",
    "des Cerisiers",
    "de la Fontaine",
    "du Moulin",
    "des Prés",
    "de la Gare",
    "du Château",
    "de l'Église",
    "des Fins",
    "de Novel",
    "des Romains",
    "de Brogny",
    "du Thiou",
    "du Fier",
    "des Pommaries",
    "Sainte-Catherine",
    "Saint-François",
    "de Bonlieu",
    "de la Poste",
    "des Jardins",
    "Mozart",
    "Berlioz",
    "Pasteur",
    "Marie Curie",
    "Jules Ferry",
    "Paul Cézanne",
    "des Sorbiers",
    "des Mésanges",
    "des Acacias",
    "du Verger",
    "de la Colline",
    "des Chênes",
    "du Crêt",
    "des Charmettes",
    "du Bulloz",
    "de Chavoires",
    "des Puisots",
    "du Vieux Moulin",
    "de la Prairie",
    "du Clos",
    "des Pervenches",
    "des Lilas",
    "de Sacconges",
    "de Vovray",
    "de Loverchy",
    "des Cygnes",
)


@dataclass(frozen=True, slots=True)
class Street:
    name: str
    district: str  # slug of the former commune
    fantoir: str
    geom: Any  # LineString or MultiLineString, lon/lat
    main: bool = False


def _to_m(geom: Any) -> Any:
    return shapely.transform(geom, lambda c: c * np.array([_M_PER_DEG_LON, _M_PER_DEG_LAT]))


def _to_deg(geom: Any) -> Any:
    return shapely.transform(geom, lambda c: c / np.array([_M_PER_DEG_LON, _M_PER_DEG_LAT]))


def _grid(area_m: Any, angle_deg: float) -> list[LineString]:
    """Lines of a street grid over ``area_m`` (metres), turned by ``angle_deg``."""
    cx, cy = area_m.centroid.x, area_m.centroid.y
    minx, miny, maxx, maxy = area_m.bounds
    half = math.hypot(maxx - minx, maxy - miny) / 2 + GRID_SPACING_M
    a = math.radians(angle_deg)
    ux, uy = math.cos(a), math.sin(a)
    vx, vy = -uy, ux
    lines = []
    n = int(half // GRID_SPACING_M)
    for direction in ((ux, uy, vx, vy), (vx, vy, ux, uy)):
        dx, dy, ox, oy = direction
        for k in range(-n, n + 1):
            off = k * GRID_SPACING_M
            x0, y0 = cx + ox * off, cy + oy * off
            lines.append(
                LineString([(x0 - dx * half, y0 - dy * half), (x0 + dx * half, y0 + dy * half)])
            )
    return lines


def _pieces(geom: Any) -> list[LineString]:
    if isinstance(geom, LineString):
        return [geom] if not geom.is_empty else []
    if isinstance(geom, MultiLineString):
        return [g for g in geom.geoms if not g.is_empty]
    if hasattr(geom, "geoms"):
        return [p for g in geom.geoms for p in _pieces(g)]
    return []


@cache
def streets() -> tuple[Street, ...]:
    """Every street of the simulated city (main avenues first), built once per process."""
    city = default_city()
    land_m = _to_m(city.land)
    rng = random.Random(SEED)
    out: list[Street] = []
    districts = [(slug, Polygon(ring)) for slug, _name, _insee, ring in raw.DISTRICTS]

    def district_of(line_m: Any) -> str:
        mid = _to_deg(line_m.interpolate(0.5, normalized=True))
        for slug, poly in districts:
            if poly.contains(mid):
                return slug
        return "annecy"

    fantoir = 100
    main_m = []
    for name, coords in MAIN_STREETS:
        line_m = _to_m(LineString(coords)).intersection(land_m)
        main_m.append(_to_m(LineString(coords)))
        for piece in _pieces(line_m):
            if piece.length >= MIN_STREET_M / 2:
                out.append(
                    Street(name, district_of(piece), f"{fantoir:04d}", _to_deg(piece), main=True)
                )
        fantoir += 10
    # keep grid streets off the main avenues and the old town
    reserved = shapely.union_all([m.buffer(40.0) for m in main_m])
    for index, (slug, poly) in enumerate(districts):
        area = _to_m(poly).intersection(land_m).difference(reserved)
        names = [f"{kind} {name}" for kind in dict.fromkeys(KINDS) for name in NAMES]
        rng.shuffle(names)
        angle = 12.0 + 23.0 * index
        used = 0
        for line in _grid(area, angle):
            pieces = [p for p in _pieces(line.intersection(area)) if p.length >= MIN_STREET_M]
            if not pieces:
                continue
            name = names[used % len(names)]
            used += 1
            for piece in pieces:
                out.append(Street(name, slug, f"{fantoir:04d}", _to_deg(piece)))
            fantoir += 1
    return tuple(out)


def city_streets() -> dict[str, Any]:
    """The streets as a GeoJSON FeatureCollection (``name``, ``district``, ``rank``:
    ``main`` or ``local``, per feature)."""
    features = []
    for i, s in enumerate(streets()):
        geom = shapely.set_precision(s.geom, 1e-6)
        features.append(
            {
                "type": "Feature",
                "id": i,
                "properties": {
                    "name": s.name,
                    "district": s.district,
                    "rank": "main" if s.main else "local",
                },
                "geometry": mapping(geom),
            }
        )
    return {"type": "FeatureCollection", "name": "streets", "features": features}


@dataclass(frozen=True, slots=True)
class AddressPoint:
    ban_id: str
    fantoir: str
    number: int
    suffix: str
    street: str
    district: str
    lon: float
    lat: float


@cache
def city_addresses() -> tuple[AddressPoint, ...]:
    """Address points along every street (odd numbers left, even right), on land only."""
    city = default_city()
    out: list[AddressPoint] = []
    numbers: dict[tuple[str, str], int] = {}
    for s in streets():
        key = (s.district, s.name)
        start = numbers.get(key, 0)
        for piece in _pieces(_to_m(s.geom)):
            steps = int(piece.length // ADDRESS_SPACING_M)
            for k in range(steps):
                d = (k + 0.5) * ADDRESS_SPACING_M
                p = piece.interpolate(d)
                q = piece.interpolate(min(d + 1.0, piece.length))
                dx, dy = q.x - p.x, q.y - p.y
                norm = math.hypot(dx, dy) or 1.0
                side = 1 if k % 2 == 0 else -1  # left: odd, right: even
                x = p.x - dy / norm * ADDRESS_OFFSET_M * side
                y = p.y + dx / norm * ADDRESS_OFFSET_M * side
                lon, lat = round(x / _M_PER_DEG_LON, 6), round(y / _M_PER_DEG_LAT, 6)
                if not city.is_land(lon, lat):
                    continue
                number = start + k + 1
                suffix = "bis" if number % 37 == 0 else ""
                ban_id = f"{COMMUNE_INSEE}_{s.fantoir}_{number:05d}" + (
                    f"_{suffix}" if suffix else ""
                )
                out.append(
                    AddressPoint(ban_id, s.fantoir, number, suffix, s.name, s.district, lon, lat)
                )
            start += steps + (steps % 2)
        numbers[key] = start
    # one id per address (a street cut in pieces keeps numbering on)
    seen: dict[str, AddressPoint] = {}
    for a in out:
        seen.setdefault(a.ban_id, a)
    return tuple(seen.values())


def _lambert93(lon: float, lat: float) -> tuple[float, float]:
    """Lambert-93 (EPSG:2154) x, y: the BAN's ``x``/``y`` columns."""
    e = 0.0818191910428158
    n, c, xs, ys = 0.7256077650532670, 11754255.426096, 700000.0, 12655612.049876
    lam0 = math.radians(3.0)
    phi = math.radians(lat)
    lat_iso = math.log(
        math.tan(math.pi / 4 + phi / 2)
        * ((1 - e * math.sin(phi)) / (1 + e * math.sin(phi))) ** (e / 2)
    )
    r = c * math.exp(-n * lat_iso)
    g = n * (math.radians(lon) - lam0)
    return round(xs + r * math.sin(g), 2), round(ys - r * math.cos(g), 2)


def addresses_csv() -> str:
    """The city's addresses in the BAN CSV format (header included)."""
    names = {slug: (name, insee) for slug, name, insee, _ring in raw.DISTRICTS}
    buf = io.StringIO()
    buf.write(BAN_COLUMNS + "\n")
    for a in city_addresses():
        former_name, former_insee = names[a.district]
        x, y = _lambert93(a.lon, a.lat)
        postcode = POSTCODES[a.district]
        fields = [
            a.ban_id, f"{COMMUNE_INSEE}_{a.fantoir}", str(a.number), a.suffix, a.street,
            postcode, COMMUNE_INSEE, COMMUNE_NAME, former_insee, former_name,
            f"{x:.2f}", f"{y:.2f}", f"{a.lon:.6f}", f"{a.lat:.6f}", "entrée", "", "",
            COMMUNE_NAME.upper(), a.street.upper(), "commune", "commune", "1", "",
        ]  # fmt: skip
        buf.write(";".join(fields) + "\n")
    return buf.getvalue()


__all__ = ["AddressPoint", "Street", "addresses_csv", "city_addresses", "city_streets", "streets"]
