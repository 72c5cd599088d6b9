"""Parse GBFS files of any version (1.0 - 3.1) into the normalised model.

Public API::

    detect_version(doc, declared=None) -> (version, guessed)
    parse_discovery(doc, preferred_languages) -> Discovery
    parse_manifest(doc) -> list[ManifestEntry]
    parse_feed(feed_type, doc, version, *, languages=()) -> ParsedFeed
    parse_bytes(feed_type, raw, version_hint=None, *, languages=()) -> ParsedFeed
    read_document(raw) -> Document
    merge_stations(information, status) -> list[Station]

Parsers never raise on bad *records*: they drop and count them, coerce what is
unambiguous and explain everything in ``ParsedFeed.findings`` (aggregated per
quirk). Every string passes the boundary of :mod:`.boundary`. Only a body that
is not a readable GBFS envelope raises :class:`ParseError` (see
:func:`read_document` for what "readable" means).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
    show,
)
from .availability import parse_vehicle_availability
from .boundary import is_plain_json_text
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
    "Document",
    "ParseError",
    "bom_finding",
    "choose_language",
    "detect_version",
    "legacy_vehicle_type",
    "merge_stations",
    "normalise_version",
    "parse_bytes",
    "parse_discovery",
    "parse_feed",
    "parse_manifest",
    "read_document",
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
    # 3.1 only; an older file of that name is read with the same rules
    FeedType.VEHICLE_AVAILABILITY: _same(parse_vehicle_availability),
}


def parse_feed(
    feed_type: FeedType,
    doc: dict[str, Any],
    version: str | None,
    *,
    languages: Sequence[str] = (),
    plain_text: bool = False,
) -> ParsedFeed:
    """Parse one decoded GBFS file.

    ``version`` is what the caller believes (from discovery or
    :func:`detect_version`); a file that states its own version is parsed as
    that version, with an info finding when they differ. ``languages`` orders
    the choice among 3.x localized strings and discovery languages.
    ``plain_text``: the body's strings are all printable ASCII
    (:attr:`Document.plain_text`), which spares the per-id character check.
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
            invalid_records=discovery.dropped,
            findings=fc.to_list(),
            discovery=discovery,
        )
    ctx = Ctx(used, fc, None, languages, plain_text)
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


@dataclass(slots=True)
class Document:
    """A decoded body that is a GBFS envelope (see :func:`read_document`)."""

    doc: dict[str, Any]
    bom: bool  # the body started with a UTF-8 byte-order mark (a warning finding)
    plain_text: bool  # every string in it is printable ASCII


#: orjson's own limits, in the words of a finding.
_DECODER_LIMITS = {
    "depth limit exceeded": "nested more than 1024 levels deep",
    "number is infinity": "a number beyond the range of a double (±1.8e308)",
}


def read_document(raw: bytes) -> Document:
    """Decode a body into a GBFS envelope (a JSON object with a ``data`` object).

    Raises :class:`ParseError` with the reason when the body cannot be read at
    all: not UTF-8 JSON (NaN and Infinity tokens included), nested more than
    1,024 levels deep, a number beyond a double's range, or not an envelope.
    Integers beyond 64 bits decode as floats; the parsers then judge them as
    any other value (out of range for an id or a count). The body size is
    bounded before this, by the fetch (``ingest.max_decoded_mb``).
    """
    body = raw[3:] if raw[:3] == b"\xef\xbb\xbf" else raw  # UTF-8 BOM
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        text = str(exc)
        for marker, reason in _DECODER_LIMITS.items():
            if marker in text:
                raise ParseError(f"body cannot be read: {reason} ({text})") from exc
        start = bytes(body[:60]).decode("utf-8", "replace").strip()
        hint = " (empty body)" if not body.strip() else f" (starts with {start!r})"
        raise ParseError(f"body is not JSON: {text}{hint}") from exc
    _envelope_data(doc)
    return Document(doc, body is not raw, is_plain_json_text(body))


def parse_bytes(
    feed_type: FeedType,
    raw: bytes,
    version_hint: str | None = None,
    *,
    languages: Sequence[str] = (),
) -> ParsedFeed:
    """Decode a fetched body (:func:`read_document`) and parse it; :class:`ParseError`
    if unusable."""
    # One GC pause over decoding and parsing; the decoded document is released
    # before the collector runs again, so it only ever sees the parsed records.
    with gc_paused(len(raw) // _BYTES_PER_RECORD):
        try:
            document = read_document(raw)
        except ParseError as exc:
            raise ParseError(f"{feed_type.value}: {exc}") from exc
        result = parse_feed(
            feed_type,
            document.doc,
            version_hint,
            languages=languages,
            plain_text=document.plain_text,
        )
        del document
    if raw[:3] == b"\xef\xbb\xbf":
        result.findings.append(bom_finding())
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
        message = f"version {show(own)} read as {used!r}"
        fc.add(INFO if exact else WARNING, "coerce.version", "/version", message)
    hinted = normalise_version(declared)[0] if declared is not None else None
    if hinted is not None and hinted != used:
        fc.add(INFO, "version.mismatch", "/version", f"file says {used}, caller said {declared}")


def _largest_array(data: dict[str, Any]) -> int:
    return max((len(v) for v in data.values() if type(v) is list), default=0)


def bom_finding() -> Finding:
    return Finding(WARNING, "envelope.bom", "", "body starts with a UTF-8 byte-order mark")
