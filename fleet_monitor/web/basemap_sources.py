"""The base map's local sources: a raster MBTiles file and a GeoJSON street layer.

Both are opened and checked once, when the app starts (:func:`load_basemap`);
a file that is not what the configuration says raises ``ConfigError`` naming
the key, so that a wrong path is an explanation at start rather than a grey
map. Nothing here reads the database.

**MBTiles** (https://github.com/mapbox/mbtiles-spec, 1.3): a SQLite database
with a ``tiles`` table (``zoom_level``, ``tile_column``, ``tile_row``,
``tile_data``) whose rows follow the TMS scheme (row 0 at the south), and a
``metadata`` table (``format``, ``minzoom``, ``maxzoom``, ``bounds``,
``attribution``...). The file is opened read-only (``mode=ro``: the app can
never write to it), one connection per request (SQLite connections are cheap
and must not cross threads). Only raster formats (png, jpg, webp) are served:
a vector MBTiles (``pbf``) needs a renderer Leaflet does not have.

**Streets**: a GeoJSON FeatureCollection of LineStrings / MultiLineStrings
with a ``name`` property, and ``rank`` (``main`` draws a wider, coloured
avenue). The demo writes the simulated city's; an OSM extract converted with
ogr2ogr works too. Names are checked text, sent to the
page as JSON and shown with ``textContent``.
"""

from __future__ import annotations

import math
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from fleet_monitor.settings import ConfigError, WebSettings

RASTER_FORMATS = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
}
MAX_STREETS_BYTES = 20 * 1024 * 1024
MAX_STREET_NAME = 120
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True, slots=True)
class MBTiles:
    """A checked raster MBTiles file."""

    path: Path
    mimetype: str
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float] | None  # west, south, east, north
    attribution: str
    version: str  # changes when the file does (ETag)

    def connect(self) -> sqlite3.Connection:
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        return sqlite3.connect(uri, uri=True, check_same_thread=True)

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile at XYZ (z, x, y) (y from the north, as Leaflet asks), or None."""
        if not self.min_zoom <= z <= self.max_zoom:
            return None
        tms_row = (1 << z) - 1 - y  # MBTiles rows count from the south (TMS)
        with closing(self.connect()) as conn:
            row = conn.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ?"
                " AND tile_row = ?",
                (z, x, tms_row),
            ).fetchone()
        if row is None or not isinstance(row[0], bytes):
            return None
        return row[0]


@dataclass(frozen=True, slots=True)
class BaseMap:
    """What the pages need to draw the base layer."""

    mbtiles: MBTiles | None = None
    streets: dict[str, Any] | None = None
    streets_version: str = ""


def _plain(value: Any, limit: int = 300) -> str:
    text = str(value or "").strip()
    return "" if _CONTROL.search(text) else text[:limit]


def open_mbtiles(path_text: str) -> MBTiles:
    """Open and check a raster MBTiles file (``ConfigError`` at ``web.basemap_mbtiles``)."""
    key = "web.basemap_mbtiles"
    path = Path(path_text)
    try:
        with path.open("rb") as f:
            magic = f.read(16)
    except OSError as exc:
        raise ConfigError(key, f"cannot read {path}: {exc.strerror}") from None
    if magic != b"SQLite format 3\x00":
        raise ConfigError(key, f"{path} is not an MBTiles file (not an SQLite database)")
    probe = MBTiles(path, "", 0, 0, None, "", "")
    try:
        with closing(probe.connect()) as conn:
            meta = dict(conn.execute("SELECT name, value FROM metadata").fetchall())
            zooms = conn.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles").fetchone()
    except sqlite3.DatabaseError as exc:
        raise ConfigError(key, f"{path} is not an MBTiles file ({exc})") from None
    fmt = _plain(meta.get("format", "png")).lower()
    if fmt not in RASTER_FORMATS:
        raise ConfigError(
            key, f"{path}: tile format {fmt!r} is not a raster format (png, jpg or webp)"
        )
    if zooms is None or zooms[0] is None:
        raise ConfigError(key, f"{path} holds no tiles")
    min_zoom = max(0, int(zooms[0]))
    max_zoom = min(22, int(zooms[1]))
    bounds = None
    try:
        parts = [float(v) for v in str(meta.get("bounds", "")).split(",")]
        if len(parts) == 4 and all(math.isfinite(p) for p in parts):
            w, s, e, n = parts
            if -180 <= w < e <= 180 and -85.06 <= s < n <= 85.06:
                bounds = (w, s, e, n)
    except ValueError:
        bounds = None
    stat = path.stat()
    return MBTiles(
        path=path,
        mimetype=RASTER_FORMATS[fmt],
        min_zoom=min_zoom,
        max_zoom=max_zoom,
        bounds=bounds,
        attribution=_plain(meta.get("attribution")) or _plain(meta.get("name")) or path.stem,
        version=f"{stat.st_mtime_ns:x}-{stat.st_size:x}",
    )


def _line_coords(geometry: Any) -> bool:
    if not isinstance(geometry, dict):
        return False
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    lines = [coords] if kind == "LineString" else coords if kind == "MultiLineString" else None
    if not isinstance(lines, list):
        return False
    for line in lines:
        if not isinstance(line, list) or len(line) < 2:
            return False
        for pt in line:
            if (
                not isinstance(pt, list)
                or len(pt) < 2
                or not all(isinstance(c, int | float) and math.isfinite(c) for c in pt[:2])
                or not (-180 <= pt[0] <= 180 and -90 <= pt[1] <= 90)
            ):
                return False
    return True


def load_streets(path_text: str) -> dict[str, Any]:
    """The street layer, checked: named lines only (others are left out)."""
    key = "web.basemap_streets"
    path = Path(path_text)
    try:
        size = path.stat().st_size
        if size > MAX_STREETS_BYTES:
            raise ConfigError(key, f"{path}: {size:,} bytes (at most {MAX_STREETS_BYTES:,})")
        doc = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise ConfigError(key, f"cannot read {path}: {exc.strerror}") from None
    except orjson.JSONDecodeError:
        raise ConfigError(key, f"{path} is not JSON") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("features"), list):
        raise ConfigError(key, f"{path} is not a GeoJSON FeatureCollection")
    features = []
    for f in doc["features"]:
        if not isinstance(f, dict) or not _line_coords(f.get("geometry")):
            continue
        props = f.get("properties")
        if not isinstance(props, dict):
            props = {}
        name = _plain(props.get("name"), MAX_STREET_NAME)
        rank = "main" if props.get("rank") == "main" else "local"
        features.append(
            {
                "type": "Feature",
                "properties": {"name": name, "rank": rank},
                "geometry": f["geometry"],
            }
        )
    if not features:
        raise ConfigError(key, f"{path} holds no LineString features")
    return {"type": "FeatureCollection", "features": features}


def load_basemap(web: WebSettings) -> BaseMap:
    """The local base map sources of the settings, opened and checked."""
    mbtiles = open_mbtiles(web.basemap_mbtiles) if web.basemap_mbtiles else None
    streets = load_streets(web.basemap_streets) if web.basemap_streets else None
    version = ""
    if web.basemap_streets:
        stat = Path(web.basemap_streets).stat()
        version = f"{stat.st_mtime_ns:x}-{stat.st_size:x}"
    return BaseMap(mbtiles=mbtiles, streets=streets, streets_version=version)
