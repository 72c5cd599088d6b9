"""One line per finding for people: the file, the field, what happened, how often.

``free_bike_status.json: is_disabled: boolean given as integer (8 x 1, 1342 x 0),
coerced (x1350)``. Findings are aggregated per (code, path) by the parsers, so
the count is the number of records concerned; the field is the last named
segment of the finding's JSON-pointer-like path (array indices are ``*``).
"""

from __future__ import annotations

from gbfs_ingest.model import FeedType, Finding

__all__ = ["describe_finding", "feed_file_name", "finding_field"]


def finding_field(path: str) -> str | None:
    """The field a finding is about: ``/data/bikes/*/is_disabled`` -> ``is_disabled``;
    a path ending on the records themselves (``/data/bikes/*``) names the array."""
    parts = [p for p in path.split("/") if p and p != "*" and not p.isdigit()]
    return parts[-1] if parts else None


def feed_file_name(feed_type: FeedType, version: str | None) -> str:
    """The file's name as published in that version (``free_bike_status.json`` before 3.0)."""
    return f"{feed_type.file_name(version or '3.0')}.json"


def describe_finding(file_name: str, finding: Finding) -> str:
    field = finding_field(finding.path)
    where = f"{file_name}: {field}: " if field else f"{file_name}: "
    return f"{where}{finding.message} (x{finding.count})"
