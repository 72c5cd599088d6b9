"""The nearest address of a position, from the imported national address base (BAN).

One definition for every place that shows an address (map popups, case files,
notices, exports): :func:`nearest_address` for one position,
:func:`nearest_addresses` for many in one query. Distances are geodesic metres
(PostGIS geography); the search uses the GiST index on ``address.geog``
(``<->``, then the exact distance). An address farther than ``max_distance_m``
(``[addresses] max_distance_m``) is no answer: "no address within 60 m" is
more honest than the name of a street across the lake.

The label follows the French postal habit: number and suffix, street, postcode
and the commune residents use. For a merged commune (Annecy since 2017), that is
the former commune, with the new one in brackets: ``12 bis Rue Royale, 74940
Annecy-le-Vieux (Annecy)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

DEFAULT_MAX_DISTANCE_M = 60.0
NO_NUMBER = 99999  # the BAN's number for an address point without a house number

_NEAREST_SQL = text(
    """
    WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography AS g)
    SELECT a.ban_id, a.number, a.suffix, a.street, a.postcode, a.commune_name,
           a.former_commune_name, ST_Distance(a.geog, p.g) AS distance_m
    FROM address a, p
    WHERE ST_DWithin(a.geog, p.g, :max_m)
    ORDER BY a.geog <-> p.g
    LIMIT 1
    """
)

_NEAREST_MANY_SQL = text(
    """
    WITH pts AS (
        SELECT ord, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography AS g
        FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[]))
             WITH ORDINALITY AS t(lon, lat, ord)
    )
    SELECT pts.ord, n.ban_id, n.number, n.suffix, n.street, n.postcode, n.commune_name,
           n.former_commune_name, n.distance_m
    FROM pts
    CROSS JOIN LATERAL (
        SELECT a.ban_id, a.number, a.suffix, a.street, a.postcode, a.commune_name,
               a.former_commune_name, ST_Distance(a.geog, pts.g) AS distance_m
        FROM address a
        WHERE ST_DWithin(a.geog, pts.g, :max_m)
        ORDER BY a.geog <-> pts.g
        LIMIT 1
    ) n
    """
)


@dataclass(frozen=True, slots=True)
class NearestAddress:
    """An address point and how far it is (metres) from the position asked about."""

    ban_id: str
    number: int | None
    suffix: str
    street: str
    postcode: str
    commune: str
    former_commune: str
    distance_m: float

    @property
    def street_line(self) -> str:
        """``12 bis Rue Royale`` (no number for a point without one)."""
        if self.number is None or self.number == NO_NUMBER:
            return self.street
        suffix = f" {self.suffix}" if self.suffix else ""
        return f"{self.number}{suffix} {self.street}"

    @property
    def locality(self) -> str:
        """``74940 Annecy-le-Vieux (Annecy)`` for a merged commune, else ``74000 Annecy``."""
        if self.former_commune and self.former_commune != self.commune:
            return f"{self.postcode} {self.former_commune} ({self.commune})"
        return f"{self.postcode} {self.commune}"

    @property
    def label(self) -> str:
        return f"{self.street_line}, {self.locality}"

    @property
    def distance_rounded_m(self) -> int:
        """The distance to the metre (GPS is good to several metres: no decimals shown)."""
        return round(self.distance_m)

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "street": self.street_line,
            "locality": self.locality,
            "commune": self.commune,
            "former_commune": self.former_commune,
            "distance_m": self.distance_rounded_m,
            "ban_id": self.ban_id,
        }


def _row(row: Any) -> NearestAddress:
    return NearestAddress(
        ban_id=row.ban_id,
        number=row.number,
        suffix=row.suffix,
        street=row.street,
        postcode=row.postcode,
        commune=row.commune_name,
        former_commune=row.former_commune_name,
        distance_m=float(row.distance_m),
    )


def _checked(lon: float, lat: float) -> bool:
    return math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90


def nearest_address(
    session: Session, lon: float, lat: float, max_distance_m: float = DEFAULT_MAX_DISTANCE_M
) -> NearestAddress | None:
    """The address nearest to (lon, lat) within ``max_distance_m`` metres, or None."""
    if not _checked(lon, lat):
        return None
    row = session.execute(
        _NEAREST_SQL, {"lon": float(lon), "lat": float(lat), "max_m": float(max_distance_m)}
    ).first()
    return None if row is None else _row(row)


def nearest_addresses(
    session: Session,
    points: Sequence[tuple[float, float]],
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
) -> list[NearestAddress | None]:
    """The nearest address of each (lon, lat) in ``points`` (same order), in one query."""
    out: list[NearestAddress | None] = [None] * len(points)
    valid = [i for i, (lon, lat) in enumerate(points) if _checked(lon, lat)]
    if not valid:
        return out
    rows = session.execute(
        _NEAREST_MANY_SQL,
        {
            "lons": [float(points[i][0]) for i in valid],
            "lats": [float(points[i][1]) for i in valid],
            "max_m": float(max_distance_m),
        },
    ).all()
    for row in rows:
        out[valid[row.ord - 1]] = _row(row)
    return out


def address_count(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM address")).scalar_one())
