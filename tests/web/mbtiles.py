"""Raster MBTiles files for the tests, written with the standard library only.

Each tile is a 256 x 256 PNG of one colour that encodes its XYZ address
(:func:`tile_colour`), with a darker 8-pixel border, stored at its TMS row
(``2^z - 1 - y``) as the MBTiles specification says: a server that forgets to
flip rows serves a tile of another colour, which the tests see.
"""

from __future__ import annotations

import math
import sqlite3
import struct
import zlib
from pathlib import Path

SIZE = 256


def tile_colour(z: int, x: int, y: int) -> tuple[int, int, int]:
    return (40 + (x * 37) % 180, 40 + (y * 53) % 180, 60 + z * 10)


def png(colour: tuple[int, int, int], size: int = SIZE, border: int = 8) -> bytes:
    dark = tuple(c // 2 for c in colour)
    edge = bytes(dark) * size
    middle = bytes(dark) * border + bytes(colour) * (size - 2 * border) + bytes(dark) * border
    raw = b"".join(
        b"\x00" + (edge if r < border or r >= size - border else middle) for r in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def lonlat_to_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    lat_r = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n)
    return x, y


def write_mbtiles(
    path: Path,
    bounds: tuple[float, float, float, float],
    zooms: range,
    *,
    fmt: str = "png",
    attribution: str = "Test tiles © City of Annecy",
) -> int:
    """An MBTiles file covering ``bounds`` (west, south, east, north); the tile count."""
    w, s, e, n = bounds
    count = 0
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE metadata (name text, value text)")
        conn.execute(
            "CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer,"
            " tile_data blob)"
        )
        conn.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
        meta = {
            "name": "test",
            "format": fmt,
            "bounds": f"{w},{s},{e},{n}",
            "minzoom": str(zooms.start),
            "maxzoom": str(zooms.stop - 1),
            "attribution": attribution,
        }
        conn.executemany("INSERT INTO metadata VALUES (?, ?)", meta.items())
        for z in zooms:
            x0, y0 = lonlat_to_tile(w, n, z)
            x1, y1 = lonlat_to_tile(e, s, z)
            for x in range(x0, x1 + 1):
                for y in range(y0, y1 + 1):
                    tms = (1 << z) - 1 - y
                    conn.execute(
                        "INSERT INTO tiles VALUES (?, ?, ?, ?)",
                        (z, x, tms, png(tile_colour(z, x, y))),
                    )
                    count += 1
    return count
