"""Validate a GBFS document against the official JSON schema of its version.

The schemas are MobilityData's (``gbfs-json-schema``), as packaged by
``gbfs_validator`` under ``gbfs_validator/data/schemas/vX.Y/<feed>.json``;
they are compiled once per (version, feed) with ``jsonschema_rs`` (Draft 7,
``format`` checked, as the reference validator does).

Findings have severity ``schema`` and are aggregated by (schema location,
instance path with array indices written ``*``): one row per kind of error
with a sample message and the exact number of occurrences. At most
:data:`MAX_FINDINGS` rows are returned; the rest are summed in one
``schema.truncated`` row, so the counts always add up to the error total.

Speed (2-core dev machine, 100,000 vehicles): a valid document costs one
``is_valid`` call, ~45 ms. Each error reported through Python costs ~15 µs,
so plain ``iter_errors`` on a file with two wrong types per vehicle takes
~3 s; large record arrays are therefore validated by :func:`_validate_records`
(exact, ~110 ms for that file), which reports shape errors once per group of
same-shaped records. Value errors (a range, an enum, a format) on *every*
record still cost one Python error each (~0.5-0.7 s for 100,000).
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import json
from collections.abc import Iterable, Sequence
from typing import Any

import jsonschema_rs

from gbfs_ingest.model import FeedType, Finding
from gbfs_ingest.parse.version import normalise_version

__all__ = ["MAX_FINDINGS", "schema_for", "schema_version_dir", "validate_document"]

MAX_FINDINGS = 50
#: Record arrays at least this long are validated group-wise (see module doc).
SPLIT_THRESHOLD = 1_000
#: Beyond this many distinct record shapes, grouping stops paying off.
_MAX_GROUPS = 200
_MAX_MESSAGE = 300
_SCHEMAS = importlib.resources.files("gbfs_validator").joinpath("data", "schemas")
# Keywords whose result on an object depends only on its set of keys.
_KEY_KEYWORDS = frozenset({"required", "minProperties", "maxProperties", "propertyNames"})
_ANNOTATIONS = frozenset({"description", "title", "$comment", "errorMessage", "examples"})


def schema_version_dir(version: str, doc: dict[str, Any] | None = None) -> str | None:
    """The schema folder for a version: "v2.3"; 3.1 -> "v3.1-RC3"; None if unknown.

    A 1.x document without a ``version`` field is validated as 1.0 (the field
    is required from 1.1, so a guessed "1.1" would only add one error).
    """
    normalised = normalise_version(version)[0]
    if normalised is None:
        return None
    if normalised.startswith("1") and (doc is None or "version" not in doc):
        normalised = "1.0"
    if normalised == "3.1":
        return "v3.1-RC3"
    return f"v{normalised}"


@functools.cache
def schema_for(version_dir: str, name: str) -> dict[str, Any] | None:
    """The packaged official schema ``<version_dir>/<name>.json``, or None."""
    resource = _SCHEMAS.joinpath(version_dir, f"{name}.json")
    if not resource.is_file():
        return None
    schema: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    return schema


@functools.cache
def _validator(version_dir: str, name: str) -> jsonschema_rs.Draft7Validator | None:
    schema = schema_for(version_dir, name)
    return None if schema is None else jsonschema_rs.Draft7Validator(schema)


def validate_document(feed_type: FeedType, version: str, doc: dict[str, Any]) -> list[Finding]:
    """Schema findings of ``doc`` (empty when valid); never raises on bad data."""
    version_dir = schema_version_dir(version, doc)
    if version_dir is None:
        return [Finding("info", "schema.unknown_version", f"no schema for version {version!r}")]
    name = feed_type.file_name(version_dir[1:])
    validator = _validator(version_dir, name)
    if validator is None:
        message = f"no official schema for {name} in GBFS {version_dir}: not validated"
        return [Finding("info", "schema.unavailable", message)]
    try:
        if validator.is_valid(doc):
            return []
        aggregator = _Aggregator()
        split = _split_target(version_dir, name, doc)
        if split is None:
            aggregator.add_errors(validator.iter_errors(doc))
        else:
            key, records = split
            data = doc["data"]
            aggregator.add_errors(validator.iter_errors({**doc, "data": {**data, key: []}}))
            _validate_records(version_dir, name, key, records, aggregator)
    except (ValueError, RecursionError) as exc:  # jsonschema_rs: "Recursion limit reached"
        message = f"not validated against the schema: {str(exc)[:200]}"
        return [Finding("schema", "schema.not_validated", message)]
    return aggregator.findings()


class _Aggregator:
    """(schema location, starred instance path) -> [keyword, sample message, count]."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str, str], list[Any]] = {}

    def add(
        self, schema_path: Sequence[Any], instance_path: Sequence[Any], message: str, count: int
    ) -> None:
        key = (_pointer(schema_path), _pointer(instance_path, star=True))
        group = self.groups.get(key)
        if group is None:
            keyword = next((p for p in reversed(schema_path) if isinstance(p, str)), "schema")
            self.groups[key] = [keyword, message, count]
        else:
            group[2] += count

    def add_errors(
        self,
        errors: Iterable[jsonschema_rs.ValidationError],
        prefix_schema: Sequence[Any] = (),
        prefix_instance: Sequence[Any] = (),
        count: int = 1,
    ) -> None:
        for error in errors:
            self.add(
                [*prefix_schema, *error.schema_path],
                [*prefix_instance, *error.instance_path],
                error.message,
                count,
            )

    def findings(self) -> list[Finding]:
        ordered = sorted(self.groups.items(), key=lambda kv: (-kv[1][2], kv[0][1], kv[0][0]))
        out = []
        for (schema_loc, instance), (keyword, message, count) in ordered[:MAX_FINDINGS]:
            if len(message) > _MAX_MESSAGE:
                message = message[: _MAX_MESSAGE - 1] + "…"
            out.append(
                Finding(
                    "schema",
                    f"schema.{keyword}",
                    f"{message} (schema: {schema_loc})",
                    instance,
                    count,
                )
            )
        rest = ordered[MAX_FINDINGS:]
        if rest:
            errors = sum(group[2] for _, group in rest)
            out.append(
                Finding(
                    "schema",
                    "schema.truncated",
                    f"{len(rest)} more kinds of schema error not listed ({errors} errors)",
                    "",
                    errors,
                )
            )
        return out


def _pointer(parts: Sequence[Any], star: bool = False) -> str:
    tokens = (
        "*" if star and isinstance(p, int) else str(p).replace("~", "~0").replace("/", "~1")
        for p in parts
    )
    return "/" + "/".join(tokens)


# -- large record arrays ------------------------------------------------------


def _split_target(version_dir: str, name: str, doc: dict[str, Any]) -> tuple[str, list[Any]] | None:
    """The big ``data.<key>`` record array to validate group-wise, if any.

    Only when the array's schema has no array-level constraint besides
    ``type``/``items``, so validating the envelope with ``[]`` in its place
    gives exactly the envelope's errors.
    """
    data = doc.get("data")
    if not isinstance(data, dict):
        return None
    schema = schema_for(version_dir, name) or {}
    properties = schema.get("properties", {}).get("data", {}).get("properties", {})
    for key, sub in properties.items():
        records = data.get(key)
        if (
            isinstance(records, list)
            and len(records) >= SPLIT_THRESHOLD
            and isinstance(sub, dict)
            and sub.get("type") == "array"
            and isinstance(sub.get("items"), dict)
            and set(sub) <= {"type", "items"} | _ANNOTATIONS
        ):
            return key, records
    return None


def _validate_records(
    version_dir: str, name: str, key: str, records: list[Any], aggregator: _Aggregator
) -> None:
    """Exact errors of every record, computed once per group of same-shaped records.

    Records with the same keys and value types fail the same *shape* keywords
    (``type`` of a property, ``required``, presence-only ``anyOf``...). Those
    errors are taken from one representative and multiplied by the group size;
    the other keywords (ranges, enums, formats...) are checked on every record
    with a residual schema from which the shape keywords that failed are cut.
    """
    items_schema = _items_schema(version_dir, name, key)
    if _array_validator(version_dir, name, key).is_valid(records):
        return
    prefix_schema = ["properties", "data", "properties", key, "items"]
    prefix_instance = ["data", key, 0]
    groups: dict[Any, list[Any]] = {}
    for record in records:
        signature = (
            (tuple(record), tuple(map(type, record.values())))
            if type(record) is dict
            else type(record)
        )
        members = groups.get(signature)
        if members is None:
            groups[signature] = [record]
            if len(groups) > _MAX_GROUPS:
                break
        else:
            members.append(record)
    if len(groups) > _MAX_GROUPS:  # no common shape: plain per-record validation
        groups = {None: records}
    full = _residual_validator(version_dir, name, key, frozenset())
    for signature, members in groups.items():
        stripped: set[tuple[Any, ...]] = set()
        if signature is not None:
            representative = members[0]
            for error in full.iter_errors(representative):
                location = tuple(error.schema_path)
                if _shape_determined(items_schema, location, error.instance_path, representative):
                    stripped.add(location)
                    aggregator.add(
                        [*prefix_schema, *location],
                        [*prefix_instance, *error.instance_path],
                        error.message,
                        len(members),
                    )
        residual = _residual_validator(version_dir, name, key, frozenset(stripped))
        is_valid = residual.is_valid
        for record in members:
            if not is_valid(record):
                aggregator.add_errors(residual.iter_errors(record), prefix_schema, prefix_instance)


def _shape_determined(
    schema: dict[str, Any], location: tuple[Any, ...], instance_path: Sequence[Any], record: Any
) -> bool:
    """Does this error follow from the record's keys and value types alone?"""
    if not location:
        return False
    keyword, parents = location[-1], location[:-1]
    node: Any = schema
    for step, token in enumerate(parents):  # only through properties/<name> and allOf/<i>
        previous = parents[step - 1] if step else None
        if not (token in ("properties", "allOf") or previous in ("properties", "allOf")):
            return False
        try:
            node = node[token]
        except (KeyError, IndexError, TypeError):
            return False
    if not isinstance(node, dict):
        return False
    value = node.get(keyword)
    if len(instance_path) == 0:
        if keyword == "type" or keyword in _KEY_KEYWORDS:
            return True
        if keyword == "additionalProperties":
            return value is False
        if keyword == "dependencies":
            return isinstance(value, dict) and all(isinstance(v, list) for v in value.values())
        if keyword in ("anyOf", "oneOf", "not"):
            members = value if isinstance(value, list) else [value]
            return all(_presence_only(member) for member in members)
        return False
    if len(instance_path) == 1 and keyword == "type" and len(parents) >= 2:
        if parents[-2] != "properties" or not isinstance(record, dict):
            return False
        allowed = value if isinstance(value, list) else [value]
        # 3.0 is an "integer" but 3.5 is not: a float's type alone does not decide.
        return not ("integer" in allowed and type(record.get(instance_path[0])) is float)
    return False


def _presence_only(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    for keyword, value in schema.items():
        if keyword in _ANNOTATIONS or keyword == "required":
            continue
        if keyword in ("anyOf", "oneOf", "allOf"):
            if not (isinstance(value, list) and all(_presence_only(v) for v in value)):
                return False
        elif keyword == "not":
            if not _presence_only(value):
                return False
        else:
            return False
    return True


@functools.cache
def _items_schema(version_dir: str, name: str, key: str) -> dict[str, Any]:
    schema = schema_for(version_dir, name) or {}
    items: dict[str, Any] = schema["properties"]["data"]["properties"][key]["items"]
    return items


@functools.cache
def _array_validator(version_dir: str, name: str, key: str) -> jsonschema_rs.Draft7Validator:
    items = _items_schema(version_dir, name, key)
    return jsonschema_rs.Draft7Validator({"type": "array", "items": items})


@functools.lru_cache(maxsize=256)
def _residual_validator(
    version_dir: str, name: str, key: str, stripped: frozenset[tuple[Any, ...]]
) -> jsonschema_rs.Draft7Validator:
    schema = copy.deepcopy(_items_schema(version_dir, name, key))
    for location in stripped:
        node: Any = schema
        for token in location[:-1]:
            node = node[token]
        node.pop(location[-1], None)
    return jsonschema_rs.Draft7Validator(schema)
