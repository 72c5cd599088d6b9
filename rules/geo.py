"""Geometry preparation and bulk point location, in metres.

``PreparedCity`` is built once from the zones and reused across evaluations
(the scheduler keeps one per zones version and GPS tolerance; see
``prepare_city`` for a small memoising helper).

Metric CRS: a local transverse Mercator (ellipsoid WGS 84) centred on the
area of interest, derived from the zone bounds. Within 50 km of its centre the
scale error is below 0.003 %, it works for any city (tests and real operator
files from Seattle or Oslo, not only France, where Lambert-93 would do), and
distances, buffers and tolerances are true metres. Nothing is ever buffered in
degrees.

Huge zones (an operator geofencing file may hold a polygon covering the whole
world) are clipped, in degrees and before projection, to the area of interest
grown by a margin. Points beyond that margin (rare: a vehicle far outside the
city) are located against the clipped zones' original geometry in degrees,
as a plain point-in-polygon test without tolerance.

GPS tolerance: every zone is kept three times in metres, exact (``base``),
grown by the tolerance and shrunk by it. A point inside the shrunk zone is
certainly inside ("inner"), a point outside the grown zone certainly outside,
anything between is within the tolerance of the border: uncertain. Lines
(tram tracks) are first buffered by their half-width; a zone narrower than
twice the tolerance has an empty shrunk version, so nothing in it is ever
certain.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from rules.grid import Grid
from rules.inputs import ZONE_KINDS, VehicleSnapshot, Zone

#: zones whose bounding box spans more than this (degrees) do not define the area of interest.
LOCAL_ZONE_MAX_SPAN_DEG = 1.0
M_PER_DEG_LAT = 111_320.0

BBox = tuple[float, float, float, float]  # lon_min, lat_min, lon_max, lat_max


def grow_bbox(bbox: BBox, metres: float) -> BBox:
    """``bbox`` grown by about ``metres`` on every side (degrees, clamped to the globe)."""
    lat = (bbox[1] + bbox[3]) / 2
    dlat = metres / M_PER_DEG_LAT
    dlon = metres / (M_PER_DEG_LAT * max(math.cos(math.radians(lat)), 0.01))
    return (
        max(bbox[0] - dlon, -180.0),
        max(bbox[1] - dlat, -90.0),
        min(bbox[2] + dlon, 180.0),
        min(bbox[3] + dlat, 90.0),
    )


def _epoch(value: datetime | None, default: float) -> float:
    return default if value is None else value.timestamp()


def local_crs(lon: float, lat: float) -> str:
    """PROJ string of the local transverse Mercator centred on (lon, lat)."""
    return (
        f"+proj=tmerc +lat_0={lat:.6f} +lon_0={lon:.6f} +k=1 +x_0=0 +y_0=0 "
        "+ellps=WGS84 +units=m +no_defs"
    )


def _usable_buffer(value: float | None) -> float:
    return value if value is not None and math.isfinite(value) and value > 0 else 0.0


class UnusableZones(ValueError):
    """Zones that leave no usable geometry once prepared: ``reasons`` by zone index."""

    def __init__(self, reasons: dict[int, str]) -> None:
        super().__init__(f"{len(reasons)} zone(s) cannot be prepared")
        self.reasons = reasons


class PreparedCity:
    """Zones projected, clipped, buffered and indexed once, for bulk point location.

    ``tolerance_m`` is the GPS tolerance; ``line_half_width_m`` the default
    half-width of line zones (tram tracks) without ``buffer_m``; ``aoi`` the
    area of interest (lon_min, lat_min, lon_max, lat_max), derived from the
    bounds of the zones spanning less than a degree when not given;
    ``margin_m`` how far beyond it zones are kept unclipped. Raises
    ``UnusableZones`` when some zones leave no usable geometry (see
    ``rules.prepare.prepare_zones``, which skips them), ``ValueError`` when
    the area of interest cannot be derived.
    """

    def __init__(
        self,
        zones: Iterable[Zone],
        *,
        tolerance_m: float = 10.0,
        line_half_width_m: float = 1.5,
        aoi: BBox | None = None,
        margin_m: float = 5_000.0,
    ) -> None:
        self.zones: tuple[Zone, ...] = tuple(zones)
        self.tolerance_m = float(tolerance_m)
        n = len(self.zones)
        raw = np.array([z.geometry for z in self.zones], dtype=object)
        raw = shapely.make_valid(raw) if n else raw
        self.aoi: BBox = aoi if aoi is not None else _derive_aoi(raw)
        self.inner_box: BBox = grow_bbox(self.aoi, margin_m)
        max_hw = max([line_half_width_m] + [_usable_buffer(z.buffer_m) for z in self.zones])
        self.clip_box: BBox = grow_bbox(self.inner_box, 2 * (self.tolerance_m + max_hw) + 1.0)

        lon0 = (self.aoi[0] + self.aoi[2]) / 2
        lat0 = (self.aoi[1] + self.aoi[3]) / 2
        self.crs = local_crs(lon0, lat0)
        self._fwd = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        self._inv = Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)

        bounds = shapely.bounds(raw) if n else np.empty((0, 4))
        ib = self.inner_box
        self.clipped = ~(
            (bounds[:, 0] >= ib[0])
            & (bounds[:, 1] >= ib[1])
            & (bounds[:, 2] <= ib[2])
            & (bounds[:, 3] <= ib[3])
        )
        geoms = raw.copy()
        if self.clipped.any():
            geoms[self.clipped] = shapely.make_valid(
                shapely.clip_by_rect(raw[self.clipped], *self.clip_box)
            )
        self._clipped_idx = np.flatnonzero(self.clipped)
        self._clipped_deg = raw[self._clipped_idx]
        shapely.prepare(self._clipped_deg)

        projected = self.project_geometries(geoms)
        types = shapely.get_type_id(projected) if n else np.empty(0, dtype=int)
        polygonal = np.isin(types, (3, 6))  # Polygon, MultiPolygon
        base = projected.copy()
        for i in np.flatnonzero(~polygonal):
            hw = self.zones[i].buffer_m or line_half_width_m
            base[i] = shapely.buffer(projected[i], hw)
        if n and (~polygonal).any():
            base = shapely.make_valid(base)
        self.base = base
        t = self.tolerance_m
        self.grown = shapely.buffer(base, t) if t > 0 else base
        self.inner = shapely.buffer(base, -t) if t > 0 else base
        grown_bounds = shapely.bounds(self.grown) if n else np.empty((0, 4))
        unusable = ~np.isfinite(grown_bounds).all(axis=1) | shapely.is_empty(base)
        if unusable.any():  # e.g. a line buffered by a negative width: no area at all
            raise UnusableZones(
                {
                    int(i): "geometry: nothing left once projected and buffered"
                    f" (buffer_m={self.zones[i].buffer_m!r})"
                    for i in np.flatnonzero(unusable)
                }
            )
        for arr in (self.base, self.grown, self.inner):
            shapely.prepare(arr)
        self.grid = Grid(grown_bounds)
        self._nearest: dict[tuple[int, ...], shapely.STRtree] = {}

        self.kind = np.array([ZONE_KINDS.index(z.kind) for z in self.zones], dtype=np.int8)
        self.eff_from = np.array([_epoch(z.effective_from, -np.inf) for z in self.zones])
        self.eff_to = np.array([_epoch(z.effective_to, np.inf) for z in self.zones])
        self.scope = [z.operator for z in self.zones]
        self.ids = [z.id for z in self.zones]
        self._boundary: np.ndarray | None = None

    # -- projection helpers -------------------------------------------------
    def project_xy(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y = self._fwd.transform(lon, lat)
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)

    def project_geometries(self, geoms: np.ndarray) -> np.ndarray:
        if len(geoms) == 0:
            return geoms

        def fwd(coords: np.ndarray) -> np.ndarray:
            x, y = self._fwd.transform(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(geoms, fwd)

    def to_wgs84(self, geom: BaseGeometry) -> BaseGeometry:
        def inv(coords: np.ndarray) -> np.ndarray:
            x, y = self._inv.transform(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(geom, inv)

    @property
    def boundary(self) -> np.ndarray:
        if self._boundary is None:
            self._boundary = shapely.boundary(self.base)
        return self._boundary

    def effective_mask(self, at: datetime) -> np.ndarray:
        ts = at.timestamp()
        return (self.eff_from <= ts) & (ts < self.eff_to)

    def zone_indices(
        self, kind: str, operator: str, at: datetime, ids: Iterable[str] = ()
    ) -> np.ndarray:
        """Indices of the zones of ``kind`` effective at ``at`` applying to ``operator``,
        limited to ``ids`` when given."""
        wanted = set(ids)
        first = np.flatnonzero((self.kind == ZONE_KINDS.index(kind)) & self.effective_mask(at))
        return np.array(
            [
                i
                for i in first.tolist()
                if self.scope[i] in (None, operator) and (not wanted or self.ids[i] in wanted)
            ],
            dtype=np.intp,
        )

    def indices_of(self, ids: Iterable[str]) -> np.ndarray:
        wanted = set(ids)
        return np.array([i for i, zid in enumerate(self.ids) if zid in wanted], dtype=np.intp)

    # -- bulk location ------------------------------------------------------
    def locate(self, snapshots: Sequence[VehicleSnapshot], at: datetime) -> Located:
        """Every (vehicle, zone) pair within the tolerance of each other, at ``at``.

        Pairs are limited to zones effective at ``at`` and applying to the
        vehicle's operator. Each pair says whether the vehicle is certainly
        inside (``inner``) and inside the exact geometry (``exact``).
        """
        n = len(snapshots)
        lon = np.fromiter((s.lon for s in snapshots), dtype=float, count=n)
        lat = np.fromiter((s.lat for s in snapshots), dtype=float, count=n)
        ops = [s.operator for s in snapshots]
        valid = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        x, y = self.project_xy(np.where(valid, lon, 0.0), np.where(valid, lat, 0.0))
        empty_i = np.empty(0, dtype=np.intp)
        if not valid.any() or len(self.zones) == 0:
            none = empty_i.astype(bool)
            return Located(x, y, lon, lat, valid, valid & False, empty_i, empty_i, none, none)
        pv, pz = self.grid.candidates(x, y, valid)
        keep = self.effective_mask(at)[pz]
        # operator scope
        codes: dict[str | None, int] = {None: -1}
        scope_code = np.array([codes.setdefault(s, len(codes)) for s in self.scope], dtype=np.int32)
        op_code = np.array([codes.get(o, -2) for o in ops], dtype=np.int32)
        zc = scope_code[pz]
        keep &= (zc == -1) | (zc == op_code[pv])
        ib = self.inner_box
        far = ~((lon >= ib[0]) & (lon <= ib[2]) & (lat >= ib[1]) & (lat <= ib[3])) & valid
        if far.any():
            keep &= ~(far[pv] & self.clipped[pz])
        pv, pz = pv[keep], pz[keep]
        # most pairs are deep inside big zones: test the shrunk zone first
        inner = shapely.contains_xy(self.inner[pz], x[pv], y[pv])
        hit = inner.copy()
        rest = np.flatnonzero(~inner)
        hit[rest] = shapely.intersects_xy(self.grown[pz[rest]], x[pv[rest]], y[pv[rest]])
        pv, pz, inner = pv[hit], pz[hit], inner[hit]
        exact = inner.copy()
        rest = np.flatnonzero(~inner)
        exact[rest] = shapely.intersects_xy(self.base[pz[rest]], x[pv[rest]], y[pv[rest]])
        if far.any() and len(self._clipped_idx):
            fv, fz = self._far_pairs(np.flatnonzero(far), lon, lat, ops, at)
            pv = np.concatenate([pv, fv])
            pz = np.concatenate([pz, fz])
            ones = np.ones(len(fv), dtype=bool)
            inner = np.concatenate([inner, ones])
            exact = np.concatenate([exact, ones])
            # grid candidates come sorted by vehicle index; keep that order
            order = np.argsort(pv, kind="stable")
            pv, pz, inner, exact = pv[order], pz[order], inner[order], exact[order]
        return Located(x, y, lon, lat, valid, far, pv, pz, inner, exact)

    def _far_pairs(
        self, far_idx: np.ndarray, lon: np.ndarray, lat: np.ndarray, ops: list[str], at: datetime
    ) -> tuple[np.ndarray, np.ndarray]:
        eff = self.effective_mask(at)
        out_v: list[np.ndarray] = []
        out_z: list[np.ndarray] = []
        for k, zi in enumerate(self._clipped_idx):
            if not eff[zi]:
                continue
            inside = shapely.contains_xy(self._clipped_deg[k], lon[far_idx], lat[far_idx])
            scope = self.scope[zi]
            sel = far_idx[inside]
            if scope is not None:
                sel = sel[[ops[i] == scope for i in sel]]
            out_v.append(sel)
            out_z.append(np.full(len(sel), zi, dtype=np.intp))
        if not out_v:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
        return np.concatenate(out_v).astype(np.intp), np.concatenate(out_z)

    def depth_m(self, pv: np.ndarray, pz: np.ndarray, located: Located) -> np.ndarray:
        """Signed distance (m) of each vehicle to its zone's border: > 0 inside, < 0 outside.

        NaN for a vehicle far outside the area of interest in a clipped (huge)
        zone: it is inside, but the depth is not measured.
        """
        if len(pv) == 0:
            return np.empty(0)
        pts = shapely.points(located.x[pv], located.y[pv])
        d = shapely.distance(self.boundary[pz], pts)
        inside = shapely.intersects_xy(self.base[pz], located.x[pv], located.y[pv])
        depth = np.where(inside, d, -d)
        depth[located.far[pv] & self.clipped[pz]] = np.nan
        return depth

    def distance_to_nearest_m(self, zone_idx: np.ndarray, vehicles: np.ndarray, located: Located):
        """Distance (m) from each vehicle to the nearest of the given zones (exact geometry)."""
        if len(vehicles) == 0 or len(zone_idx) == 0:
            return np.full(len(vehicles), np.inf)
        key = tuple(zone_idx.tolist())
        tree = self._nearest.get(key)
        if tree is None:
            tree = self._nearest[key] = shapely.STRtree(self.base[zone_idx])
        pts = shapely.points(located.x[vehicles], located.y[vehicles])
        _, dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
        return dist


@dataclass(frozen=True, slots=True)
class Located:
    """Result of ``PreparedCity.locate``: projected points and (vehicle, zone) pairs.

    Pairs are sorted by vehicle index (zones in a fixed, index-dependent order).
    ``valid`` is False for vehicles without a usable position (never located);
    ``far`` is True for vehicles beyond the margin around the area of interest.
    """

    x: np.ndarray
    y: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    valid: np.ndarray
    far: np.ndarray
    pair_v: np.ndarray
    pair_z: np.ndarray
    pair_inner: np.ndarray
    pair_exact: np.ndarray


def derive_aoi(zones: Sequence[Zone]) -> BBox:
    """The area of interest of ``zones``: the bounds of those spanning less than
    ``LOCAL_ZONE_MAX_SPAN_DEG``. Raises ``ValueError`` when there is none."""
    raw = np.array([z.geometry for z in zones], dtype=object)
    return _derive_aoi(shapely.make_valid(raw) if len(raw) else raw)


def _derive_aoi(raw: np.ndarray) -> BBox:
    if len(raw) == 0:
        raise ValueError("no zones: pass aoi= to PreparedCity")
    b = shapely.bounds(raw)
    span = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
    local = np.isfinite(span) & (span <= LOCAL_ZONE_MAX_SPAN_DEG)
    if not local.any():
        raise ValueError(
            "cannot derive the area of interest: every zone spans more than "
            f"{LOCAL_ZONE_MAX_SPAN_DEG} degree; pass aoi=(lon_min, lat_min, lon_max, lat_max)"
        )
    lb = b[local]
    return (
        float(lb[:, 0].min()),
        float(lb[:, 1].min()),
        float(lb[:, 2].max()),
        float(lb[:, 3].max()),
    )


def zones_fingerprint(zones: Sequence[Zone]) -> tuple:
    """A hashable summary of the zones that changes whenever any zone changes."""
    return tuple(
        (
            z.id,
            z.version,
            z.kind,
            z.operator,
            z.effective_from,
            z.effective_to,
            z.capacity,
            z.buffer_m,
            hash(z.geometry.wkb),
        )
        for z in zones
    )


_CACHE: dict[tuple, PreparedCity] = {}
_CACHE_MAX = 4


def prepare_city(
    zones: Sequence[Zone],
    *,
    tolerance_m: float = 10.0,
    line_half_width_m: float = 1.5,
    aoi: BBox | None = None,
) -> PreparedCity:
    """``PreparedCity`` for these zones, memoised on their content (a few entries kept)."""
    key = (zones_fingerprint(zones), float(tolerance_m), float(line_half_width_m), aoi)
    city = _CACHE.get(key)
    if city is None:
        city = PreparedCity(
            zones, tolerance_m=tolerance_m, line_half_width_m=line_half_width_m, aoi=aoi
        )
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = city
    return city
