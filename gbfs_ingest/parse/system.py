"""Small reference feeds: system_information, vehicle_types, system_regions,
system_pricing_plans. 3.x localizes names (``[{text, language}]``)."""

from __future__ import annotations

import zoneinfo
from typing import Any

from gbfs_ingest.model import FormFactor, PricingPlan, Region, SystemInformation, VehicleType

from ._common import (
    ERROR,
    INFO,
    WARNING,
    Ctx,
    bool_value,
    checked,
    enum_value,
    float_value,
    get_array,
    own_id,
    show,
    text_field,
)
from .boundary import (
    code_problem,
    email_problem,
    language_problem,
    timezone_problem,
    url_problem,
)
from .discovery import choose_language

__all__ = [
    "parse_pricing_plans",
    "parse_regions",
    "parse_system_information",
    "parse_vehicle_types",
]

_FORM_FACTORS = frozenset(f.value for f in FormFactor)
_PROPULSION = frozenset(
    {
        "human",
        "electric_assist",
        "electric",
        "combustion",
        "combustion_diesel",
        "hybrid",
        "plug_in_hybrid",
        "hydrogen_fuel_cell",
    }
)


def parse_system_information(ctx: Ctx, data: dict[str, Any]) -> list[SystemInformation]:
    fc = ctx.findings
    system_id = own_id(fc, "/data/system_id", data.get("system_id"), "system_information")
    if system_id is None:
        ctx.dropped += 1
        return []
    if ctx.v3 or "languages" in data:
        listed = data.get("languages")
        offered = [
            x
            for x in (listed if type(listed) is list else [])
            if type(x) is str and language_problem(x) is None
        ]
        language, _matched = choose_language(offered, ctx.languages)
    else:
        language = checked(fc, "/data/language", data.get("language"), language_problem)
    timezone = checked(fc, "/data/timezone", data.get("timezone"), timezone_problem)
    if timezone is not None:
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            fc.add(
                WARNING, "value.unknown_timezone", "/data/timezone", f"unknown zone {timezone!r}"
            )
    return [
        SystemInformation(
            system_id=system_id,
            name=text_field(fc, "/data/name", data.get("name"), ctx.languages),
            operator=text_field(fc, "/data/operator", data.get("operator"), ctx.languages),
            timezone=timezone,
            language=language,
            url=checked(fc, "/data/url", data.get("url"), url_problem),
            email=checked(fc, "/data/email", data.get("email"), email_problem),
        )
    ]


def parse_vehicle_types(ctx: Ctx, data: dict[str, Any]) -> list[VehicleType]:
    fc = ctx.findings
    records, base = get_array(ctx, data, "vehicle_types")
    item = base + "/*"
    seen: set[str] = set()
    out: list[VehicleType] = []
    for r in records:
        type_id = _record_id(ctx, item, r, "vehicle_type_id", seen)
        if type_id is None:
            continue
        raw_form = r.get("form_factor")
        form = enum_value(
            fc, item + "/form_factor", _legacy_form(ctx, item, raw_form), _FORM_FACTORS
        )
        propulsion = enum_value(
            fc, item + "/propulsion_type", r.get("propulsion_type"), _PROPULSION
        )
        out.append(
            VehicleType(
                vehicle_type_id=type_id,
                form_factor=FormFactor(form) if form is not None else FormFactor.OTHER,
                propulsion_type=propulsion or "human",
                name=text_field(fc, item + "/name", r.get("name"), ctx.languages),
                max_range_meters=float_value(
                    fc, item + "/max_range_meters", r.get("max_range_meters"), 0.0
                ),
            )
        )
    return out


def _legacy_form(ctx: Ctx, item: str, raw: Any) -> Any:
    """2.x "scooter" was split into scooter_standing/scooter_seated (2.3, 3.0 only)."""
    if isinstance(raw, str) and raw.strip().lower() == "scooter":
        ctx.findings.add(
            WARNING if ctx.v3 else INFO,
            "vehicle_type.scooter",
            item + "/form_factor",
            "form_factor 'scooter' (2.x only, deprecated in 2.3) read as scooter_standing",
        )
        return FormFactor.SCOOTER_STANDING.value
    return raw


def parse_regions(ctx: Ctx, data: dict[str, Any]) -> list[Region]:
    records, base = get_array(ctx, data, "regions")
    item = base + "/*"
    seen: set[str] = set()
    out: list[Region] = []
    for r in records:
        region_id = _record_id(ctx, item, r, "region_id", seen)
        if region_id is not None:
            name = text_field(ctx.findings, item + "/name", r.get("name"), ctx.languages)
            out.append(Region(region_id, name))
    return out


def parse_pricing_plans(ctx: Ctx, data: dict[str, Any]) -> list[PricingPlan]:
    fc = ctx.findings
    records, base = get_array(ctx, data, "plans")
    item = base + "/*"
    seen: set[str] = set()
    out: list[PricingPlan] = []
    for r in records:
        plan_id = _record_id(ctx, item, r, "plan_id", seen)
        if plan_id is None:
            continue
        currency = r.get("currency")
        if type(currency) is str:
            currency = checked(fc, item + "/currency", currency.strip().upper(), code_problem)
        out.append(
            PricingPlan(
                plan_id=plan_id,
                name=text_field(fc, item + "/name", r.get("name"), ctx.languages),
                currency=currency if type(currency) is str else None,
                price=float_value(fc, item + "/price", r.get("price")),
                is_taxable=bool_value(fc, item + "/is_taxable", r.get("is_taxable"), None),
                description=text_field(
                    fc, item + "/description", r.get("description"), ctx.languages
                ),
            )
        )
    return out


def _record_id(ctx: Ctx, item: str, r: Any, key: str, seen: set[str]) -> str | None:
    """The record's id, or None (record dropped, finding recorded)."""
    fc = ctx.findings
    if type(r) is not dict:
        fc.add(ERROR, "record.not_object", item, f"record is not an object: {show(r)}")
        ctx.dropped += 1
        return None
    value = own_id(fc, f"{item}/{key}", r.get(key), "record")
    if value is None:
        ctx.dropped += 1
        return None
    if value in seen:
        fc.add(
            ERROR, "record.duplicate_id", f"{item}/{key}", f"duplicate {key}: later ones dropped"
        )
        ctx.dropped += 1
        return None
    seen.add(value)
    return value
