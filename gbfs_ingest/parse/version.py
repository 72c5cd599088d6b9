"""GBFS version detection and normalisation.

Normalised versions are "1.0", "1.1", "2.0".."2.3", "3.0", "3.1". Real feeds
write ``"v2.3"``, ``"3.1-RC3"`` or nothing at all (1.0 had no ``version``
field; some 1.1+ feeds forget it).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["KNOWN_VERSIONS", "detect_version", "normalise_version", "version_family"]

KNOWN_VERSIONS = ("1.0", "1.1", "2.0", "2.1", "2.2", "2.3", "3.0", "3.1")
_LATEST_MINOR = {1: 1, 2: 3, 3: 1}
_VERSION = re.compile(r"^\s*[vV]?\s*(\d+)(?:\.(\d+))?")
# Fields that appeared in 1.1: their presence in a version-less file means 1.1.
_V11_DATA_KEYS = ("versions", "rental_apps")
_V11_RECORD_KEYS = ("rental_uris",)
_SHAPE_SAMPLE = 50
_MAX_VERSION_CHARS = 32  # "3.1-RC3" is 7; a longer string is not a version


def normalise_version(raw: object) -> tuple[str | None, bool]:
    """``"v2.3"`` -> ("2.3", True); ``"3.1-RC3"`` -> ("3.1", True).

    The flag is False when the value had to be approximated (``"2.4"`` ->
    "2.3", ``"2"`` -> "2.3"); the version is None when it is unusable.
    """
    if isinstance(raw, bool) or raw is None:
        return None, False
    if isinstance(raw, int | float):
        raw = f"{raw:.1f}" if isinstance(raw, float) else str(raw)
    if not isinstance(raw, str) or len(raw) > _MAX_VERSION_CHARS:
        return None, False
    match = _VERSION.match(raw)
    if match is None:
        return None, False
    major = int(match.group(1))
    if major not in _LATEST_MINOR:
        return None, False
    latest = _LATEST_MINOR[major]
    if match.group(2) is None:
        return f"{major}.{latest}", False
    minor = int(match.group(2))
    if minor > latest:
        return f"{major}.{latest}", False
    return f"{major}.{minor}", True


def version_family(version: str) -> str:
    """ "1", "2" or "3"."""
    return version[0]


def detect_version(doc: dict[str, Any], declared: str | None = None) -> tuple[str, bool]:
    """The file's GBFS version and whether it was guessed.

    Order: the file's own ``version``; else ``declared`` (e.g. from gbfs.json
    or gbfs_versions.json); else the shape: an RFC 3339 ``last_updated``, a
    flat ``data.feeds`` list, ``data.vehicles`` or ``data.datasets`` mean 3.0;
    otherwise 1.x, "1.1" if 1.1-only fields are present, else "1.0".
    """
    own, exact = normalise_version(doc.get("version"))
    if own is not None:
        return own, not exact
    if declared is not None:
        hinted, exact = normalise_version(declared)
        if hinted is not None:
            return hinted, not exact
    return _guess_from_shape(doc), True


def _guess_from_shape(doc: dict[str, Any]) -> str:
    last_updated = doc.get("last_updated")
    if isinstance(last_updated, str) and not last_updated.strip().isdigit():
        return "3.0"
    data = doc.get("data")
    if not isinstance(data, dict):
        return "1.0"
    if isinstance(data.get("feeds"), list) or "vehicles" in data or "datasets" in data:
        return "3.0"
    if any(key in data for key in _V11_DATA_KEYS):
        return "1.1"
    for value in data.values():
        if isinstance(value, dict) and isinstance(value.get("feeds"), list):
            # 1.x discovery: gbfs_versions.json only exists from 1.1.
            if any(
                isinstance(feed, dict) and feed.get("name") == "gbfs_versions"
                for feed in value["feeds"]
            ):
                return "1.1"
        elif isinstance(value, list):
            for record in value[:_SHAPE_SAMPLE]:
                if isinstance(record, dict) and any(k in record for k in _V11_RECORD_KEYS):
                    return "1.1"
    return "1.0"
