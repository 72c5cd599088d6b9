"""The simulated city's geography: GeoJSON zone files and a runtime ``City``.

``build_zones()`` turns the raw shapes of ``_annecy`` into one GeoJSON
FeatureCollection per zone kind; ``export_zones()`` writes them to
``data/annecy/<kind>.geojson`` (committed, so the demo and the rules engine can
read plain files); ``city_zones()`` reads the committed files back.

``City`` holds the same shapes as prepared shapely geometries for the
simulation: is a point on land, in which zone, a random point in a zone.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon, mapping, shape
from shapely.geometry.polygon import orient
from shapely.ops import unary_union

from gbfs_simulator import _annecy as raw

FeatureCollection = dict[str, Any]

ZONE_KINDS: tuple[str, ...] = (
    "operating_area",
    "district",
    "water",
    "no_parking",
    "mandatory_parking",
    "pedestrian",
    "tram_tracks",
)
"""Zone kinds published by ``city_zones()`` (one GeoJSON file each)."""

DATA_DIR = "data/annecy"
_LAT0 = 45.90
_M_PER_DEG_LAT = 111_132.0
_M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(_LAT0))


def metres_to_deg(dx_m: float, dy_m: float) -> tuple[float, float]:
    """Convert a small east/north offset in metres to (dlon, dlat) degrees near Annecy."""
    return dx_m / _M_PER_DEG_LON, dy_m / _M_PER_DEG_LAT


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Equirectangular distance in metres (good to well under 1 % at city scale)."""
    dx = (lon2 - lon1) * _M_PER_DEG_LON
    dy = (lat2 - lat1) * _M_PER_DEG_LAT
    return math.hypot(dx, dy)


def _buffer_m(geom: Any, metres: float, cap_style: str = "round") -> Any:
    """Buffer a lon/lat geometry by a distance in metres (local planar approximation)."""
    scale = np.array([_M_PER_DEG_LON, _M_PER_DEG_LAT])
    planar = shapely.transform(geom, lambda c: c * scale)
    return shapely.transform(planar.buffer(metres, cap_style=cap_style), lambda c: c / scale)


def _round_coords(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, 6)
    if isinstance(obj, list | tuple):
        return [_round_coords(x) for x in obj]
    return obj


def _geometry(geom: Any) -> dict[str, Any]:
    """GeoJSON geometry with RFC 7946 ring orientation and 6-decimal coordinates."""
    if isinstance(geom, Polygon):
        geom = orient(geom, 1.0)
    elif isinstance(geom, MultiPolygon):
        geom = MultiPolygon([orient(p, 1.0) for p in geom.geoms])
    gj = mapping(geom)
    return {"type": gj["type"], "coordinates": _round_coords(gj["coordinates"])}


def _feature(fid: str, geom: Any, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "id": fid, "properties": props, "geometry": _geometry(geom)}


def _collection(kind: str, features: list[dict[str, Any]], note: str) -> FeatureCollection:
    return {"type": "FeatureCollection", "name": kind, "description": note, "features": features}


def drop_zone_polygon(lon: float, lat: float) -> Polygon:
    """The 24 m x 8 m rectangle of a mandatory parking area centred on a point."""
    w, h = raw.DROP_ZONE_SIZE_M
    dx, dy = metres_to_deg(w / 2, h / 2)
    return Polygon(
        [(lon - dx, lat - dy), (lon + dx, lat - dy), (lon + dx, lat + dy), (lon - dx, lat + dy)]
    )


def build_zones() -> dict[str, FeatureCollection]:
    """Build every zone kind from the raw shapes (the source of the committed files)."""
    approx = "Approximate shape drawn from public facts; not a survey."
    districts = [
        _feature(slug, Polygon(ring), name=name, kind="district", insee=insee)
        for slug, name, insee, ring in raw.DISTRICTS
    ]
    lake = Polygon(raw.LAKE)
    union = unary_union([Polygon(ring) for _, _, _, ring in raw.DISTRICTS])
    operating = union.difference(lake)
    water = [_feature("lac-annecy", lake, name="Lac d'Annecy", kind="water", water_kind="lake")]
    for slug, name, width, line in raw.CANALS:
        water.append(
            _feature(
                slug,
                _buffer_m(LineString(line), width / 2, "flat"),
                name=name,
                kind="water",
                water_kind="canal",
                width_m=width,
            )
        )
    no_parking = [
        _feature(slug, Polygon(ring), name=name, kind="no_parking")
        for slug, name, ring in raw.NO_PARKING
    ]
    parking = [
        _feature(
            slug,
            drop_zone_polygon(lon, lat),
            name=name,
            kind="mandatory_parking",
            capacity=cap,
            district=district,
        )
        for slug, name, lon, lat, cap, district in raw.MANDATORY_PARKING
    ]
    pedestrian = [
        _feature(slug, Polygon(ring), name=name, kind="pedestrian")
        for slug, name, ring in raw.PEDESTRIAN
    ]
    tracks = [
        _feature(slug, LineString(line), name=name, kind="tram_tracks", line_kind=line_kind)
        for slug, name, line_kind, line in raw.TRAM_TRACKS
    ]
    return {
        "operating_area": _collection(
            "operating_area",
            [
                _feature(
                    "annecy",
                    operating,
                    name="Annecy – périmètre d'exploitation",
                    kind="operating_area",
                )
            ],
            f"Union of the six districts minus the lake. {approx}",
        ),
        "district": _collection(
            "district", districts, f"The six communes merged into Annecy in 2017. {approx}"
        ),
        "water": _collection("water", water, f"Lake and canals (thin polygons). {approx}"),
        "no_parking": _collection("no_parking", no_parking, approx),
        "mandatory_parking": _collection(
            "mandatory_parking", parking, f"Drop zones, 24 m x 8 m, with capacities. {approx}"
        ),
        "pedestrian": _collection("pedestrian", pedestrian, approx),
        "tram_tracks": _collection(
            "tram_tracks",
            tracks,
            "Annecy has no tram: the railway and the main bus corridors stand in for tram "
            f"tracks (line_kind tells which). {approx}",
        ),
    }


def _dumps(fc: FeatureCollection) -> bytes:
    """Compact GeoJSON with one feature per line (readable diffs)."""
    head = {k: v for k, v in fc.items() if k != "features"}
    lines = [orjson.dumps(f) for f in fc["features"]]
    return orjson.dumps(head)[:-1] + b',"features":[\n' + b",\n".join(lines) + b"\n]}\n"


def export_zones(out_dir: Path | None = None) -> list[Path]:
    """Write ``<kind>.geojson`` files (default: the package's ``data/annecy``)."""
    target = out_dir or Path(__file__).parent / DATA_DIR
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, fc in build_zones().items():
        path = target / f"{kind}.geojson"
        path.write_bytes(_dumps(fc))
        written.append(path)
    return written


def zone_file_bytes(kind: str) -> bytes:
    """The committed GeoJSON file of one zone kind, as bytes."""
    return (resources.files("gbfs_simulator") / DATA_DIR / f"{kind}.geojson").read_bytes()


def zone_file_path(kind: str) -> Path:
    """Filesystem path of a committed zone file (for ``fleet-monitor zones import``)."""
    return Path(__file__).parent / DATA_DIR / f"{kind}.geojson"


def city_zones() -> dict[str, FeatureCollection]:
    """The city's zones, one GeoJSON FeatureCollection per kind (from the committed files).

    Kinds: operating_area, district, water, no_parking, mandatory_parking (with
    ``capacity``), pedestrian, tram_tracks (LineStrings). Every feature has the
    properties ``name`` and ``kind``.
    """
    return {kind: orjson.loads(zone_file_bytes(kind)) for kind in ZONE_KINDS}


@dataclass(frozen=True, slots=True)
class Zone:
    """A zone of the runtime city: a shapely geometry (prepared) and its properties."""

    id: str
    name: str
    kind: str
    geom: Any
    capacity: int | None = None

    def contains(self, lon: float, lat: float) -> bool:
        return bool(shapely.contains_xy(self.geom, lon, lat))


@dataclass(frozen=True, slots=True)
class Hotspot:
    slug: str
    lon: float
    lat: float
    radius_m: float
    weights: tuple[float, float, float, float]  # morning, midday, evening, night


class City:
    """Runtime view of the city for the simulation (shapely, prepared geometries)."""

    def __init__(self, zones: dict[str, FeatureCollection] | None = None) -> None:
        zones = zones or city_zones()
        self.zones: dict[str, list[Zone]] = {}
        for kind, fc in zones.items():
            items = []
            for f in fc["features"]:
                geom = shape(f["geometry"])
                shapely.prepare(geom)
                props = f["properties"]
                items.append(
                    Zone(f"{kind}:{f['id']}", props["name"], kind, geom, props.get("capacity"))
                )
            self.zones[kind] = items
        self.lake = next(z for z in self.zones["water"] if z.id == "water:lac-annecy")
        land = self.zones["operating_area"][0].geom
        for canal in self.zones["water"]:
            if canal is not self.lake:
                land = land.difference(canal.geom)
        shapely.prepare(land)
        self.land = land
        self.drop_zones = self.zones["mandatory_parking"]
        self.no_parking = self.zones["no_parking"]
        self.hotspots = [Hotspot(*h) for h in raw.HOTSPOTS]
        self.landmarks = {slug: (lon, lat) for slug, _, lon, lat in raw.LANDMARKS}

    def is_land(self, lon: float, lat: float) -> bool:
        """Inside the operating area and not in the water."""
        return bool(shapely.contains_xy(self.land, lon, lat))

    def zones_at(self, lon: float, lat: float, kind: str) -> list[Zone]:
        return [z for z in self.zones[kind] if z.contains(lon, lat)]

    def zone(self, name_or_id: str) -> Zone:
        """Find a zone by id (``no_parking:paquier``), slug (``paquier``) or name."""
        for items in self.zones.values():
            for z in items:
                if name_or_id in (z.id, z.name) or z.id.split(":", 1)[1] == name_or_id:
                    return z
        raise KeyError(f"no zone named {name_or_id!r}")

    def drop_zone_at(self, lon: float, lat: float) -> Zone | None:
        for z in self.drop_zones:
            if z.contains(lon, lat):
                return z
        return None

    def random_point_in(self, zone: Zone, rng: random.Random, margin_m: float = 0.0) -> tuple:
        """A uniformly random ``(lon, lat)`` inside a zone (optionally ``margin_m`` inside)."""
        geom = zone.geom if margin_m <= 0 else _inner(zone.geom, margin_m)
        minx, miny, maxx, maxy = geom.bounds
        for _ in range(1000):
            lon = rng.uniform(minx, maxx)
            lat = rng.uniform(miny, maxy)
            if shapely.contains_xy(geom, lon, lat):
                return round(lon, 6), round(lat, 6)
        p = geom.representative_point()
        return round(p.x, 6), round(p.y, 6)


@cache
def _inner_cached(wkb: bytes, margin_m: float) -> Any:
    g = _buffer_m(shapely.from_wkb(wkb), -margin_m)
    shapely.prepare(g)
    return g


def _inner(geom: Any, margin_m: float) -> Any:
    return _inner_cached(shapely.to_wkb(geom), margin_m)


@cache
def default_city() -> City:
    """The Annecy city, built once per process."""
    return City()


__all__ = [
    "ZONE_KINDS",
    "City",
    "FeatureCollection",
    "Hotspot",
    "Zone",
    "build_zones",
    "city_zones",
    "default_city",
    "distance_m",
    "drop_zone_polygon",
    "export_zones",
    "metres_to_deg",
    "zone_file_bytes",
    "zone_file_path",
]
