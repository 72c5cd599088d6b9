"""French (default) and English with Flask-Babel, in the city's time zone.

Source strings are English; ``translations/fr/LC_MESSAGES/messages.po`` holds
the French (compiled ``messages.mo`` shipped next to it, see
``translations/README.md``). The language is chosen with ``?lang=fr|en`` on
any page and remembered in the session, else the city's locale
(``settings.city.locale``). Dates and numbers follow the language's
conventions as spoken in Europe (``fr_FR``, ``en_GB``: day before month, 24-hour
clock) and are shown in ``settings.city.timezone``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, g, request, session, url_for
from flask_babel import Babel, gettext

LANGUAGES: tuple[str, ...] = ("fr", "en")
BABEL_LOCALES = {"fr": "fr_FR", "en": "en_GB"}
JS_LOCALES = {"fr": "fr-FR", "en": "en-GB"}
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}


def current_language() -> str:
    lang: str = g.get("lang", LANGUAGES[0])
    return lang


def other_language() -> str:
    return "en" if current_language() == "fr" else "fr"


def lang_switch_url() -> str:
    """This page (same query string) in the other language.

    Built from the path and the query as they are, never through ``url_for``
    (whose ``_scheme``, ``_external``, ``_anchor`` arguments a query string could
    otherwise set).
    """
    if request.endpoint is None:
        return url_for("map.index", lang=other_language())
    query = [
        (key, value)
        for key, value in (request.args.items(multi=True) if request.method == "GET" else ())
        if key != "lang"
    ]
    query.append(("lang", other_language()))
    path = request.script_root + "/" + request.path.lstrip("/")
    return path + "?" + urlencode(query)


def init_app(app: Flask, *, default: str, timezone: str) -> None:
    default = default if default in LANGUAGES else LANGUAGES[0]
    app.config.setdefault("BABEL_DEFAULT_LOCALE", BABEL_LOCALES[default])
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", timezone)
    Babel(
        app,
        locale_selector=lambda: BABEL_LOCALES[current_language()],
        timezone_selector=lambda: timezone,
    )

    @app.before_request
    def _select_language() -> None:
        asked = request.args.get("lang")
        if asked in LANGUAGES and session.get("lang") != asked:
            session["lang"] = asked
        remembered = session.get("lang")
        g.lang = remembered if remembered in LANGUAGES else default

    @app.context_processor
    def _inject() -> dict[str, object]:
        lang = current_language()
        other = other_language()
        return {
            "lang": lang,
            "other_lang": other,
            "other_lang_name": LANGUAGE_NAMES[other],
            "lang_switch_url": lang_switch_url,
            "leaflet_labels": leaflet_labels,
        }


def leaflet_labels() -> dict[str, str]:
    """Leaflet's own control titles (English in Leaflet), for ``js/leaflet-setup.js``."""
    return {
        "zoomIn": gettext("Zoom in"),
        "zoomOut": gettext("Zoom out"),
        "layers": gettext("Map layers"),
        "close": gettext("Close"),
    }
