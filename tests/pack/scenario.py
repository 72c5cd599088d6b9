"""Two months of history for two operators in the demo city (August and September
2026, Europe/Paris), written with the statistics tests' helper and aggregated.

* the city's own zones (districts, the lake...) from the simulated city's files;
* alpha (bikes), permit cap 13 (14 in the Annecy district): 12 vehicles parked all
  along, 3 more on 10, 11 and 12 August from 08:00Z to 20:00Z (15 deployed, all in
  the Annecy district: over both caps on 3 days), fetched
  every 5 minutes; 4 idle findings in August, one uncertain; two notices of breach
  (one remedied in 1 h, one answered in 5 h: overdue), 3 vehicles noticed, one
  disputed, the dispute upheld;
* beta (scooters), permit cap 20: 8 vehicles, moved on 1 September to other
  places; a 12-hour feed outage on 15 September (September availability
  1 - 12/720 = 98.3 %, under the permit's 99 %); one finding in the lake.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import shapely
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fleet_monitor.stats.aggregate import AggregateConfig, aggregate
from fleet_monitor.violations.demo_setup import demo_permit_text, import_city_zones
from tests.stats.history import History, utc

FIRST = date(2026, 8, 1)
END = date(2026, 10, 1)
START = utc(2026, 7, 31, 20)
STOP = utc(2026, 9, 30, 22)
UNTIL = utc(2026, 10, 1, 8)
NOW = utc(2026, 10, 2, 7)
CFG = AggregateConfig(zone_kinds=("district",), noise_m=15.0)
ALPHA_CAP, BETA_CAP = 13, 20
ALPHA_ZONE_CAP = 14  # in the Annecy district, where all of alpha's vehicles stand
ALPHA_BASE, ALPHA_EXTRA, BETA_N = 12, 3, 8
LAKE_POINT = (45.875, 6.16)  # (lat, lon) in the lake


@dataclass
class World:
    alpha: int
    beta: int
    alpha_feed: int
    beta_feed: int
    positions: list[tuple[str, float, float]]  # (slug, lat, lon) of the long stays


def _points(n: int, seed: int) -> list[tuple[float, float]]:
    """``n`` (lat, lon) on land in the city centre, reproducibly."""
    rng = np.random.default_rng(seed)
    lake = shapely.Polygon(
        [(6.139, 45.8975), (6.1375, 45.893), (6.143, 45.875), (6.2, 45.86), (6.2, 45.91)]
    )
    out: list[tuple[float, float]] = []
    while len(out) < n:
        lon, lat = rng.uniform(6.105, 6.145), rng.uniform(45.885, 45.915)
        if not lake.contains(shapely.Point(lon, lat)):
            out.append((round(float(lat), 6), round(float(lon), 6)))
    return out


def _permit(h: History, slug: str, cap: int, zone_caps: str = "") -> None:
    text = demo_permit_text(slug, cap, datetime(2026, 7, 1, tzinfo=utc(2026, 1, 1).tzinfo))
    if zone_caps:
        text += f"\n[zones]\ncaps = {{ {zone_caps} }}\n"
    text = text.replace(f'name = "{slug}"', f'name = "{slug.capitalize()} – AOT 2026"')
    h.sql(
        "INSERT INTO permit (operator, version, name, effective_from, gps_tolerance_m,"
        " source_text, parsed, content_hash, source) VALUES (%s, 1, %s, %s, 10, %s, '{}', %s,"
        " 'test')",
        (
            slug,
            f"{slug} AOT",
            utc(2026, 6, 30, 22),
            text,
            hashlib.sha256(text.encode()).hexdigest(),
        ),
    )


def notices(h: History, alpha: int) -> None:
    """Two notices of breach to alpha about its idle findings: the first answered in
    1 h and remedied (two vehicles, one disputed and the dispute upheld), the second
    answered in 5 h, past its 2-hour deadline (overdue)."""
    ids = [
        r[0]
        for r in h.sql(
            "SELECT id FROM violation WHERE operator = 'alpha' AND status = 'violation' ORDER BY id"
        )
    ]
    for i, (after_h, outcome, items) in enumerate(
        ((1, "remedied", ids[:2]), (5, "overdue", ids[2:3]))
    ):
        sent = utc(2026, 8, 6 + 7 * i, 9)
        ((notice,),) = h.sql(
            "INSERT INTO notice (operator_id, operator_slug, urgent, batch_key, status,"
            " permit_version, created_at, created_by, issued_at, sent_at, deadline_at,"
            " response, responded_at, outcome) VALUES (%(op)s, 'alpha', false, %(k)s,"
            " 'closed', 1, %(at)s, 'test', %(at)s, %(at)s, %(dl)s, 'acknowledged', %(ra)s,"
            " %(o)s) RETURNING id",
            {
                "op": alpha,
                "k": f"pack{i}",
                "at": sent,
                "dl": sent + timedelta(hours=2),
                "ra": sent + timedelta(hours=after_h),
                "o": outcome,
            },
        )
        for violation in items:
            ((item,),) = h.sql(
                "INSERT INTO notice_item (notice_id, violation_id, rule_type, clause)"
                " VALUES (%s, %s, 'idle_too_long', 'permit:alpha:v1#max_idle') RETURNING id",
                (notice, violation),
            )
            if i == 0 and violation == items[0]:
                h.sql(
                    "INSERT INTO notice_dispute (notice_id, notice_item_id, violation_id,"
                    " operator_id, reason, submitted_at, submitted_by, status, decided_at,"
                    " decided_by, decision_reason) VALUES (%s, %s, %s, %s, 'moved at 08:00',"
                    " %s, 'ops@alpha', 'upheld', %s, 'supervisor', 'trip log shows a move')",
                    (
                        notice,
                        item,
                        violation,
                        alpha,
                        sent + timedelta(hours=1),
                        sent + timedelta(days=1),
                    ),
                )


def build(engine: Engine) -> World:
    h = History(engine)
    with Session(engine) as s, s.begin():
        import_city_zones(s, utc(2026, 7, 1))
    alpha, af = h.operator("alpha", types={"bike": "bicycle"})
    beta, bf = h.operator("beta", types={"scooter": "scooter_standing"})
    h.sql("UPDATE operator SET name = 'Alpha Vélos' WHERE id = %s", (alpha,))
    h.sql("UPDATE operator SET name = 'Beta Trott' WHERE id = %s", (beta,))
    _permit(h, "alpha", ALPHA_CAP, f'"district:annecy" = {ALPHA_ZONE_CAP}')
    _permit(h, "beta", BETA_CAP)
    h.fetches(af, START, STOP, every_s=300)
    outage = (utc(2026, 9, 15, 6), utc(2026, 9, 15, 18))
    h.fetches(bf, START, outage[0], every_s=300)
    h.fetches(bf, *outage, every_s=300, outcome="error")
    h.fetches(bf, outage[1], STOP, every_s=300)
    h.outage(bf, *outage)
    positions: list[tuple[str, float, float]] = []
    for lat, lon in _points(ALPHA_BASE, 1):
        h.dwell(alpha, af, (lat, lon), utc(2026, 7, 31))
        positions.append(("alpha", lat, lon))
    for i, (lat, lon) in enumerate(_points(ALPHA_EXTRA, 2)):
        for d in (10, 11, 12):
            h.dwell(
                alpha, af, (lat, lon), utc(2026, 8, d, 8), utc(2026, 8, d, 20), gbfs_id=f"x{i}-{d}"
            )
    aug, sep = _points(BETA_N, 3), _points(BETA_N, 4)
    for (lat, lon), (lat2, lon2) in zip(aug, sep, strict=True):
        _, vid = h.dwell(
            beta,
            bf,
            (lat, lon),
            utc(2026, 7, 31),
            utc(2026, 8, 31, 22),
            reason="moved",
            vtype="scooter",
        )
        h.dwell(beta, bf, (lat2, lon2), utc(2026, 8, 31, 22), vehicle_id=vid, vtype="scooter")
        positions.append(("beta", lat, lon))
    for d in (5, 12, 19):
        lat, lon = _points(ALPHA_BASE, 1)[d % ALPHA_BASE]
        h.violation("alpha", "idle_too_long", utc(2026, 8, d, 9), pos=(lat, lon))
    h.violation(
        "alpha", "idle_too_long", utc(2026, 8, 26, 9), pos=_points(1, 1)[0], status="uncertain"
    )
    h.violation(
        "beta",
        "in_water",
        utc(2026, 9, 20, 9),
        pos=LAKE_POINT,
        zone_id="water:lac",
        closed_at=utc(2026, 9, 20, 11),
    )
    notices(h, alpha)
    h.sql(
        "INSERT INTO rules_run (trigger, as_of, vehicles, findings, opened, updated, unchanged,"
        " held, closed, operators_in_outage, permits, by_rule, timings_ms)"
        " SELECT 'test', t, 0, 0, 0, 0, 0, 0, 0, '[]', '{}', '{}', '{}'"
        " FROM generate_series(%s::timestamptz, %s::timestamptz, interval '1 hour') t",
        (START, STOP),
    )
    summary = aggregate(engine, CFG, until=UNTIL, first=FIRST)
    assert summary.days[0] == FIRST and summary.days[-1] == END - timedelta(days=1)
    return World(alpha, beta, af, bf, positions)
