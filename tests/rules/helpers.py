"""Builders for rules tests: geometry in metres around Annecy, vehicles, permits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pyproj import Transformer
from shapely.geometry import LineString, Polygon

from gbfs_ingest.model import VehicleState
from rules import Permit, VehicleSnapshot, Zone

LON0, LAT0 = 6.13, 45.90
NOW = datetime(2025, 6, 3, 10, 0, tzinfo=UTC)
_INV = Transformer.from_crs(
    f"+proj=tmerc +lat_0={LAT0} +lon_0={LON0} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m",
    "EPSG:4326",
    always_xy=True,
)


def ll(x: float, y: float) -> tuple[float, float]:
    """(lon, lat) of the point x metres east and y metres north of the origin."""
    lon, lat = _INV.transform(x, y)
    return float(lon), float(lat)


def square(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    """A rectangle given in metres, as a WGS 84 polygon (edges densified)."""
    pts = []
    for (ax, ay), (bx, by) in [
        ((x0, y0), (x1, y0)),
        ((x1, y0), (x1, y1)),
        ((x1, y1), (x0, y1)),
        ((x0, y1), (x0, y0)),
    ]:
        for k in range(10):
            pts.append(ll(ax + (bx - ax) * k / 10, ay + (by - ay) * k / 10))
    return Polygon(pts)


def line(*xy: tuple[float, float]) -> LineString:
    return LineString([ll(x, y) for x, y in xy])


def zone(zid: str, kind: str, geom: Any, **kw: Any) -> Zone:
    return Zone(id=zid, kind=kind, geometry=geom, **kw)  # type: ignore[arg-type]


def vehicle(
    key: str,
    x: float,
    y: float,
    *,
    operator: str = "trotti",
    state: VehicleState = VehicleState.AVAILABLE,
    parked_for: timedelta = timedelta(hours=1),
    **kw: Any,
) -> VehicleSnapshot:
    lon, lat = ll(x, y)
    kw.setdefault("last_seen", NOW)
    kw.setdefault("parked_since", NOW - parked_for)
    kw.setdefault("evidence", (f"fetch:{key}",))
    return VehicleSnapshot(
        key=key, operator=operator, gbfs_id=f"g-{key}", lat=lat, lon=lon, state=state, **kw
    )


def permit(operator: str = "trotti", **kw: Any) -> Permit:
    kw.setdefault("version", 1)
    kw.setdefault("effective_from", NOW - timedelta(days=365))
    return Permit(operator=operator, **kw)
