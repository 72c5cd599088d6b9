"""Binary COPY for the store's bulky writes: points as EWKB bytes, no text formatting.

A binary COPY costs about a third of a text one per row (no formatting on our
side, no parsing on the server's). Geometry columns take EWKB bytes, which
PostGIS reads with ``geometry_recv``; the dumper for them is registered once
per connection (:func:`register_geometry`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from psycopg.adapt import Dumper
from psycopg.pq import Format
from psycopg.types import TypeInfo

_EWKB_POINT = struct.Struct("<BIIdd").pack  # little endian, Point with SRID, SRID, x, y


def ewkb(lat: float | None, lon: float | None) -> bytes | None:
    """A point as EWKB (exact doubles), for binary COPY into a geometry column."""
    if lat is None or lon is None:
        return None
    return _EWKB_POINT(1, 0x20000001, 4326, lon, lat)


class _GeometryBinaryDumper(Dumper):
    """EWKB bytes as a PostGIS geometry in binary COPY (``geometry_recv`` reads EWKB)."""

    format = Format.BINARY

    def dump(self, obj: Any) -> bytes:
        return obj


def register_geometry(conn: Any) -> None:
    """Once per connection: the geometry type and its binary dumper, for COPY.

    Before the poll's cursor is made: a cursor copies the connection's adapters.
    """
    if conn.adapters.types.get("geometry") is not None:
        return
    info = TypeInfo.fetch(conn, "geometry")
    if info is None:
        raise RuntimeError("the PostGIS geometry type is missing from the database")
    info.register(conn)
    conn.adapters.register_dumper(
        None, type("GeometryDumper", (_GeometryBinaryDumper,), {"oid": info.oid})
    )


@contextmanager
def binary_copy(cur: Any, statement: str, types: list[str]) -> Iterator[Any]:
    """A binary COPY (no text formatting and parsing: ~3x cheaper per row).

    ``geometry`` columns take EWKB bytes (see :func:`register_geometry`). If
    the types cannot be set, leaving the block ends the COPY with an error, so
    the connection stays usable.
    """
    geometry = cur.adapters.types["geometry"].oid if "geometry" in types else None
    with cur.copy(f"{statement} FROM STDIN (FORMAT BINARY)") as cp:
        cp.set_types([geometry if t == "geometry" else t for t in types])
        yield cp
