"""Parse GBFS files of any version (1.0 - 3.1) into the normalised model.

Public API::

    detect_version(doc, declared=None) -> (version, guessed)
    parse_discovery(doc, preferred_languages) -> Discovery
    parse_manifest(doc) -> list[ManifestEntry]
    parse_feed(feed_type, doc, version, *, languages=()) -> ParsedFeed
    parse_bytes(feed_type, raw, version_hint=None, *, languages=()) -> ParsedFeed
    merge_stations(information, status) -> list[Station]

Parsers never raise on bad *records*: they drop and count them, coerce what is
unambiguous and explain everything in ``ParsedFeed.findings`` (aggregated per
quirk). Only a body that is not a GBFS envelope raises :class:`ParseError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson

from gbfs_ingest.model import FeedType, Finding, ParsedFeed

from ._common import (
    INFO,
    WARNING,
    Ctx,
    FindingCollector,
    ParseError,
    gc_paused,
    read_envelope,
)
from .discovery import (
    choose_language,
    parse_discovery,
    parse_gbfs_versions,
    parse_manifest,
)
from .geofencing import parse_geofencing_v2, parse_geofencing_v3, parse_global_rules
from .stations import (
    HUGE_STATION_COUNT,
    SENTINEL_CAPACITY,
    merge_stations,
    parse_station_information_v1,
    parse_station_information_v2,
    parse_station_information_v3,
    parse_station_status_v1,
    parse_station_status_v2,
    parse_station_status_v3,
)
from .system import (
    parse_pricing_plans,
    parse_regions,
    parse_system_information,
    parse_vehicle_types,
)
from .vehicles import (
    LEGACY_TYPE_PREFIX,
    legacy_vehicle_type,
    parse_vehicle_status_v1,
    parse_vehicle_status_v2,
    parse_vehicle_status_v3,
)
from .version import KNOWN_VERSIONS, detect_version, normalise_version

__all__ = [
    "HUGE_STATION_COUNT",
    "KNOWN_VERSIONS",
    "LEGACY_TYPE_PREFIX",
    "SENTINEL_CAPACITY",
    "ParseError",
    "choose_language",
    "detect_version",
    "legacy_vehicle_type",
    "merge_stations",
    "normalise_version",
    "parse_bytes",
    "parse_discovery",
    "parse_feed",
    "parse_manifest",
]

_BYTES_PER_RECORD = 200  # rough size of one vehicle/station in a body, for the GC pause
_Parser = Callable[[Ctx, dict[str, Any]], list[Any]]


def _same(parser: _Parser) -> dict[str, _Parser]:
    return {"1": parser, "2": parser, "3": parser}


# feed type -> version family ("1", "2", "3") -> parser of data
_PARSERS: dict[FeedType, dict[str, _Parser]] = {
    FeedType.VEHICLE_STATUS: {
        "1": parse_vehicle_status_v1,
        "2": parse_vehicle_status_v2,
        "3": parse_vehicle_status_v3,
    },
    FeedType.STATION_INFORMATION: {
        "1": parse_station_information_v1,
        "2": parse_station_information_v2,
        "3": parse_station_information_v3,
    },
    FeedType.STATION_STATUS: {
        "1": parse_station_status_v1,
        "2": parse_station_status_v2,
        "3": parse_station_status_v3,
    },
    # geofencing_zones exists from 2.1; a 1.x file is read with the 2.x rules.
    FeedType.GEOFENCING_ZONES: {
        "1": parse_geofencing_v2,
        "2": parse_geofencing_v2,
        "3": parse_geofencing_v3,
    },
    FeedType.SYSTEM_INFORMATION: _same(parse_system_information),
    FeedType.VEHICLE_TYPES: _same(parse_vehicle_types),
    FeedType.SYSTEM_REGIONS: _same(parse_regions),
    FeedType.SYSTEM_PRICING_PLANS: _same(parse_pricing_plans),
    FeedType.GBFS_VERSIONS: _same(parse_gbfs_versions),
}


def parse_feed(
    feed_type: FeedType,
    doc: dict[str, Any],
    version: str | None,
    *,
    languages: Sequence[str] = (),
) -> ParsedFeed:
    """Parse one decoded GBFS file.

    ``version`` is what the caller believes (from discovery or
    :func:`detect_version`); a file that states its own version is parsed as
    that version, with an info finding when they differ. ``languages`` orders
    the choice among 3.x localized strings and discovery languages.
    """
    data = _envelope_data(doc)
    fc = FindingCollector()
    used, guessed = detect_version(doc, version)
    _version_findings(doc, version, used, guessed, fc)
    if feed_type is FeedType.GBFS:
        discovery = parse_discovery(doc, languages, version=used, findings=fc)
        return ParsedFeed(
            feed_type,
            discovery.version,
            discovery.last_updated,
            discovery.ttl,
            findings=fc.to_list(),
            discovery=discovery,
        )
    ctx = Ctx(used, fc, None, languages)
    ctx.last_updated, ttl = read_envelope(doc, ctx)
    result = ParsedFeed(feed_type, used, ctx.last_updated, ttl)
    if feed_type is FeedType.MANIFEST:
        result.manifest = parse_manifest(doc, findings=fc)
    elif feed_type in _PARSERS:
        parser = _PARSERS[feed_type][ctx.family]
        with gc_paused(_largest_array(data)):
            result.records = parser(ctx, data)
        if feed_type is FeedType.GEOFENCING_ZONES:
            result.global_rules = parse_global_rules(ctx, data)
    else:
        fc.add(INFO, "feed.not_normalised", "/data", f"{feed_type.value}: no normalised model")
    result.invalid_records = ctx.dropped
    result.findings = fc.to_list()
    return result


def parse_bytes(
    feed_type: FeedType,
    raw: bytes,
    version_hint: str | None = None,
    *,
    languages: Sequence[str] = (),
) -> ParsedFeed:
    """Decode a fetched body (orjson) and parse it; :class:`ParseError` if unusable."""
    body = raw[3:] if raw[:3] == b"\xef\xbb\xbf" else raw  # UTF-8 BOM
    # One GC pause over decoding and parsing; the decoded document is released
    # before the collector runs again, so it only ever sees the parsed records.
    with gc_paused(len(body) // _BYTES_PER_RECORD):
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            start = bytes(body[:60]).decode("utf-8", "replace").strip()
            hint = " (empty body)" if not body.strip() else f" (starts with {start!r})"
            raise ParseError(f"{feed_type.value}: body is not JSON: {exc}{hint}") from exc
        result = parse_feed(feed_type, doc, version_hint, languages=languages)
        del doc
    if body is not raw:
        result.findings.append(_bom_finding())
    return result


def _envelope_data(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise ParseError(f"not a GBFS document: top level is {type(doc).__name__}, not an object")
    data = doc.get("data")
    if not isinstance(data, dict):
        found = "missing" if data is None else type(data).__name__
        raise ParseError(f"not a GBFS envelope: 'data' object {found}")
    return data


def _version_findings(
    doc: dict[str, Any], declared: str | None, used: str, guessed: bool, fc: FindingCollector
) -> None:
    own = doc.get("version")
    if own is None:
        if guessed:
            fc.add(INFO, "version.guessed", "/version", f"no version field: read as {used}")
        return
    if own != used:
        # "3.1-RC3" is a real version name; "v2.3", "2.4" or a number are not
        exact = normalise_version(own)[1] and isinstance(own, str) and own[:1].isdigit()
        message = f"version {own!r} read as {used!r}"
        fc.add(INFO if exact else WARNING, "coerce.version", "/version", message)
    hinted = normalise_version(declared)[0] if declared is not None else None
    if hinted is not None and hinted != used:
        fc.add(INFO, "version.mismatch", "/version", f"file says {used}, caller said {declared}")


def _largest_array(data: dict[str, Any]) -> int:
    return max((len(v) for v in data.values() if type(v) is list), default=0)


def _bom_finding() -> Finding:
    return Finding(WARNING, "envelope.bom", "", "body starts with a UTF-8 byte-order mark")
