"""Discovery files: ``gbfs.json``, 3.x ``manifest.json`` and ``gbfs_versions.json``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gbfs_ingest.model import Discovery, FeedRef, FeedType, ManifestEntry

from ._common import ERROR, INFO, WARNING, Ctx, FindingCollector, own_id, read_envelope, show
from .boundary import id_ok, language_problem, url_problem
from .version import detect_version, normalise_version

__all__ = ["choose_language", "parse_discovery", "parse_gbfs_versions", "parse_manifest"]

FALLBACK_LANGUAGE = "en"
_MAX_UNKNOWN = 20  # non-standard feed names listed in the finding


def choose_language(offered: Sequence[str], preferred: Sequence[str]) -> tuple[str | None, bool]:
    """Pick one of ``offered`` (in document order). Returns (language, matched).

    Exact (case-insensitive) match of a preferred tag first, then a match of
    the primary subtag ("fr" ~ "fr-CA"), in order of preference; else "en",
    else the first offered. ``matched`` is False when a fallback was used.
    """
    if not offered:
        return None, False
    lowered = [lang.lower() for lang in offered]
    for pref in preferred:
        pref_low = pref.lower()
        if pref_low in lowered:
            return offered[lowered.index(pref_low)], True
    for pref in preferred:
        primary = pref.lower().split("-")[0]
        for index, lang in enumerate(lowered):
            if lang.split("-")[0] == primary:
                return offered[index], True
    for index, lang in enumerate(lowered):
        if lang.split("-")[0] == FALLBACK_LANGUAGE:
            return offered[index], False
    return offered[0], False


def parse_discovery(
    doc: dict[str, Any],
    preferred_languages: Sequence[str] = (),
    *,
    version: str | None = None,
    findings: FindingCollector | None = None,
) -> Discovery:
    """Parse ``gbfs.json`` of any version into a :class:`Discovery`.

    ``version`` is only a hint for a file without a ``version`` field.
    """
    fc = findings if findings is not None else FindingCollector()
    version, guessed = detect_version(doc, version)
    last_updated, ttl = read_envelope(doc, Ctx(version, fc, None))
    data = doc.get("data")
    if not isinstance(data, dict):
        data = {}
    languages: list[str] = []
    language: str | None = None
    feeds_raw: Any
    if isinstance(data.get("feeds"), list):  # 3.x (or a 2.x feed written the 3.x way)
        feeds_raw = data["feeds"]
        if version[0] != "3":
            fc.add(WARNING, "discovery.flat_feeds", "/data/feeds", "flat data.feeds before 3.0")
    else:
        languages = [k for k, v in data.items() if isinstance(v, dict) and "feeds" in v]
        bad = [k for k in languages if language_problem(k) is not None]
        if bad:
            fc.add(
                WARNING,
                "value.bad_code",
                "/data",
                f"{len(bad)} feed lists under keys that are not language tags ignored"
                f" (e.g. {show(bad[0])})",
                len(bad),
            )
            languages = [k for k in languages if k not in bad]
        language, matched = choose_language(languages, preferred_languages)
        if version[0] == "3" and languages:
            fc.add(WARNING, "discovery.nested_feeds", "/data", "per-language feeds in 3.x")
        if language is not None and not matched and preferred_languages and len(languages) > 1:
            fc.add(
                INFO,
                "discovery.language_fallback",
                "/data",
                f"none of {list(preferred_languages)} offered ({languages}): using {language!r}",
            )
        feeds_raw = data[language]["feeds"] if language is not None else []
        if language is None:
            fc.add(ERROR, "discovery.no_feeds", "/data", "no feed list found")
    path = "/data/feeds" if language is None else f"/data/{language}/feeds"
    feeds, unknown, dropped = _read_feeds(feeds_raw, path, fc)
    return Discovery(
        version=version,
        version_detected=guessed,
        language=language,
        languages=languages,
        feeds=feeds,
        ttl=ttl,
        last_updated=last_updated,
        unknown_feeds=unknown,
        dropped=dropped,
    )


def _read_feeds(
    feeds_raw: Any, path: str, fc: FindingCollector
) -> tuple[dict[FeedType, FeedRef], list[str], int]:
    feeds: dict[FeedType, FeedRef] = {}
    unknown: list[str] = []
    dropped = 0
    if not isinstance(feeds_raw, list):
        fc.add(ERROR, "discovery.no_feeds", path, "feeds is not a list")
        return feeds, unknown, dropped
    for entry in feeds_raw:
        name = entry.get("name") if isinstance(entry, dict) else None
        url = entry.get("url") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not isinstance(url, str) or not url.strip():
            fc.add(ERROR, "discovery.bad_entry", path + "/*", f"unusable feed entry {show(entry)}")
            dropped += 1
            continue
        feed_type = FeedType.from_name(name.strip())
        if feed_type is None:
            if name not in unknown and id_ok(name) and len(unknown) < _MAX_UNKNOWN:
                unknown.append(name)
            continue
        problem = url_problem(url.strip())
        if problem is not None:
            fc.add(
                ERROR, problem[0], path + "/*/url", f"feed {name.strip()} dropped: url {problem[1]}"
            )
            dropped += 1
            continue
        if feed_type in feeds:
            fc.add(WARNING, "discovery.duplicate_feed", path + "/*", f"feed {name!r} listed twice")
            continue
        feeds[feed_type] = FeedRef(feed_type=feed_type, url=url.strip(), name=name.strip())
    if unknown:
        fc.add(INFO, "discovery.unknown_feed", path + "/*/name", f"non-standard feeds: {unknown}")
    return feeds, unknown, dropped


def parse_manifest(
    doc: dict[str, Any], *, findings: FindingCollector | None = None
) -> list[ManifestEntry]:
    """Parse a 3.x ``manifest.json``: one entry per system, versions -> URLs."""
    fc = findings if findings is not None else FindingCollector()
    data = doc.get("data")
    datasets = data.get("datasets") if isinstance(data, dict) else None
    if not isinstance(datasets, list):
        fc.add(ERROR, "feed.missing_array", "/data/datasets", "no datasets array")
        return []
    entries: list[ManifestEntry] = []
    for dataset in datasets:
        raw_id = dataset.get("system_id") if isinstance(dataset, dict) else None
        system_id = own_id(fc, "/data/datasets/*/system_id", raw_id, "dataset")
        if system_id is None:
            continue
        pairs = _version_pairs(dataset.get("versions"), "/data/datasets/*/versions", fc)
        entries.append(ManifestEntry(system_id=system_id, versions=dict(pairs)))
    return entries


def parse_gbfs_versions(ctx: Ctx, data: dict[str, Any]) -> list[tuple[str, str]]:
    """``gbfs_versions.json`` records: (normalised version, discovery URL) pairs."""
    if "versions" not in data:
        ctx.findings.add(ERROR, "feed.missing_array", "/data/versions", "no versions array")
        return []
    return _version_pairs(data["versions"], "/data/versions", ctx.findings)


def _version_pairs(raw: Any, path: str, fc: FindingCollector) -> list[tuple[str, str]]:
    if not isinstance(raw, list):
        fc.add(ERROR, "feed.missing_array", path, "versions is not a list")
        return []
    pairs: list[tuple[str, str]] = []
    for item in raw:
        version_raw = item.get("version") if isinstance(item, dict) else None
        url = item.get("url") if isinstance(item, dict) else None
        version, exact = normalise_version(version_raw)
        if version is None or not isinstance(url, str) or not url.strip():
            fc.add(ERROR, "record.invalid", path + "/*", f"unusable version entry {show(item)}")
            continue
        problem = url_problem(url.strip())
        if problem is not None:
            fc.add(ERROR, problem[0], path + "/*/url", f"version entry dropped: url {problem[1]}")
            continue
        if not exact or version_raw != version:
            fc.add(
                WARNING,
                "coerce.version",
                path + "/*/version",
                f"version {show(version_raw)} read as {version!r}",
            )
        pairs.append((version, url.strip()))
    return pairs
