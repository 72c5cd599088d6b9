"""Titles and short statements of the statistics, in French and English (exports are
made outside a web request, so they do not go through Flask-Babel)."""

from __future__ import annotations

TITLES = {
    "en": {
        "report": "Shared vehicles statistics",
        "statistics_report": "Statistics report",
        "general": "Sources and periods",
        "fleet": "Deployed fleet",
        "idle": "Idle time",
        "use": "Use",
        "violations": "Violations",
        "notices": "Notices",
        "feeds": "Feed availability and data quality",
        "declared": "Declared and observed fleet",
        "zones": "Parking density by zone",
        "residents": "Residents' reports",
        "methodology": "Methodology",
        "coverage": "Coverage",
        "all_operators": "All operators",
        "all": "all",
        "not_available": "Not available",
        "period": "Period",
        "generated": "Generated",
        "filters": "Filters",
        "no_filter": "none (all operators, vehicle types and zones)",
        "daily": "Per day",
        "hourly": "Per hour",
        "by_zone": "By zone",
        "by_rule": "By rule",
        "by_day": "By day",
        "distribution": "Distribution",
    },
    "fr": {
        "report": "Statistiques des véhicules partagés",
        "statistics_report": "Rapport statistique",
        "general": "Sources et périodes",
        "fleet": "Flotte déployée",
        "idle": "Immobilisation",
        "use": "Usage",
        "violations": "Infractions",
        "notices": "Avis aux opérateurs",
        "feeds": "Disponibilité et qualité des flux",
        "declared": "Flotte déclarée et observée",
        "zones": "Densité de stationnement par zone",
        "residents": "Signalements d'habitants",
        "methodology": "Méthodologie",
        "coverage": "Couverture",
        "all_operators": "Tous les opérateurs",
        "all": "tous",
        "not_available": "Non disponible",
        "period": "Période",
        "generated": "Produit le",
        "filters": "Filtres",
        "no_filter": "aucun (tous les opérateurs, types de véhicules et zones)",
        "daily": "Par jour",
        "hourly": "Par heure",
        "by_zone": "Par zone",
        "by_rule": "Par règle",
        "by_day": "Par jour",
        "distribution": "Répartition",
    },
}

_STATEMENTS = {
    "en": {
        "samples": "{observed} of {expected} {step:g}-minute samples observed ({share})",
        "idle": "{observed} of {expected} daily idle samples observed ({share})",
        "days": "days aggregated: {aggregated} of {days}",
        "none": "no data for this period",
        "notices_missing": "the notices tables are not installed: notices are not available",
        "excluded": "{n} vanishings not counted (outage {outage}, disabled {disabled}, "
        "not confirmed {unconfirmed})",
        "lower": "{n} of {total} times parked are lower bounds",
        "fetches": "{n} fetches",
    },
    "fr": {
        "samples": "{observed} échantillons de {step:g} minutes observés sur {expected} ({share})",
        "idle": "{observed} relevés quotidiens d'immobilisation observés sur {expected} ({share})",
        "days": "jours agrégés : {aggregated} sur {days}",
        "none": "aucune donnée pour cette période",
        "notices_missing": "les tables des mises en demeure ne sont pas installées : "
        "chiffres non disponibles",
        "excluded": "{n} disparitions non comptées (panne {outage}, hors service {disabled}, "
        "non confirmées {unconfirmed})",
        "lower": "{n} durées sur {total} sont des minorants",
        "fetches": "{n} lectures",
    },
}


def title(key: str, lang: str) -> str:
    return TITLES.get(lang, TITLES["en"]).get(key, key)


def statement(key: str, lang: str, **values: object) -> str:
    texts = _STATEMENTS.get(lang, _STATEMENTS["en"])
    return texts[key].format(**values)


def percent(share: float | None, lang: str) -> str:
    if share is None:
        return "-"
    text = f"{share * 100:.1f} %"
    return text.replace(".", ",") if lang == "fr" else text


# the charts' texts (fleet_monitor.stats.charts)
CHART_TEXT = {
    "en": {
        "hourly": "Deployed fleet per hour (mean)",
        "daily": "Mean deployed fleet per day",
        "vehicles": "vehicles",
        "comparison": "Mean, 95th percentile and maximum",
        "mean": "mean",
        "max": "max",
        "idle": "Share parked longer than 1, 3, 7, 14 days",
        "days": "> {n} d",
        "use": "Departures per vehicle per day (±20 %)",
        "departures": "departures / vehicle / day",
        "violations": "Violations opened by rule",
        "opened": "violations",
        "feeds": "Successful fetches of the vehicle feed",
        "cap": "{name} permit cap: {cap}",
        "over": "{name}: maximum above the cap",
        "cap_short": "permit cap",
        "cap_tick": "cap {cap}",
    },
    "fr": {
        "hourly": "Flotte déployée par heure (moyenne)",
        "daily": "Flotte déployée moyenne par jour",
        "vehicles": "véhicules",
        "comparison": "Moyenne, 95e centile et maximum",
        "mean": "moyenne",
        "max": "max",
        "idle": "Part stationnée depuis plus de 1, 3, 7, 14 jours",
        "days": "> {n} j",
        "use": "Départs par véhicule et par jour (±20 %)",
        "departures": "départs / véhicule / jour",
        "violations": "Infractions ouvertes par règle",
        "opened": "infractions",
        "feeds": "Lectures réussies du flux des véhicules",
        "cap": "Plafond du permis {name} : {cap}",
        "over": "{name} : maximum au-dessus du plafond",
        "cap_short": "plafond du permis",
        "cap_tick": "plafond {cap}",
    },
}


def chart_text(key: str, lang: str, **values: object) -> str:
    return CHART_TEXT.get(lang, CHART_TEXT["en"])[key].format(**values)
