"""How the daily reports write figures: French formats, for bilingual documents.

The documents are French then English; numbers follow the French convention
(decimal comma, narrow no-break space between thousands), which English readers
read without ambiguity once the decimals are few. The exact value of every
figure stays in the JSON and CSV, and in a ``data-value`` attribute next to the
rounded text of the HTML (the figures consistency test reads it).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fleet_monitor.printing.calendar_words import DAYS_EN, DAYS_FR, MONTHS_EN, MONTHS_FR

NNBSP = "\u202f"


def number(value: Any, decimals: int | None = None) -> str:
    """``1234`` -> ``1 234``; ``5.9861`` -> ``5,99`` (2 decimals at most, trailing
    zeros dropped; ``decimals`` fixes them); None -> an em dash."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if decimals is None:
        text = f"{value:,.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}"
    else:
        text = f"{value:,.{decimals}f}"
    return text.replace(",", NNBSP).replace(".", ",")


def percent(share: float | None, decimals: int = 1) -> str:
    """``0.9583`` -> ``95,8 %``; None -> an em dash."""
    if share is None:
        return "—"
    return f"{share * 100:.{decimals}f}".replace(".", ",") + f"{NNBSP}%"


def euros(amount: float | None) -> str:
    """``1234.5`` -> ``1 234,50 €``."""
    return "—" if amount is None else number(float(amount), 2) + f"{NNBSP}€"


def day_fr(day: str | date) -> str:
    d = date.fromisoformat(day) if isinstance(day, str) else day
    first = "1er" if d.day == 1 else str(d.day)
    return f"{DAYS_FR[d.weekday()]} {first} {MONTHS_FR[d.month - 1]} {d.year}"


def day_en(day: str | date) -> str:
    d = date.fromisoformat(day) if isinstance(day, str) else day
    return f"{DAYS_EN[d.weekday()]} {d.day} {MONTHS_EN[d.month - 1]} {d.year}"


def raw(value: Any) -> str:
    """The exact value for a ``data-value`` attribute (empty for None)."""
    return "" if value is None else str(value)


# notice items' outcomes and feed outages' kinds, as codes in the figures
WORDS = {
    "remedied": "traité / remedied",
    "overdue": "hors délai / overdue",
    "partial": "partiel / partial",
    "undetermined": "indéterminé / undetermined",
    "unavailable": "flux indisponible / feed unavailable",
    "stale": "données figées / stale data",
    "empty": "flux vide / empty feed",
    "collapse": "effondrement / collapse",
    "fetch_failed": "lecture échouée / fetch failed",
}


def words(code: str) -> str:
    """A code of the figures (an outcome, an outage kind) in French and English."""
    return WORDS.get(code, code.replace("_", " "))


def short(text: str, limit: int = 30) -> str:
    """A name that fits the one-page summary: one line, at most ``limit`` characters
    (an operator's name is its feed's; the operator's own report has it in full)."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


FILTERS = {
    "short": short,
    "words": words,
    "num": number,
    "pct": percent,
    "eur": euros,
    "day_fr": day_fr,
    "day_en": day_en,
    "raw": raw,
}
