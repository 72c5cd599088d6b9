"""The demo city's zones and one permit per simulated operator.

Used by ``fleet-monitor demo`` (at start, so that the map shows violations on
the simulation clock) and by the scenario tests. The permits are real TOML
texts imported like any other; their terms are chosen to make the scripted
cases visible within a demo session: idle more than 24 h, disabled more than
12 h, the simulator's fleet caps. Annecy has no tram: the simulator's railway
and bus corridors stand in for tram tracks, and are imported, but the demo
permits do not forbid parking along them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from fleet_monitor.violations.catalog import import_permit, import_zones
from rules import ZONE_KINDS, zones_from_geojson

DEMO_TERMS: Mapping[str, Mapping[str, str]] = {
    "velomax": {"name": "VéloMax – AOT démo"},
    "trotti": {"name": "Trotti – AOT démo"},
    "lacbike": {"name": "LacBike – AOT démo", "mandatory": "true"},
}


def demo_permit_text(
    operator: str,
    cap: int | None,
    effective_from: datetime,
    *,
    max_idle: str = "24h",
    max_disabled: str = "12h",
    name: str | None = None,
    mandatory_parking: bool = False,
) -> str:
    """A permit as the city would write it (see ``rules.permit_toml``)."""
    lines = [
        f'operator = "{operator}"',
        "version = 1",
        f'name = "{name or DEMO_TERMS.get(operator, {}).get("name", operator)}"',
        f"effective_from = {effective_from.isoformat()}",
        'timezone = "Europe/Paris"',
        "gps_tolerance_m = 10",
        "",
        "[fleet]",
    ]
    if cap is not None:
        lines.append(f"cap = {cap}")
    lines += [
        "",
        "[time_limits]",
        f'max_idle = "{max_idle}"',
        f'max_disabled = "{max_disabled}"',
        "",
        "[parking]",
        'prohibited_kinds = ["no_parking", "pedestrian", "water"]',
    ]
    if mandatory_parking:
        lines += ["mandatory = true", 'districts = ["district:annecy"]']
    lines += [
        "",
        "[operating_area]",
        'zones = ["operating_area:annecy"]',
        "",
        "[data]",
        'max_feed_staleness = "5m"',
        "min_monthly_availability = 0.99",
        "",
        # the legal wording the notices quote (docs/notices.md)
        "[legal]",
        'municipal_order = "Arrêté municipal n° 2026-117 du 12 mars 2026 (démonstration)"',
        "legal_basis = [",
        '  "Code général de la propriété des personnes publiques, art. L2122-1",',
        '  "Code des transports, art. L1231-17",',
        "]",
        "[legal.clauses.in_water]",
        'article = "Article 7.3"',
        'text = "Aucun engin ne doit être laissé dans le lac ni sur ses berges."',
        "[legal.clauses.in_no_parking_area]",
        'article = "Article 6.1"',
        'text = "Le stationnement des engins est interdit dans les zones désignées par la ville."',
        "[legal.clauses.in_pedestrian_area]",
        'article = "Article 6.2"',
        'text = "Aucun engin ne stationne dans les rues piétonnes."',
        "[legal.clauses.idle_too_long]",
        'article = "Article 8.1"',
        'text = "Un engin immobilisé plus de cinq jours est retiré par l’opérateur."',
        "",
        "[penalties]",
        "idle_too_long = 49",
        "disabled_too_long = 49",
        "in_no_parking_area = 35",
        "in_pedestrian_area = 35",
        "in_water = 120",
        "fleet_cap = 500",
        "",
        "[counting]",
        'sample_interval = "5m"',
        'window = "24h"',
        "",
    ]
    return "\n".join(lines)


def import_city_zones(session: Session, now: datetime) -> int:
    """Import every zone kind of the simulated city (first versions: no start date)."""
    from gbfs_simulator import zone_file_path

    n = 0
    for kind in ZONE_KINDS:
        path = zone_file_path(kind)
        if not path.exists():  # a kind the simulated city has no zone of
            continue
        zones = zones_from_geojson(path.read_bytes(), kind)
        res = import_zones(session, zones, kind=kind, operator=None, now=now, source=path.name)
        n += len(res.created)
    return n


def import_demo_permits(
    session: Session,
    caps: Mapping[str, int | None],
    start: datetime,
    *,
    default_tolerance_m: float = 10.0,
) -> list[str]:
    """One permit per operator, in force from a day before ``start``."""
    out = []
    for op, cap in caps.items():
        text = demo_permit_text(
            op,
            cap,
            start - timedelta(days=1),
            mandatory_parking=DEMO_TERMS.get(op, {}).get("mandatory") == "true",
        )
        res = import_permit(session, text, default_tolerance_m=default_tolerance_m, source="demo")
        out.append(f"{res.operator} v{res.version} ({res.status})")
    return out
