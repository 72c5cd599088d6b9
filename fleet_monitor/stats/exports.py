"""Exports of a report: JSON, CSV, XLSX and GeoJSON (the PDF statistics report is in ``pdf.py``).

Every export carries the period (local times with their UTC offset), the
filters, the methodology of each section and its coverage. Tables are the
report's row lists, flattened (``buckets.ge_14d``); the CSV is "long" (one figure
per line: table, operator, key, metric, value) so that any section fits in one
file and reads back with the csv module.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from fleet_monitor.stats import labels

FORMATS = ("json", "csv", "xlsx", "geojson", "pdf")
MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
    "pdf": "application/pdf",
}

# (table name, section, key of the row list); the first column after the operator
# that identifies a row of each table (empty for one row per operator)
TABLES: tuple[tuple[str, str, str, str], ...] = (
    ("fleet", "fleet", "rows", ""),
    ("fleet_daily", "fleet", "daily", "day"),
    ("fleet_hourly", "fleet", "hourly", "hour"),
    ("idle", "idle", "rows", ""),
    ("idle_daily", "idle", "daily", "day"),
    ("use", "use", "rows", ""),
    ("use_daily", "use", "daily", "day"),
    ("violations", "violations", "rows", ""),
    ("violations_by_rule", "violations", "by_rule", "rule_type"),
    ("violations_by_zone", "violations", "by_zone", "zone_id"),
    ("violations_by_day", "violations", "by_day", "day"),
    ("notices", "notices", "rows", ""),
    ("feeds", "feeds", "rows", ""),
    ("feeds_by_feed", "feeds", "by_feed", "feed_type"),
    ("feeds_by_day", "feeds", "by_day", "day"),
    ("declared", "declared", "rows", "period_start"),
    ("zones", "zones", "rows", "zone_id"),
    ("residents", "residents", "rows", ""),
    ("residents_by_zone", "residents", "by_zone", "zone_id"),
    ("residents_by_day", "residents", "by_day", "day"),
)


def flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, Mapping):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def tables(report: Mapping[str, Any]) -> Iterator[tuple[str, str, list[str], list[dict[str, Any]]]]:
    """(table, row key column, columns, flattened rows) of every non-empty table."""
    for name, section, key, ident in TABLES:
        rows = report["sections"].get(section, {}).get(key) or []
        if not rows:
            continue
        flat = [flatten(r) for r in rows]
        columns: list[str] = []
        for r in flat:
            columns += [c for c in r if c not in columns]
        yield name, ident, columns, flat


def meta_lines(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    lang = report["lang"]
    period = report["period"]
    lines = [
        ("title", report["title"]),
        ("period", period["label"]),
        ("period_start", period["start"]),
        ("period_end", period["end"]),
        ("timezone", report["timezone"]),
        ("generated_at", report["generated_at"]),
        ("operator", report["filters"]["operator"]),
        ("form_factor", report["filters"]["form_factor"]),
        ("zone", report["filters"]["zone"]),
        ("aggregation", report["aggregation"]["statement"]),
    ]
    for name, section in report["sections"].items():
        lines.append((f"coverage.{name}", section.get("coverage", {}).get("statement", "")))
    if "notices" in report["sections"] and not report["sections"]["notices"].get("available"):
        lines.append(("notices", labels.title("not_available", lang)))
    return lines


# --------------------------------------------------------------------------- JSON


def to_json(report: Mapping[str, Any]) -> bytes:
    return orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)


# --------------------------------------------------------------------------- CSV

CSV_HEADER = ("table", "operator", "key", "metric", "value")


def to_csv(report: Mapping[str, Any]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_HEADER)
    for metric, value in meta_lines(report):
        w.writerow(("meta", "", "", metric, value))
    for section, text in report["methodology"].items():
        w.writerow(("methodology", "", "", section, text))
    for name, ident, columns, rows in tables(report):
        for r in rows:
            key = "" if not ident else r.get(ident, "")
            for c in columns:
                if c in ("operator", "operator_name") or c == ident:
                    continue
                w.writerow((name, r.get("operator", ""), key, c, _cell(r.get(c))))
    # a byte-order mark so that spreadsheet software reads UTF-8
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return v


# --------------------------------------------------------------------------- XLSX


def to_xlsx(report: Mapping[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    lang = report["lang"]
    wb = Workbook()
    ws = wb.active
    ws.title = "summary"
    ws.append([report["title"]])
    ws["A1"].font = Font(bold=True, size=14)
    for metric, value in meta_lines(report):
        ws.append([metric, value])
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 100
    method = wb.create_sheet("methodology")
    method.append(["section", "title", "method"])
    for section, text in report["methodology"].items():
        method.append([section, labels.title(section, lang), text])
        method.cell(method.max_row, 3).alignment = Alignment(wrap_text=True, vertical="top")
    method.column_dimensions["B"].width = 30
    method.column_dimensions["C"].width = 120
    for name, _ident, columns, rows in tables(report):
        sheet = wb.create_sheet(name[:31])
        sheet.append(columns)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for r in rows:
            sheet.append([r.get(c) for c in columns])
        sheet.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --------------------------------------------------------------------------- GeoJSON


def to_geojson(report: Mapping[str, Any], geometries: Mapping[str, str]) -> bytes:
    """Zones with their figures; the report's context as foreign members."""
    zones = report["sections"].get("zones", {})
    features = []
    for row in zones.get("rows", []):
        geometry = geometries.get(row["zone_id"])
        features.append(
            {
                "type": "Feature",
                "id": row["zone_id"],
                "geometry": orjson.Fragment(geometry.encode()) if geometry else None,
                "properties": row,
            }
        )
    methodology = {
        k: v
        for k, v in report["methodology"].items()
        if k in ("general", "zones", "fleet", "idle", "use", "violations", "residents")
    }
    doc = {
        "type": "FeatureCollection",
        "name": f"{report['title']} {report['period']['label']}",
        "period": report["period"],
        "filters": report["filters"],
        "generated_at": report["generated_at"],
        "coverage": {
            "aggregation": report["aggregation"]["statement"],
            "zones": zones.get("coverage", {}).get("statement"),
            "fleet": report["sections"].get("fleet", {}).get("coverage", {}).get("statement"),
            "residents": report["sections"]
            .get("residents", {})
            .get("coverage", {})
            .get("statement"),
        },
        "methodology": methodology,
        "features": features,
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2)
