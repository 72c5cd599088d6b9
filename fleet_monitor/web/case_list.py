"""The case list's rows and its map: zone, duration and priority per case.

Priority (decision, written here once and shown with its meaning on the page):
1 "high": the vehicle is a danger or an obstruction now (in water, on tram
tracks, in a no-parking area); 2 "medium": other parking breaches, a disabled
vehicle left too long, and fleet-level breaches (caps, feed outages); 3 "low":
outside a mandatory parking area, idle too long, and the rest. An uncertain
violation drops one level. Within a level the longest-running case comes first.
The duration runs from the violation's start (``since``, else its detection)
to its end, or to the service's clock while it is open.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from fleet_monitor.history.operators import OPERATORS_RELATION_TEXT, operators_relation_binds

PRIORITY: dict[str, int] = {
    "in_water": 1,
    "on_tram_tracks": 1,
    "in_no_parking_area": 1,
    "in_pedestrian_area": 2,
    "outside_operating_area": 2,
    "disabled_too_long": 2,
    "fleet_cap": 2,
    "zone_cap": 2,
    "feed_outage": 2,
}
DEFAULT_PRIORITY = 3
ZONE_ID_RE = re.compile(r"^[\w:.\-]{1,200}$")
MAP_LIMIT = 2000  # open cases drawn on the list's map


def _priority_sql() -> str:
    # built from the constants above only (never from input)
    cases = " ".join(f"WHEN '{rule}' THEN {level}" for rule, level in PRIORITY.items())
    return (
        f"LEAST(3, (CASE v.rule_type {cases} ELSE {DEFAULT_PRIORITY} END)"
        " + (CASE WHEN v.status = 'uncertain' THEN 1 ELSE 0 END))"
    )


FILTERS = """
WHERE (CAST(:scope AS int[]) IS NULL OR o.id = ANY(CAST(:scope AS int[])))
  AND (CAST(:operator AS text) IS NULL OR v.operator = :operator)
  AND (CAST(:rule AS text) IS NULL OR v.rule_type = :rule)
  AND (CAST(:zone AS text) IS NULL OR v.zone_id = :zone)
  AND (NOT :open_only OR v.state <> 'closed')
"""

LIST_SQL = f"""
SELECT v.id, v.rule_type, v.operator, o.name AS operator_name, v.gbfs_id, v.state, v.status,
       v.opened_at, v.closed_at, v.since, v.subject_kind, v.zone_id,
       coalesce(c.status, 'open') AS case_status, z.name AS zone_name, z.kind AS zone_kind,
       {_priority_sql()} AS priority,
       extract(epoch FROM coalesce(v.closed_at, CAST(:now AS timestamptz))
                          - coalesce(v.since, v.opened_at)) AS duration_s,
       ST_Y(v.geom) AS lat, ST_X(v.geom) AS lon,
       (SELECT n.reference FROM notice_item i JOIN notice n ON n.id = i.notice_id
         WHERE i.violation_id = v.id AND i.active ORDER BY n.id DESC LIMIT 1) AS notice
FROM violation v
JOIN {OPERATORS_RELATION_TEXT} ON o.slug = v.operator
LEFT JOIN case_file c ON c.violation_id = v.id
LEFT JOIN LATERAL (SELECT name, kind FROM zone WHERE zone_id = v.zone_id
                   ORDER BY version DESC LIMIT 1) z ON true
{FILTERS}
ORDER BY priority, coalesce(v.since, v.opened_at), v.id
LIMIT :limit OFFSET :offset
"""

ZONES_SQL = f"""
SELECT DISTINCT v.zone_id, z.name
FROM violation v
JOIN {OPERATORS_RELATION_TEXT} ON o.slug = v.operator
JOIN LATERAL (SELECT name FROM zone WHERE zone_id = v.zone_id
              ORDER BY version DESC LIMIT 1) z ON true
WHERE (CAST(:scope AS int[]) IS NULL OR o.id = ANY(CAST(:scope AS int[])))
  AND v.zone_id IS NOT NULL AND v.state <> 'closed'
ORDER BY z.name
LIMIT 500
"""


def list_cases(
    s: Session,
    *,
    scope: list[int] | None,
    now: datetime,
    operator: str | None = None,
    rule: str | None = None,
    zone: str | None = None,
    open_only: bool = True,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    params = {
        "scope": scope,
        "now": now,
        "operator": operator,
        "rule": rule,
        "zone": zone,
        "open_only": open_only,
        "limit": limit,
        "offset": offset,
        **operators_relation_binds(s),
    }
    return [dict(r) for r in s.execute(text(LIST_SQL), params).mappings()]


def case_zones(s: Session, scope: list[int] | None) -> list[tuple[str, str]]:
    """(zone_id, name) of the zones that open cases in scope are about."""
    return [
        (z, n)
        for z, n in s.execute(text(ZONES_SQL), {"scope": scope, **operators_relation_binds(s)})
    ]


def priority_label(level: int) -> str:
    from flask_babel import gettext as _

    return {1: _("high"), 2: _("medium")}.get(int(level), _("low"))


def duration_words(seconds: float | None) -> str:
    """A case's duration in the page's language: minutes, then hours, then days."""
    from flask_babel import format_decimal, gettext

    if seconds is None:
        return "—"
    seconds = max(0.0, float(seconds))
    if seconds < 3600:
        return gettext("%(num)s min", num=int(seconds // 60))
    if seconds < 86400:
        return gettext("%(num)s h", num=int(seconds // 3600))
    days = format_decimal(round(seconds / 86400, 1), "#,##0.#")
    return gettext("%(days)s days", days=days)


# rules broken by being inside their zone (the others: by being outside it)
INSIDE_RULES = frozenset({"in_water", "on_tram_tracks", "in_no_parking_area", "in_pedestrian_area"})


def zone_words(kind: str | None, name: str) -> str:
    """The zone in words: its kind, then its name (« » in French)."""
    from flask_babel import gettext

    from fleet_monitor.web.map import zone_label

    if not kind:
        return name
    return gettext("%(kind)s “%(name)s”", kind=zone_label(kind), name=name)


def border_words(v: dict[str, Any], distance: str, tolerance: str) -> str:
    """Inside or outside the zone, and how far from its border, said plainly."""
    from flask_babel import gettext

    if v.get("status") == "uncertain":
        return gettext(
            "%(distance)s from the zone's border: within the GPS tolerance (%(tolerance)s),"
            " so inside or outside cannot be told for sure",
            distance=distance,
            tolerance=tolerance,
        )
    if v.get("rule_type") in INSIDE_RULES:
        return gettext(
            "inside the zone, %(distance)s from its border (GPS tolerance %(tolerance)s)",
            distance=distance,
            tolerance=tolerance,
        )
    return gettext(
        "outside the zone, %(distance)s from its border (GPS tolerance %(tolerance)s)",
        distance=distance,
        tolerance=tolerance,
    )


def init_app(app: Any) -> None:
    app.jinja_env.globals.update(
        priority_label=priority_label,
        duration_words=duration_words,
        zone_words=zone_words,
        border_words=border_words,
    )
