"""What needs attention in a day's figures: a short list, derived, never stored.

Each item names an operator and says in a few words, French then English, what
stands out: a fleet above its cap, vehicles not dealt with in time, a feed below
the permit's availability, disputes awaiting a decision, notices not answered,
violations still open at the end of the day, and figures resting on partial
data. The most serious come first; the list is cut at ``limit`` items (the
city's one-page summary) and says how many were left out.

Only figures of the report are read, so the list cannot disagree with them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fleet_monitor.reports.formats import number, percent

# below this share of the expected samples, the day's fleet figures are partial
PARTIAL_DATA = 0.9


@dataclass(frozen=True, slots=True)
class Item:
    level: str  # "flag" (a breach of the permit) | "warn" (to act on) | "info"
    operator: str
    fr: str
    en: str


def _n(n: int, one: str, many: str) -> str:
    return f"{number(n)} {one if n == 1 else many}"


def over_cap(row: Mapping[str, Any]) -> bool:
    """The line shows a fleet above its cap: cap samples of the rules above it, or
    the statistics' maximum above it."""
    cap = row.get("cap")
    if cap is None:
        return False
    return (row.get("samples_over_cap") or 0) > 0 or (row.get("deployed_max") or 0) > cap


def operator_items(row: Mapping[str, Any]) -> list[Item]:
    """The items of one operator's row (a line of the city summary)."""
    name = str(row["name"])
    out: list[Item] = []
    cap, top, over = row.get("cap"), row.get("deployed_max"), row.get("samples_over_cap")
    if over_cap(row):
        detail = f" ({_n(over, 'relevé', 'relevés')} au-dessus)" if over else ""
        out.append(
            Item(
                "flag",
                name,
                f"jusqu’à {number(top)} véhicules pour un plafond de {number(cap)}{detail}",
                "fleet above the permit cap",
            )
        )
    if row.get("overdue"):
        out.append(
            Item(
                "flag",
                name,
                _n(row["overdue"], "véhicule non traité", "véhicules non traités")
                + " dans le délai de l’avis",
                "vehicles not dealt with by the notice deadline",
            )
        )
    minimum, availability = row.get("min_availability"), row.get("availability")
    if minimum is not None and availability is not None and availability < minimum:
        out.append(
            Item(
                "warn",
                name,
                f"flux disponible à {percent(availability)}, sous le minimum de "
                f"{percent(minimum, 0)}",
                "feed availability below the permit minimum",
            )
        )
    pending = (row.get("disputed") or 0) - (row.get("upheld") or 0) - (row.get("rejected") or 0)
    if pending > 0:
        out.append(
            Item(
                "warn",
                name,
                _n(pending, "contestation à trancher", "contestations à trancher"),
                "disputes awaiting a decision",
            )
        )
    unanswered = (
        (row.get("notices_issued") or 0)
        - (row.get("notices_acknowledged") or 0)
        - (row.get("notices_disputed") or 0)
    )
    if unanswered > 0:
        out.append(
            Item(
                "info",
                name,
                _n(unanswered, "avis sans réponse", "avis sans réponse") + " de l’opérateur",
                "notices not answered yet",
            )
        )
    if row.get("open_at_end"):
        out.append(
            Item(
                "info",
                name,
                _n(row["open_at_end"], "infraction", "infractions") + " en cours en fin de journée",
                "violations still open at the end of the day",
            )
        )
    coverage = row.get("sample_coverage")
    if coverage is not None and coverage < PARTIAL_DATA:
        out.append(
            Item(
                "info",
                name,
                f"données partielles ({percent(coverage, 0)} des relevés attendus)",
                "partial data: read the figures with care",
            )
        )
    return out


ORDER = {"flag": 0, "warn": 1, "info": 2}


def attention(rows: Iterable[Mapping[str, Any]], limit: int | None = None) -> dict[str, Any]:
    """``{"items": [...], "more": n}``: the items of every row, most serious first
    (stable within a level: the rows' order), at most ``limit``."""
    items = [i for row in rows for i in operator_items(row)]
    items.sort(key=lambda i: ORDER[i.level])
    if limit is None or len(items) <= limit:
        return {"items": items, "more": 0}
    return {"items": items[:limit], "more": len(items) - limit}
