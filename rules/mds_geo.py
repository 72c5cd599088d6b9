"""MDS 2.0 Geography objects for the city's zones, and non-overlapping rule geographies.

A zone version is one geography (``geography_id`` a UUIDv5 of the zone id and
version: a new version is a new geography, the old one stays as published).
Lines (tram tracks) and other non-areal zones are published as the area they
cover: buffered in metres (a local transverse Mercator, never in degrees) by
their ``buffer_m`` or the city's line half-width.

MDS requires each rule's ``geographies`` not to overlap (a vehicle inside two
of them would be counted twice). ``GeographyCatalog.for_rule`` checks the
zones a rule names, in metres; zones whose areas overlap (the lake and a
canal, two tram corridors that cross) are *dissolved* into one geography, the
union of their areas, identified by the member versions (a UUIDv5 of the
sorted member geography ids: a member's new version makes a new union). Zones
that only touch along a border stay separate.

Names and descriptions are MDS strings: at most 255 characters, one line
(``sanitize_text``). Timestamps are integer milliseconds, on or after
2018-01-01 (``published_date`` is the publication time; ``effective_date``
never precedes it).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from rules.geo import grow_bbox, local_crs
from rules.inputs import Zone

NAMESPACE = uuid.UUID("6f1c1d4e-7a8b-5c2d-9e0f-a1b2c3d4e5f6")
#: MDS timestamps must be on or after 2018-01-01
EPOCH_FLOOR = datetime(2018, 1, 1, tzinfo=UTC)
MAX_TEXT = 255
GEOGRAPHY_TYPES = {"district": "neighborhood", "operating_area": "municipal_boundary"}
#: overlaps smaller than this (m²) are rounding noise along a shared border
OVERLAP_TOLERANCE_M2 = 0.5
#: overlaps are looked for this far around the city's zones
WINDOW_MARGIN_M = 50_000.0
#: coordinates are published to 7 decimals (about 1 cm)
COORD_DECIMALS = 7


def mds_uuid(name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, name))


def ms(value: datetime) -> int:
    """Integer milliseconds since the epoch."""
    return int(value.timestamp() * 1000)


def sanitize_text(value: str, fallback: str = "-") -> str:
    """One line of at most 255 characters (control characters become spaces)."""
    text = "".join(c if c.isprintable() else " " for c in value)
    text = " ".join(text.split())
    if not text:
        text = fallback
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def geography_id(zone: Zone, line_half_width_m: float = 1.5) -> str:
    """UUIDv5 of the zone version; for a line, of its published width too (another
    width is another area, hence another geography)."""
    name = f"geography:{zone.id}:v{zone.version}"
    if zone.geometry.geom_type not in ("Polygon", "MultiPolygon"):
        name += f":half-width-{zone.buffer_m or line_half_width_m:g}m"
    return mds_uuid(name)


def _apply(t: Transformer, xy: np.ndarray) -> np.ndarray:
    x, y = t.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


@dataclass(slots=True)
class MetricFrame:
    """One local metric CRS for all the zones of a publication."""

    fwd: Transformer
    inv: Transformer
    #: lon_min, lat_min, lon_max, lat_max: where overlaps are looked for
    window: tuple[float, float, float, float]

    @classmethod
    def around(cls, geoms: Sequence[BaseGeometry]) -> MetricFrame:
        local = [g for g in geoms if (b := g.bounds) and b[2] - b[0] < 1 and b[3] - b[1] < 1]
        envelope = shapely.union_all([g.envelope for g in (local or geoms)])
        c = envelope.centroid
        crs = local_crs(c.x, c.y)
        return cls(
            Transformer.from_crs("EPSG:4326", crs, always_xy=True),
            Transformer.from_crs(crs, "EPSG:4326", always_xy=True),
            grow_bbox(envelope.bounds, WINDOW_MARGIN_M),
        )

    def to_metres(self, geom: BaseGeometry) -> BaseGeometry:
        return shapely.transform(geom, lambda xy: _apply(self.fwd, xy))

    def to_degrees(self, geom: BaseGeometry) -> BaseGeometry:
        return shapely.transform(geom, lambda xy: _apply(self.inv, xy))


@dataclass(slots=True)
class GeographyCatalog:
    """The geographies of one publication: zone versions and the unions rules need.

    ``documents`` (id -> MDS Geography object) and ``lineage`` (id -> a key shared
    by the successive versions of the same thing: ``zone:<id>`` or
    ``union:<sorted zone ids>``) hold every geography a rule used."""

    zones: Sequence[Zone]
    published_at: datetime
    line_half_width_m: float = 1.5
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    lineage: dict[str, str] = field(default_factory=dict)
    #: id -> the operator a geography is restricted to (a zone of one operator only)
    operator: dict[str, str | None] = field(default_factory=dict)
    _areas: dict[tuple[str, int], BaseGeometry] = field(default_factory=dict)
    _metric_areas: dict[tuple[str, int], BaseGeometry] = field(default_factory=dict)
    _metric: MetricFrame | None = None

    def metric(self) -> MetricFrame:
        if self._metric is None:
            self._metric = MetricFrame.around(
                [z.geometry for z in self.zones] or [shapely.Point(0, 0)]
            )
        return self._metric

    def area_deg(self, zone: Zone) -> BaseGeometry:
        """The zone's area in degrees (lines buffered in metres, invalid polygons repaired)."""
        key = (zone.id, zone.version)
        if key not in self._areas:
            geom = zone.geometry
            if not geom.is_valid:
                geom = shapely.make_valid(geom)
            if zone.geometry.geom_type not in ("Polygon", "MultiPolygon"):
                metric = self.metric().to_metres(geom)
                area = shapely.buffer(metric, zone.buffer_m or self.line_half_width_m)
                geom = self.metric().to_degrees(area)
            self._areas[key] = _polygonal(geom)
        return self._areas[key]

    def area_m(self, zone: Zone) -> BaseGeometry:
        """The zone's area in metres, clipped to the city's surroundings (a zone may
        cover the whole world; only the overlaps near the city matter)."""
        key = (zone.id, zone.version)
        if key not in self._metric_areas:
            area = shapely.clip_by_rect(self.area_deg(zone), *self.metric().window)
            self._metric_areas[key] = self.metric().to_metres(area)
        return self._metric_areas[key]

    def _geometry_json(self, area_deg: BaseGeometry) -> dict[str, Any]:
        geom = shapely.set_precision(area_deg, 10**-COORD_DECIMALS)
        return mapping(_polygonal(shapely.make_valid(geom)))

    def _dates(self, zones: Sequence[Zone]) -> dict[str, int]:
        published = max(self.published_at, EPOCH_FLOOR)
        starts = [z.effective_from for z in zones if z.effective_from is not None]
        effective = max([published, *starts])
        dates = {"published_date": ms(published), "effective_date": ms(effective)}
        ends = [z.effective_to for z in zones if z.effective_to is not None]
        if len(ends) == len(zones) and ends and min(ends) > effective:
            dates["retire_date"] = ms(min(ends))
        return dates

    def zone_geography(self, zone: Zone) -> str:
        gid = geography_id(zone, self.line_half_width_m)
        if gid in self.documents:
            return gid
        props: dict[str, Any] = {"zone_id": zone.id, "kind": zone.kind, "version": zone.version}
        if zone.capacity is not None:
            props["capacity"] = zone.capacity
        if zone.operator is not None:
            props["operator"] = zone.operator
        description = f"{zone.kind} zone {zone.id} v{zone.version}" + (
            f" (operator {zone.operator} only)" if zone.operator else ""
        )
        self.documents[gid] = {
            "name": sanitize_text(zone.name or zone.id),
            "description": sanitize_text(description),
            "geography_type": GEOGRAPHY_TYPES.get(zone.kind, "policy_zone"),
            "geography_id": gid,
            "geography_json": {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": self._geometry_json(self.area_deg(zone)),
                        "properties": props,
                    }
                ],
            },
            **self._dates([zone]),
        }
        self.lineage[gid] = f"zone:{zone.id}"
        self.operator[gid] = zone.operator
        return gid

    def _union_geography(self, members: Sequence[Zone]) -> str:
        ids = sorted(geography_id(z, self.line_half_width_m) for z in members)
        gid = mds_uuid("union:" + ",".join(ids))
        if gid in self.documents:
            return gid
        area = shapely.union_all([self.area_deg(z) for z in members])
        names = ", ".join(sorted(z.name or z.id for z in members))
        described = ", ".join(f"{z.id} v{z.version}" for z in sorted(members, key=lambda z: z.id))
        self.documents[gid] = {
            "name": sanitize_text(names),
            "description": sanitize_text(
                f"Union of overlapping zones {described} (a rule's geographies must not overlap)"
            ),
            "geography_type": "policy_zone",
            "geography_id": gid,
            "geography_json": {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": self._geometry_json(area),
                        "properties": {
                            "zone_ids": sorted(z.id for z in members),
                            "versions": {z.id: z.version for z in members},
                        },
                    }
                ],
            },
            **self._dates(members),
        }
        self.lineage[gid] = "union:" + ",".join(sorted(z.id for z in members))
        self.operator[gid] = next((z.operator for z in members if z.operator), None)
        return gid

    def for_rule(self, zones: Sequence[Zone]) -> list[str]:
        """Geography ids for a rule over ``zones``: overlapping zones dissolved (see above)."""
        zones = sorted({(z.id, z.version): z for z in zones}.values(), key=lambda z: z.id)
        groups = overlap_groups([self.area_m(z) for z in zones])
        out = []
        for group in groups:
            members = [zones[i] for i in group]
            out.append(
                self.zone_geography(members[0])
                if len(members) == 1
                else self._union_geography(members)
            )
        return sorted(set(out))


def overlap_groups(areas: Sequence[BaseGeometry]) -> list[list[int]]:
    """Indexes of ``areas`` (metric) grouped so that areas of different groups do not
    overlap (connected components of the "overlaps by more than 0.5 m²" relation)."""
    parent = list(range(len(areas)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    tree = shapely.STRtree(list(areas))
    for i, a in enumerate(areas):
        for j in tree.query(a):
            j = int(j)
            if j > i and shapely.intersection(a, areas[j]).area > OVERLAP_TOLERANCE_M2:
                parent[find(j)] = find(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(areas)):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def areas_overlap(a: BaseGeometry, b: BaseGeometry) -> bool:
    return bool(shapely.intersection(a, b).area > OVERLAP_TOLERANCE_M2)
