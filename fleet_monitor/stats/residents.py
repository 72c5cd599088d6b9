"""Residents' reports in the statistics (issue 15): one definition, read by the
statistics page, its exports (CSV, XLSX, JSON, GeoJSON, the PDF's report data), the
statistics API and the officers' inbox.

Definition (stated in every export, :data:`METHOD`):

* a report counts on the local day (the city's time zone) it was received, through
  the public page or Open311, whatever became of it later;
* **matched**: at least one vehicle was published within reach when it was made
  (``resident_reports.reports.MATCH_RADIUS_M``);
* **operator**: the operator of the nearest vehicle matched, else the operator the
  resident named, else none ("no operator");
* **zone**: each city zone (not an operator's own) whose version in force at the
  time of the report contains the reported point; a report counts once in each
  zone that holds it, so the zones of different kinds (districts, no-parking
  zones...) are counted separately; "outside" counts the reports in no zone of the
  statistics' zone kinds (``stats.zone_kinds``, the districts by default).

Only counts leave this module: never a reference, a position, a time of day, a
description or a contact. Small numbers are given as they are (a count of 1 is
1); a share (matched / reports) is given only over at least
:data:`MIN_REPORTS_FOR_SHARE` reports, as a share of 1 or 2 reports says nothing.
Operator accounts count only the reports attributed to their own operator.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from fleet_monitor.history.operators import OPERATORS_RELATION, operators_relation_params
from fleet_monitor.models.stats import ALL, ALL_OPERATORS
from fleet_monitor.stats import labels
from rules.registry import zone_kind_label

if TYPE_CHECKING:
    from fleet_monitor.stats.methods import MethodParams
    from fleet_monitor.stats.report import ReportQuery, Row

__all__ = [
    "MIN_REPORTS_FOR_SHARE",
    "NO_OPERATOR",
    "ReportFacts",
    "load_reports",
    "residents_section",
    "share",
    "zone_counts",
]

#: Fewest reports a share is computed over.
MIN_REPORTS_FOR_SHARE = 5
#: The operator column of the reports attributed to no operator.
NO_OPERATOR = "-"

#: One row per report of the period: the single definition of day, operator, match.
REPORTS_SQL = f"""
SELECT r.id, (r.created_at AT TIME ZONE %(tz)s)::date AS day, r.source,
  coalesce(o.id, r.operator_id) AS operator_id, r.nearest_vehicle_id IS NOT NULL AS matched
FROM resident_report r
LEFT JOIN {OPERATORS_RELATION} ON o.slug = r.matched->0->>'operator'
WHERE r.created_at >= %(start)s AND r.created_at < %(stop)s
"""

#: The city zones holding each report of the period, in force at its time.
ZONES_SQL = """
SELECT r.id, z.zone_id, min(z.name), min(z.kind)
FROM resident_report r
JOIN zone z ON z.operator IS NULL AND ST_Intersects(z.geom, r.geom)
  AND (z.effective_from IS NULL OR z.effective_from <= r.created_at)
  AND (z.effective_to IS NULL OR r.created_at < z.effective_to)
WHERE r.created_at >= %(start)s AND r.created_at < %(stop)s
GROUP BY r.id, z.zone_id
"""

METHOD = {
    "en": (
        "Residents' reports: reports received through the public page or Open311, counted "
        "on the local day they were received. Matched: at least one vehicle was published "
        "within {radius:g} m of the reported point at that moment. Operator: the operator "
        "of the nearest vehicle matched, else the operator named by the resident, else "
        "none. Zone: every city zone in force at the time of the report that contains the "
        "reported point (a report counts once in each; zones of different kinds are "
        "counted separately); 'outside' counts the reports in no zone of the statistics' "
        "kinds. Counts only: no reference, position, description or contact is exported. "
        "Small numbers are given as they are; a share is given only over at least {min} "
        "reports."
    ),
    "fr": (
        "Signalements d'habitants : signalements reçus par la page publique ou Open311, "
        "comptés le jour local de leur réception. Rapproché : au moins un véhicule était "
        "publié à moins de {radius:g} m du point signalé à ce moment. Opérateur : celui du "
        "véhicule rapproché le plus proche, sinon celui que l'habitant a nommé, sinon "
        "aucun. Zone : chaque zone de la ville en vigueur au moment du signalement qui "
        "contient le point signalé (un signalement compte une fois dans chacune ; les zones "
        "de types différents sont comptées séparément) ; « hors zone » compte les "
        "signalements hors de toute zone des types des statistiques. Des effectifs "
        "seulement : aucune référence, position, description ni coordonnée n'est exportée. "
        "Les petits nombres sont donnés tels quels ; une part n'est donnée que sur au moins "
        "{min} signalements."
    ),
}

TEXT = {
    "en": {
        "no_operator": "No operator (none matched or named)",
        "outside": "outside every zone of the statistics",
        "statement": "residents' reports: {n}; matched to a vehicle: {matched}{share}",
    },
    "fr": {
        "no_operator": "Aucun opérateur (ni rapproché ni nommé)",
        "outside": "hors de toute zone des statistiques",
        "statement": "signalements d'habitants : {n} ; rapprochés d'un véhicule : {matched}{share}",
    },
}


def _text(key: str, lang: str) -> str:
    return TEXT.get(lang, TEXT["en"])[key]


def _share_words(value: float | None, lang: str) -> str:
    """`` (60.0 %)`` after a count, nothing when the share is not given."""
    return "" if value is None else f" ({labels.percent(value, lang)})"


@dataclass(slots=True)
class ReportFacts:
    """What the statistics know of one report: counts are made of these, nothing else."""

    id: int
    day: date
    source: str
    operator_id: int | None
    matched: bool
    zones: list[tuple[str, str, str]] = field(default_factory=list)  # (zone_id, name, kind)


def load_reports(cur: Any, start: datetime, stop: datetime, timezone: str) -> list[ReportFacts]:
    """The reports received in ``[start, stop)`` with their zones (psycopg cursor)."""
    bounds = {"start": start, "stop": stop}
    cur.execute(REPORTS_SQL, {"tz": timezone, **bounds, **operators_relation_params(cur)})
    facts = {r[0]: ReportFacts(r[0], r[1], r[2], r[3], bool(r[4])) for r in cur.fetchall()}
    if facts:
        cur.execute(ZONES_SQL, bounds)
        for rid, zone_id, name, kind in cur.fetchall():
            if rid in facts:
                facts[rid].zones.append((zone_id, name or zone_id, kind))
    return sorted(facts.values(), key=lambda f: f.id)


def share(part: int, whole: int) -> float | None:
    """``part / whole`` rounded, or None under :data:`MIN_REPORTS_FOR_SHARE` reports."""
    if whole < MIN_REPORTS_FOR_SHARE:
        return None
    return round(part / whole, 4)


def _counts(reports: Sequence[ReportFacts]) -> dict[str, Any]:
    n = len(reports)
    matched = sum(1 for r in reports if r.matched)
    return {
        "reports": n,
        "matched": matched,
        "matched_share": share(matched, n),
        "via_page": sum(1 for r in reports if r.source == "web"),
        "via_open311": sum(1 for r in reports if r.source == "open311"),
    }


def zone_counts(
    reports: Sequence[ReportFacts], zone_kinds: Sequence[str]
) -> list[tuple[str, str, str, list[ReportFacts]]]:
    """(zone_id, name, kind, reports) of every zone holding a report, by kind then name;
    then ("", "", "", reports) of those in no zone of ``zone_kinds``."""
    by_zone: dict[tuple[str, str, str], list[ReportFacts]] = defaultdict(list)
    outside = []
    for r in reports:
        for zone in r.zones:
            by_zone[zone].append(r)
        if not any(kind in zone_kinds for _z, _n, kind in r.zones):
            outside.append(r)
    ordered = sorted(by_zone, key=lambda z: (z[2] not in zone_kinds, z[2], z[1], z[0]))
    out = [(z[0], z[1], z[2], by_zone[z]) for z in ordered]
    if outside:
        out.append(("", "", "", outside))
    return out


def residents_section(
    cur: Any,
    rows: Sequence[Row],
    query: ReportQuery,
    params: MethodParams,
    now: datetime,
    visible: frozenset[int] | None,
) -> dict[str, Any]:
    """The section ``residents`` of the statistics report (see the module doc)."""
    from fleet_monitor.resident_reports.reports import MATCH_RADIUS_M

    period, lang = query.period, query.lang
    everything = load_reports(cur, period.start, period.stop, period.timezone)
    if query.zone != ALL:
        everything = [r for r in everything if any(z[0] == query.zone for z in r.zones)]
    real = {r.id for r in rows if r.id != ALL_OPERATORS}
    whole_city = visible is None and query.operator is None
    scope = [r for r in everything if whole_city or r.operator_id in real]
    table = []
    for row in rows:
        mine = scope if row.id == ALL_OPERATORS else [r for r in scope if r.operator_id == row.id]
        table.append({**row.label(), **_counts(mine)})
    if whole_city:
        nobody = [r for r in scope if r.operator_id is None or r.operator_id not in real]
        table.append(
            {
                "operator": NO_OPERATOR,
                "operator_name": _text("no_operator", lang),
                **_counts(nobody),
            }
        )
    by_zone = [
        {
            "zone_id": zone_id,
            "name": name or _text("outside", lang),
            "kind": kind,
            "kind_label": zone_kind_label(kind, lang) if kind else "",
            **_counts(mine),
        }
        for zone_id, name, kind, mine in zone_counts(scope, params.zone_kinds)
    ]
    per_day = Counter(r.day for r in scope)
    matched_day = Counter(r.day for r in scope if r.matched)
    by_day = [
        {"day": d.isoformat(), "reports": per_day[d], "matched": matched_day[d]}
        for d in period.days()
    ]
    matched = sum(1 for r in scope if r.matched)
    return {
        "title": labels.title("residents", lang),
        "method": METHOD.get(lang, METHOD["en"]).format(
            radius=MATCH_RADIUS_M, min=MIN_REPORTS_FOR_SHARE
        ),
        "rows": table,
        "by_zone": by_zone,
        "by_day": by_day,
        "min_reports_for_share": MIN_REPORTS_FOR_SHARE,
        "coverage": {
            "reports": len(scope),
            "matched": matched,
            "matched_share": share(matched, len(scope)),
            "statement": _text("statement", lang).format(
                n=len(scope),
                matched=matched,
                share=_share_words(share(matched, len(scope)), lang),
            ),
        },
    }


def add_to_zones(report: dict[str, Any]) -> None:
    """The counts by zone also on the zones section's rows (page, CSV, XLSX, GeoJSON
    properties): ``resident_reports`` and ``resident_reports_matched``."""
    zones = report["sections"].get("zones")
    residents = report["sections"].get("residents")
    if not zones or not residents:
        return
    counts = {z["zone_id"]: z for z in residents["by_zone"] if z["zone_id"]}
    for row in zones.get("rows", []):
        found = counts.get(row["zone_id"])
        row["resident_reports"] = found["reports"] if found else 0
        row["resident_reports_matched"] = found["matched"] if found else 0
