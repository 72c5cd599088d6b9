"""Validate documents against the official MDS 2.0 OpenAPI schemas (``../shared/mds``).

The schemas are JSON Schema draft 2020-12 written as YAML with relative
``$ref``s between files. ``mds_validator(endpoint, path)`` takes the response
schema of one endpoint from ``reference/policy.yaml`` or ``geography.yaml``
and validates with a draft 2020-12 validator, a format checker and a
``referencing`` registry that loads every referenced YAML file on demand
(the way the MDS repository's own tests do). ``mds_errors`` lists every
error, empty when the document is valid.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import shapely
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from shapely.geometry import shape

ROOT = Path(__file__).resolve().parents[1]
MDS_DIR = next(
    p / "mds" / "openapi-v2.0"
    for p in (ROOT.parent / "shared", ROOT / "shared", Path("/work/shared"))
    if (p / "mds" / "openapi-v2.0").is_dir()
)
GBFS_SCHEMAS = MDS_DIR.parents[1] / "gbfs" / "schemas"


def _load(uri: str) -> Resource[Any]:
    path = Path(uri.removeprefix("file://"))
    contents = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Resource.from_contents(contents, default_specification=DRAFT202012)


@functools.cache
def _registry() -> Registry[Any]:
    return Registry(retrieve=_load)  # type: ignore[call-arg]


@functools.cache
def mds_validator(reference: str, path: str) -> Draft202012Validator:
    """Validator of the 200 response of ``GET path`` in ``reference/<reference>.yaml``."""
    ref_file = MDS_DIR / "reference" / f"{reference}.yaml"
    spec = yaml.safe_load(ref_file.read_text(encoding="utf-8"))
    schema = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    base = ref_file.as_uri()
    resource = Resource.from_contents(
        {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": base, **schema},
        default_specification=DRAFT202012,
    )
    registry = _registry().with_resource(base, resource)
    return Draft202012Validator(
        resource.contents,
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def mds_errors(document: Any, reference: str, path: str) -> list[str]:
    """Every schema error of ``document`` (empty: valid)."""
    validator = mds_validator(reference, path)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def model_errors(document: Any, model: str) -> list[str]:
    """Errors of one object against ``models/<model>.yaml`` (e.g. policy, geography)."""
    uri = (MDS_DIR / "models" / f"{model}.yaml").as_uri()
    validator = Draft202012Validator(
        {"$schema": "https://json-schema.org/draft/2020-12/schema", "$ref": uri},
        registry=_registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


MIN_LEAD_MS = 20 * 60 * 1000
VALID_RECURRENCE = {
    "count": {None, "once_on_match", "once_on_unmatch"},
    "time": {None, "each_time_unit", "per_complete_time_unit"},
}


def prose_errors(policies: dict[str, Any], geographies: dict[str, Any]) -> list[str]:
    """What the MDS prose requires and the schemas cannot check: start 20 minutes
    after publication, every referenced geography published, each rule's
    geographies not overlapping (in metres), a geography effective no earlier
    than it is published."""
    from rules.mds_geo import overlap_groups

    geos = {g["geography_id"]: g for g in geographies["geographies"]}
    shapes = {gid: _shape(g) for gid, g in geos.items()}
    errors = []
    for g in geos.values():
        if g.get("effective_date", g["published_date"]) < g["published_date"]:
            errors.append(f"geography {g['geography_id']}: effective before published")
    for p in policies["policies"]:
        if p["start_date"] < p["published_date"] + MIN_LEAD_MS:
            errors.append(f"policy {p['policy_id']}: start < published + 20 min")
        for r in p["rules"]:
            missing = [g for g in r["geographies"] if g not in geos]
            if missing:
                errors.append(f"rule {r['name']}: geographies not published {missing}")
                continue
            if r.get("rate_recurrence") not in VALID_RECURRENCE[r["rule_type"]]:
                errors.append(f"rule {r['name']}: rate_recurrence {r.get('rate_recurrence')}")
            metric = _metric_shapes([shapes[g] for g in r["geographies"]])
            if len(overlap_groups(metric)) != len(metric):
                errors.append(f"rule {r['name']}: overlapping geographies")
    return errors


def _shape(geography: dict[str, Any]) -> Any:
    return shapely.union_all(
        [shape(f["geometry"]) for f in geography["geography_json"]["features"]]
    )


def _metric_shapes(shapes: list[Any]) -> list[Any]:
    from rules.mds_geo import MetricFrame

    metric = MetricFrame.around(shapes)
    return [metric.to_metres(shapely.clip_by_rect(s, *metric.window)) for s in shapes]


def gbfs_errors(document: Any, version: str, file: str = "geofencing_zones") -> list[str]:
    """Errors of a GBFS file against the official schema (``../shared/gbfs/schemas``)."""
    import json

    from jsonschema import Draft7Validator

    schema = json.loads((GBFS_SCHEMAS / f"v{version}" / f"{file}.json").read_text())
    validator = Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]
