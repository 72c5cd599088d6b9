"""Minimal French / English translation of the map's visible strings.

A dict per language for now; the full application will move to Flask-Babel.
The language is ``?lang=fr|en`` (remembered in the session), else the city's
locale from the settings.
"""

from __future__ import annotations

from flask import Flask, g, request, session

LANGUAGES = ("fr", "en")

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Carte des véhicules en libre-service",
        "legend": "Légende",
        "operators": "Opérateurs",
        "states": "États",
        "state.available": "disponible",
        "state.reserved": "réservé",
        "state.disabled": "hors service",
        "operator": "Opérateur",
        "vehicle_id": "Identifiant",
        "vehicle_type": "Type",
        "battery": "Batterie",
        "range": "Autonomie",
        "parked_since": "Garé depuis",
        "confidence.observed": "arrivée observée",
        "confidence.first_seen": "au moins, déjà présent au premier relevé",
        "confidence.after_gap": "au moins, revu après une panne du flux",
        "unknown": "inconnu",
        "vehicles": "véhicules",
        "updated": "Mis à jour à",
        "loading": "Chargement…",
        "load_error": "Impossible de charger les véhicules",
        "no_tiles": "Aucun fond de carte configuré",
        "switch_language": "English",
        "map_label": "Carte des véhicules",
    },
    "en": {
        "title": "Shared vehicles map",
        "legend": "Legend",
        "operators": "Operators",
        "states": "States",
        "state.available": "available",
        "state.reserved": "reserved",
        "state.disabled": "disabled",
        "operator": "Operator",
        "vehicle_id": "ID",
        "vehicle_type": "Type",
        "battery": "Battery",
        "range": "Range",
        "parked_since": "Parked since",
        "confidence.observed": "arrival observed",
        "confidence.first_seen": "at least, already there at the first poll",
        "confidence.after_gap": "at least, seen again after a feed outage",
        "unknown": "unknown",
        "vehicles": "vehicles",
        "updated": "Updated at",
        "loading": "Loading…",
        "load_error": "Could not load the vehicles",
        "no_tiles": "No base map configured",
        "switch_language": "Français",
        "map_label": "Vehicles map",
    },
}


def current_language() -> str:
    lang: str = g.get("lang", LANGUAGES[0])
    return lang


def gettext(key: str) -> str:
    """The visible string ``key`` in the request's language (the key itself if unknown)."""
    return MESSAGES[current_language()].get(key, key)


def init_app(app: Flask, *, default: str) -> None:
    default = default if default in LANGUAGES else LANGUAGES[0]

    @app.before_request
    def _select_language() -> None:
        asked = request.args.get("lang")
        if asked in LANGUAGES:
            session["lang"] = asked
        remembered = session.get("lang")
        g.lang = remembered if remembered in LANGUAGES else default

    @app.context_processor
    def _inject() -> dict[str, object]:
        return {"_": gettext, "lang": current_language()}
