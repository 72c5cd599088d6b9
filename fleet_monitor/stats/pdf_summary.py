"""Page one of the statistics report (PDF): the period and filters in words, the key
figures, one line per operator, and what stands out (cap breaches first).

Everything is read from the report (:func:`fleet_monitor.stats.report.build_report`),
so the summary cannot disagree with the sections behind it. Texts are in the
report's language, numbers and dates in its conventions (``1 234,5`` and
``6 octobre 2026`` in French).

Decision: a day is "over the cap" when the statistics' daily maximum (5-minute
observed samples) exceeds the cap in force that day, as the fleet chart flags it;
the breach itself is the rules engine's, counted in the violations (``fleet_cap*``
rule types) and named next to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from fleet_monitor.models.stats import ALL
from fleet_monitor.printing.calendar_words import DAYS_EN, DAYS_FR, MONTHS_EN, MONTHS_FR
from fleet_monitor.stats import labels
from fleet_monitor.stats.chart_render import number

MONTHS = {"fr": MONTHS_FR, "en": MONTHS_EN}
WEEKDAYS = {"fr": DAYS_FR, "en": DAYS_EN}
FORM_FACTORS = {
    "fr": {
        "bicycle": "vélos",
        "cargo_bicycle": "vélos cargo",
        "scooter_standing": "trottinettes",
        "scooter_seated": "scooters assis",
        "scooter": "trottinettes",
        "moped": "cyclomoteurs",
        "car": "voitures",
        "other": "autres véhicules",
    },
    "en": {
        "bicycle": "bicycles",
        "cargo_bicycle": "cargo bicycles",
        "scooter_standing": "standing scooters",
        "scooter_seated": "seated scooters",
        "scooter": "scooters",
        "moped": "mopeds",
        "car": "cars",
        "other": "other vehicles",
    },
}
TEXT = {
    "fr": {
        "all": "tous les opérateurs, tous les types de véhicules, toute la ville",
        "operator": "opérateur {name}",
        "zone": "zone {name}",
        "form_factor": "{name} seulement",
        "cap": "{name} : jusqu’à {top} véhicules pour un plafond de {cap}, {n} jour(s) sur {days}"
        " ({when})",
        "cap_day": "{name} : jusqu’à {top} véhicules pour un plafond de {cap}",
        "cap_rules": "{name} : {n} infraction(s) au plafond relevée(s) par les règles du permis",
        "feed": "{name} : {share} de lectures du flux réussies ({minutes} min de panne)",
        "idle": "{name} : {share} des véhicules stationnés depuis plus de 7 jours au relevé "
        "quotidien",
        "overdue": "{name} : {share} des véhicules notifiés non traités dans le délai",
        "disputes": "{name} : {disputed} véhicule(s) contesté(s) sur {noticed}, {upheld} "
        "contestation(s) acceptée(s)",
        "residents": "{n} signalement(s) d’habitants, dont {matched} rapproché(s) d’un véhicule",
        "coverage": "Données partielles : {statement}",
        "missing": "{n} jour(s) de la période pas encore agrégé(s)",
        "nothing": "Rien de notable sur la période : aucun plafond dépassé, flux disponibles.",
        "no_data": "Aucune donnée pour cette période.",
    },
    "en": {
        "all": "all operators, all vehicle types, the whole city",
        "operator": "operator {name}",
        "zone": "zone {name}",
        "form_factor": "{name} only",
        "cap": "{name}: up to {top} vehicles against a cap of {cap}, on {n} of {days} day(s)"
        " ({when})",
        "cap_day": "{name}: up to {top} vehicles against a cap of {cap}",
        "cap_rules": "{name}: {n} fleet cap violation(s) found by the permit's rules",
        "feed": "{name}: {share} of the feed's fetches succeeded ({minutes} min of outage)",
        "idle": "{name}: {share} of the vehicles parked for more than 7 days at the daily sample",
        "overdue": "{name}: {share} of the vehicles noticed not dealt with in time",
        "disputes": "{name}: {disputed} of {noticed} vehicle(s) disputed, {upheld} dispute(s) "
        "upheld",
        "residents": "{n} residents' report(s), {matched} matched to a vehicle",
        "coverage": "Partial data: {statement}",
        "missing": "{n} day(s) of the period not aggregated yet",
        "nothing": "Nothing stands out: no cap exceeded, feeds available.",
        "no_data": "No data for this period.",
    },
}
FEED_TARGET = 0.99  # the permits' default monthly availability (rules.inputs)
PARTIAL = 0.9


def _lang(lang: str) -> str:
    return "fr" if lang == "fr" else "en"


def day_words(day: str | date, lang: str, weekday: bool = False) -> str:
    """``2026-10-06`` -> ``mardi 6 octobre 2026`` / ``Tuesday 6 October 2026``."""
    lang = _lang(lang)
    d = date.fromisoformat(day) if isinstance(day, str) else day
    first = "1er" if lang == "fr" and d.day == 1 else str(d.day)
    text = f"{first} {MONTHS[lang][d.month - 1]} {d.year}"
    return f"{WEEKDAYS[lang][d.weekday()]} {text}" if weekday else text


def short_day(day: str, lang: str) -> str:
    """``2026-11-12`` -> ``12/11`` (fr) or ``12 Nov`` (en)."""
    d = date.fromisoformat(day)
    return f"{d:%d/%m}" if _lang(lang) == "fr" else f"{d.day} {MONTHS['en'][d.month - 1][:3]}"


def period_words(period: Mapping[str, Any], lang: str) -> str:
    """The period as a reader says it: one day, or from the first to the last day."""
    lang = _lang(lang)
    first, last = date.fromisoformat(period["first_day"]), date.fromisoformat(period["last_day"])
    if first == last:
        return day_words(first, lang, weekday=True)
    end = day_words(last, lang)
    if (first.year, first.month) == (last.year, last.month):
        start = "1er" if lang == "fr" and first.day == 1 else str(first.day)
    elif first.year == last.year:
        start = day_words(first, lang).rsplit(" ", 1)[0]
    else:
        start = day_words(first, lang)
    return f"du {start} au {end}" if lang == "fr" else f"{start} to {end}"


def filters_words(report: Mapping[str, Any], lang: str) -> str:
    """The filters in words; every figure of the report is for this scope."""
    lang = _lang(lang)
    t = TEXT[lang]
    f = report["filters"]
    names = {o["slug"]: o["name"] for o in report.get("operators", ())}
    zones = {z["zone_id"]: z["name"] for z in report["sections"].get("zones", {}).get("rows", ())}
    parts = []
    if f.get("operator") not in (None, "", ALL):
        parts.append(t["operator"].format(name=names.get(f["operator"], f["operator"])))
    if f.get("form_factor") not in (None, "", ALL):
        ff = FORM_FACTORS[lang].get(f["form_factor"], f["form_factor"].replace("_", " "))
        parts.append(t["form_factor"].format(name=ff))
    if f.get("zone") not in (None, "", ALL):
        parts.append(t["zone"].format(name=zones.get(f["zone"], f["zone"])))
    return ", ".join(parts) if parts else t["all"]


def row_of(section: Mapping[str, Any] | None, slug: str) -> Mapping[str, Any]:
    rows = (section or {}).get("rows") or []
    return next((r for r in rows if r.get("operator") == slug), {})


def focus_slug(report: Mapping[str, Any]) -> str | None:
    """The row the key figures are about: all operators when there, else the only one."""
    rows = report["sections"].get("fleet", {}).get("rows") or []
    slugs = [r["operator"] for r in rows]
    return ALL if ALL in slugs else (slugs[0] if slugs else None)


def cap_breaches(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per operator with a cap: the days whose maximum exceeds the cap in force."""
    fleet = report["sections"].get("fleet") or {}
    caps: Mapping[str, Mapping[str, int]] = fleet.get("caps") or {}
    out = []
    for row in fleet.get("rows") or []:
        by_day = caps.get(row["operator"])
        if not by_day:
            continue
        days = [
            d
            for d in fleet.get("daily") or []
            if d["operator"] == row["operator"]
            and d.get("deployed_max") is not None
            and by_day.get(d["day"]) is not None
            and d["deployed_max"] > by_day[d["day"]]
        ]
        if days:
            worst = max(days, key=lambda d: (d["deployed_max"] - by_day[d["day"]], d["day"]))
            out.append(
                {
                    "operator": row["operator"],
                    "name": row["operator_name"],
                    "days": [d["day"] for d in days],
                    "top": worst["deployed_max"],
                    "cap": by_day[worst["day"]],
                }
            )
    return out


def operator_lines(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One line per operator for page one (the all-operators row last, if any)."""
    s = report["sections"]
    caps: Mapping[str, Mapping[str, int]] = (s.get("fleet") or {}).get("caps") or {}
    breaches = {b["operator"]: len(b["days"]) for b in cap_breaches(report)}
    lines = []
    for row in (s.get("fleet") or {}).get("rows") or []:
        slug = row["operator"]
        by_day = caps.get(slug)
        lines.append(
            {
                "operator": slug,
                "name": row["operator_name"],
                "total": slug == ALL,
                "deployed_avg": row.get("deployed_avg"),
                "deployed_max": row.get("deployed_max"),
                "cap": by_day[max(by_day)] if by_day else None,
                "days_over_cap": breaches.get(slug, 0) if by_day else None,
                "violations": row_of(s.get("violations"), slug).get("opened"),
                "success_share": row_of(s.get("feeds"), slug).get("success_share"),
                "over_3d": row_of(s.get("idle"), slug).get("over_3d"),
                "departures_per_vehicle_day": row_of(s.get("use"), slug).get(
                    "departures_per_vehicle_day"
                ),
            }
        )
    return lines


def stands_out(report: Mapping[str, Any], limit: int = 8) -> list[dict[str, str]]:
    """What a reader should see first: ``[{"level": "flag"|"warn"|"info", "text"}]``."""
    lang = _lang(str(report.get("lang", "fr")))
    t, s = TEXT[lang], report["sections"]
    days = int(report["period"]["days"])
    items: list[dict[str, str]] = []

    def add(level: str, key: str, **values: Any) -> None:
        items.append({"level": level, "text": t[key].format(**values)})

    for b in cap_breaches(report):
        when = ", ".join(short_day(d, lang) for d in b["days"][:4])
        when += "…" if len(b["days"]) > 4 else ""
        add(
            "flag",
            "cap" if days > 1 else "cap_day",
            name=b["name"],
            top=number(b["top"], lang),
            cap=number(b["cap"], lang),
            n=len(b["days"]),
            days=days,
            when=when,
        )
    cap_rules: dict[str, tuple[str, int]] = {}
    for r in (s.get("violations") or {}).get("by_rule") or []:
        if str(r["rule_type"]).startswith("fleet_cap") and r["operator"] != ALL and r["opened"]:
            name, n = cap_rules.get(r["operator"], (r["operator_name"], 0))
            cap_rules[r["operator"]] = (name, n + int(r["opened"]))
    for name, n in cap_rules.values():
        add("flag", "cap_rules", name=name, n=n)
    for r in _operators(s.get("feeds")):
        share = r.get("success_share")
        if share is not None and share < FEED_TARGET:
            add(
                "warn",
                "feed",
                name=r["operator_name"],
                share=labels.percent(share, lang),
                minutes=number(r.get("outage_minutes") or 0, lang, 0),
            )
    for r in _operators(s.get("notices")):
        if r.get("overdue_share"):
            add(
                "warn",
                "overdue",
                name=r["operator_name"],
                share=labels.percent(r["overdue_share"], lang),
            )
        if r.get("vehicles_disputed"):
            add(
                "info",
                "disputes",
                name=r["operator_name"],
                disputed=r["vehicles_disputed"],
                noticed=r["vehicles_noticed"],
                upheld=r.get("disputes_upheld", 0),
            )
    for r in _operators(s.get("idle")):
        if r.get("over_7d"):
            add("info", "idle", name=r["operator_name"], share=labels.percent(r["over_7d"], lang))
    residents = (s.get("residents") or {}).get("coverage") or {}
    if residents.get("reports"):
        add("info", "residents", n=residents["reports"], matched=residents.get("matched", 0))
    coverage = (s.get("fleet") or {}).get("coverage") or {}
    if coverage.get("coverage") is not None and coverage["coverage"] < PARTIAL:
        add("warn", "coverage", statement=coverage["statement"])
    missing = report["aggregation"]["days"] - report["aggregation"]["aggregated"]
    if missing > 0:
        add("warn", "missing", n=missing)
    order = {"flag": 0, "warn": 1, "info": 2}
    items.sort(key=lambda i: order[i["level"]])
    if not (s.get("fleet") or {}).get("rows"):
        return [{"level": "warn", "text": t["no_data"]}, *items[: limit - 1]]
    return items[:limit] or [{"level": "ok", "text": t["nothing"]}]


def _operators(section: Mapping[str, Any] | None) -> Sequence[Mapping[str, Any]]:
    if not section or section.get("available") is False:
        return []
    return [r for r in section.get("rows") or [] if r.get("operator") != ALL]
