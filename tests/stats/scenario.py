"""The controlled history of the statistics tests: one local day, Tuesday 6 October
2026 in Europe/Paris (UTC+2), i.e. ``[2026-10-05 22:00Z, 2026-10-06 22:00Z)``: 288
five-minute samples, the idle sample at 03:30 local = 01:30Z.

alpha (GBFS 2.3, bikes, ids rotated after trips), fetched every minute all day:

* V1 available in West, parked since 1 October 00:00Z (open);
* V2 available in East 04:00Z-10:00Z, then moved (a departure), then disabled in
  West from 10:00Z (open);
* V3 available in East 20:00Z-21:00Z, then vanished (a departure);
* V4 available in West 25 September - 4 October 00:00Z, then disabled at the same
  place (open): parked since 25 September, not since 4 October.

  Deployed: 2 vehicles before 04:00Z (72 samples), 3 until 20:00Z (204), 4 until
  21:00Z (12), 3 after (12, counted with the 204): 72 x 2 + 204 x 3 + 12 x 4.

beta (scooters), an outage 10:00Z-12:00Z (fetch errors, 24 samples not observed):

* W1 available in West since 20 September, first seen there (open);
* W2 available in East 06:00Z-14:00Z, vanished (a departure);
* W3 available in East 08:00Z-12:00Z, last seen 09:59Z, gone when the feed came
  back: not counted (the vanishing overlaps the outage).

  Observed samples (264): 1 vehicle for 192, 2 for 48, 3 for 24.

gamma (GBFS 1.1, persistent ids, no vehicle types: bicycles), every minute:

* P1 vanished at 12:00Z, back under the same id at 12:30Z 500 m away: a departure;
* P2 vanished at 15:00Z, back at 15:20Z at the same place: not a departure;
* P3 vanished at 18:00Z, never back: not a departure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from tests.stats.history import IN_EAST, IN_WEST, M_LAT, OUTSIDE, History, utc

DAY = date(2026, 10, 6)
W0 = utc(2026, 10, 5, 22)
W1 = utc(2026, 10, 6, 22)
IDLE_AT = utc(2026, 10, 6, 1, 30)
UNTIL = utc(2026, 10, 7, 6)  # day end + 8 h: settled


@dataclass
class Ids:
    alpha: int
    beta: int
    gamma: int
    alpha_feed: int
    beta_feed: int
    gamma_feed: int


def build(h: History, *, fetch_days: int = 1) -> Ids:
    h.districts()
    alpha, af = h.operator("alpha", types={"bike": "bicycle"})
    beta, bf = h.operator("beta", types={"scooter": "scooter_standing"})
    gamma, gf = h.operator("gamma", version="1.1")
    start, end = W0 - timedelta(hours=2), W1 + timedelta(days=fetch_days - 1, hours=3)
    h.fetches(af, start, end, records=10, invalid=1)
    h.fetches(gf, start, end)
    h.fetches(bf, start, utc(2026, 10, 6, 10))
    h.fetches(bf, utc(2026, 10, 6, 10), utc(2026, 10, 6, 12), outcome="error")
    h.fetches(bf, utc(2026, 10, 6, 12), end, schema_errors=2)
    h.outage(bf, utc(2026, 10, 6, 10), utc(2026, 10, 6, 12))

    # alpha
    h.dwell(alpha, af, IN_WEST, utc(2026, 10, 1))
    _, v2 = h.dwell(alpha, af, IN_EAST, utc(2026, 10, 6, 4), utc(2026, 10, 6, 10), reason="moved")
    h.dwell(alpha, af, IN_WEST, utc(2026, 10, 6, 10), state="disabled", vehicle_id=v2)
    h.dwell(alpha, af, IN_EAST, utc(2026, 10, 6, 20), utc(2026, 10, 6, 21))
    _, v4 = h.dwell(
        alpha,
        af,
        (IN_WEST[0] + 0.001, IN_WEST[1]),
        utc(2026, 9, 25),
        utc(2026, 10, 4),
        reason="state",
    )
    h.dwell(
        alpha,
        af,
        (IN_WEST[0] + 0.001 + 3 * M_LAT, IN_WEST[1]),
        utc(2026, 10, 4),
        state="disabled",
        vehicle_id=v4,
    )

    # beta
    h.dwell(beta, bf, IN_WEST, utc(2026, 9, 20), vtype="scooter", confidence="first_seen")
    h.dwell(beta, bf, IN_EAST, utc(2026, 10, 6, 6), utc(2026, 10, 6, 14), vtype="scooter")
    h.dwell(
        beta,
        bf,
        IN_EAST,
        utc(2026, 10, 6, 8),
        utc(2026, 10, 6, 12),
        vtype="scooter",
        last_seen=utc(2026, 10, 6, 9, 59),
    )

    # gamma: persistent ids
    far = (IN_WEST[0] + 500 * M_LAT, IN_WEST[1])
    h.dwell(gamma, gf, IN_WEST, utc(2026, 10, 6, 8), utc(2026, 10, 6, 12), gbfs_id="P1", vtype=None)
    h.dwell(gamma, gf, far, utc(2026, 10, 6, 12, 30), gbfs_id="P1", vtype=None)
    h.dwell(gamma, gf, IN_EAST, utc(2026, 10, 6, 8), utc(2026, 10, 6, 15), gbfs_id="P2", vtype=None)
    h.dwell(gamma, gf, IN_EAST, utc(2026, 10, 6, 15, 20), gbfs_id="P2", vtype=None)
    h.dwell(gamma, gf, IN_EAST, utc(2026, 10, 6, 8), utc(2026, 10, 6, 18), gbfs_id="P3", vtype=None)

    # violations
    h.violation(
        "alpha",
        "in_no_parking_area",
        utc(2026, 10, 6, 9),
        pos=IN_WEST,
        zone_id="np1",
        closed_at=utc(2026, 10, 6, 12),
    )
    h.violation("alpha", "in_no_parking_area", utc(2026, 10, 6, 11), pos=IN_EAST, zone_id="np2")
    h.violation("alpha", "idle_too_long", utc(2026, 10, 6, 13), pos=IN_WEST, status="uncertain")
    h.violation("beta", "outside_operating_area", utc(2026, 10, 6, 15), pos=OUTSIDE)
    return Ids(alpha, beta, gamma, af, bf, gf)


# Hand-computed expectations (see the module docstring).
ALPHA_SAMPLES = [2] * 72 + [3] * 192 + [4] * 12 + [3] * 12
ALPHA_AVG = (72 * 2 + 204 * 3 + 12 * 4) / 288  # 2.7916...
ALPHA_MAX = 4
ALPHA_P95 = 3  # nearest rank 274 of 288: the 274th smallest
ALPHA_DISABLED_AVG = (288 + 144) / 288  # V4 all day, V2 from 10:00Z
BETA_OBSERVED = 264
BETA_AVG = (192 * 1 + 48 * 2 + 24 * 3) / 264  # 1.3636...
BETA_MAX = 3
BETA_P95 = 3  # nearest rank 251 of 264
