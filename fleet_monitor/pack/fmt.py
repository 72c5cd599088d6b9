"""French number and date formats for the negotiation pack: ``1 234,5``,
``06/10/2026``, ``octobre 2026``, ``3e trimestre 2026``. A missing value is a dash."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from fleet_monitor.printing.calendar_words import MONTHS_FR as MONTHS
from fleet_monitor.printing.calendar_words import MONTHS_FR_SHORT as MONTHS_SHORT
from fleet_monitor.stats.chart_render import number as _number

DASH = "—"


def num(value: float | None, decimals: int | None = None) -> str:
    """``1234.5`` -> ``1 234,5`` (narrow no-break space between thousands)."""
    return DASH if value is None else _number(float(value), "fr", decimals)


def pct(share: float | None, decimals: int = 1) -> str:
    """``0.9912`` -> ``99,1 %``."""
    if share is None:
        return DASH
    return f"{_number(100.0 * share, 'fr', decimals)}\u00a0%"


def day(d: date | None) -> str:
    return DASH if d is None else d.strftime("%d/%m/%Y")


def moment(at: datetime | None, tz: ZoneInfo) -> str:
    """``06/10/2026 à 14:05`` in the city's time."""
    if at is None:
        return DASH
    local = at.astimezone(tz)
    return f"{local:%d/%m/%Y} à {local:%H:%M}"


def month(d: date, short: bool = False) -> str:
    return f"{(MONTHS_SHORT if short else MONTHS)[d.month - 1]} {d.year}"


def quarter(d: date) -> str:
    q = (d.month - 1) // 3 + 1
    return f"{'1er' if q == 1 else f'{q}e'} trimestre {d.year}"


def quarter_short(d: date) -> str:
    return f"T{(d.month - 1) // 3 + 1} {d.year}"


def hours(h: float | None) -> str:
    """A duration given in hours, in words: ``5 j``, ``36 h``, ``45 min``."""
    if h is None:
        return DASH
    if h >= 48 and abs(h / 24 - round(h / 24)) < 1e-6:
        return f"{num(h / 24, 0)}\u00a0j"
    if h >= 48:
        return f"{num(h / 24, 1)}\u00a0j"
    if h < 1:
        return f"{num(h * 60, 0)}\u00a0min"
    return f"{num(h, 1 if h < 10 else 0)}\u00a0h"


def clock(hhmm: str) -> str:
    """``"03:30"`` -> ``3 h 30``; ``"07:00"`` -> ``7 h``."""
    h, _, m = hhmm.partition(":")
    return f"{int(h)}\u00a0h" + (f"\u00a0{m}" if m and m != "00" else "")


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{num(n)} {one if n <= 1 else (many or one + 's')}"
