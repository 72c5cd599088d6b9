"""The base map's configuration: which tile source, with which attribution.

Three sources, by precedence (docs/basemap.md):

1. ``[web] tile_url``: a remote tile server, as a Leaflet URL template. XYZ
   (``https://tile.openstreetmap.org/{z}/{x}/{y}.png``) or a WMTS ``GetTile``
   request in key-value form whose ``TILEMATRIX``/``TILEROW``/``TILECOL`` are
   ``{z}``/``{y}``/``{x}`` on a Web Mercator tile matrix set (the IGN
   Géoplateforme's ``PM``): Leaflet asks both the same way.
2. ``[web] basemap_mbtiles``: a raster MBTiles file served by the app itself
   (:mod:`fleet_monitor.web.basemap`), for intranets without internet.
3. ``[web] basemap_streets``: a GeoJSON file of named street lines drawn as a
   light vector base map (the demo writes the simulated city's streets).

With none, the map shows the zones on a plain background.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

MAX_ZOOM = 22
# attributions of the well-known sources, when the configuration gives none
KNOWN_ATTRIBUTIONS = (
    ("openstreetmap.org", "© OpenStreetMap contributors"),
    ("openstreetmap.fr", "© OpenStreetMap contributors"),
    ("geopf.fr", "© IGN Géoplateforme – Plan IGN"),
    ("ign.fr", "© IGN"),
)
_PLACEHOLDERS = ("{z}", "{x}", "{y}")


def basemap_problem(web: Any) -> tuple[str, str] | None:
    """``(key, problem)`` for a wrong base map setting, or None."""
    url = web.tile_url
    if url:
        parts = urlsplit(url.replace("{s}", "a"))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return "web.tile_url", "must be an http(s):// URL template"
        if "@" in parts.netloc:
            return "web.tile_url", "must not hold credentials (user:password@)"
        if "{" in parts.netloc.replace("{s}", ""):
            return "web.tile_url", "only {s} may appear in the host name"
        missing = [p for p in _PLACEHOLDERS if p not in url]
        if missing:
            return "web.tile_url", (
                f"needs the placeholders {', '.join(missing)} (XYZ, or WMTS GetTile with "
                "TILEMATRIX={z}&TILEROW={y}&TILECOL={x})"
            )
        if web.basemap_mbtiles:
            return "web.basemap_mbtiles", "give either tile_url or basemap_mbtiles, not both"
    if not 0 <= web.tile_max_zoom <= MAX_ZOOM:
        return "web.tile_max_zoom", f"must be between 0 and {MAX_ZOOM}"
    if len(web.tile_attribution) > 300 or any(ord(c) < 32 for c in web.tile_attribution):
        return "web.tile_attribution", "must be one line of plain text (300 characters at most)"
    return None


def tile_attribution(tile_url: str, configured: str = "") -> str:
    """The plain-text attribution of a tile source: the configured one, else a known one."""
    if configured:
        return configured
    host = urlsplit(tile_url.replace("{s}", "a")).hostname or ""
    for suffix, text in KNOWN_ATTRIBUTIONS:
        if host == suffix or host.endswith("." + suffix):
            return text
    return host or "tiles"
