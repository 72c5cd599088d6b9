"""The daily aggregates of a controlled history equal hand-computed values; the job is
incremental and idempotent."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Engine

from fleet_monitor.stats.aggregate import aggregate, last_complete_day
from tests.stats import scenario
from tests.stats.conftest import CFG
from tests.stats.history import History, utc
from tests.stats.scenario import DAY, Ids


def rows(engine: Engine, query: str, params: object = None) -> list[tuple]:
    with engine.connect() as conn:
        return list(conn.exec_driver_sql(query, params).all())  # type: ignore[arg-type]


def fleet(engine: Engine, op: int, ff: str = "*", zone: str = "*") -> list[int]:
    (row,) = rows(
        engine,
        "SELECT available, reserved, disabled FROM stats_fleet_day"
        " WHERE day = %s AND operator_id = %s AND form_factor = %s AND zone_id = %s",
        (DAY, op, ff, zone),
    )
    return [a + r + d for a, r, d in zip(*row, strict=True)]


def test_deployed_samples_per_operator_zone_and_form_factor(
    engine: Engine, aggregated: Ids
) -> None:
    assert fleet(engine, aggregated.alpha) == scenario.ALPHA_SAMPLES
    assert fleet(engine, aggregated.alpha, "bicycle") == scenario.ALPHA_SAMPLES
    # West: V1 and V4 all day, V2 (disabled) from 10:00Z = sample 144
    assert fleet(engine, aggregated.alpha, zone="west") == [2] * 144 + [3] * 144
    # East: V2 04:00Z-10:00Z (samples 72-143), V3 20:00Z-21:00Z (264-275)
    assert fleet(engine, aggregated.alpha, zone="east") == (
        [0] * 72 + [1] * 72 + [0] * 120 + [1] * 12 + [0] * 12
    )
    (row,) = rows(
        engine,
        "SELECT disabled FROM stats_fleet_day WHERE day = %s AND operator_id = %s"
        " AND form_factor = '*' AND zone_id = '*'",
        (DAY, aggregated.alpha),
    )
    assert sum(row[0]) / 288 == scenario.ALPHA_DISABLED_AVG
    beta = fleet(engine, aggregated.beta, "scooter_standing")
    assert beta[:96] == [1] * 96 and beta[96:120] == [2] * 24 and beta[120:144] == [3] * 24
    # gamma (GBFS 1.1 without vehicle types) counts as bicycles
    assert rows(
        engine,
        "SELECT DISTINCT form_factor FROM stats_fleet_day WHERE operator_id = %s",
        (aggregated.gamma,),
    ) == [("*",), ("bicycle",)]
    everyone = fleet(engine, 0)
    assert len(everyone) == 288 and everyone[0] == 2 + 1  # alpha 2, beta 1, gamma 0


def test_coverage_masks(engine: Engine, aggregated: Ids) -> None:
    cov = dict(
        (op, (exp, obs))
        for op, exp, obs in rows(
            engine,
            "SELECT operator_id, expected, observed FROM stats_coverage_day WHERE day = %s",
            (DAY,),
        )
    )
    exp, obs = cov[aggregated.beta]
    assert all(exp) and sum(obs) == scenario.BETA_OBSERVED
    assert obs[144:168] == [False] * 24  # 10:00Z-12:00Z
    assert sum(cov[aggregated.alpha][1]) == 288
    assert sum(cov[0][1]) == 264  # all operators: observed when every one is


def test_idle_sample(engine: Engine, aggregated: Ids) -> None:
    got = {
        (op, zone): (vehicles, buckets, lower, p50, mx)
        for op, zone, vehicles, buckets, lower, p50, mx in rows(
            engine,
            "SELECT operator_id, zone_id, vehicles, buckets, lower_bound, p50_h, max_h"
            " FROM stats_idle_day WHERE day = %s AND form_factor = '*'",
            (DAY,),
        )
    }
    # alpha at 01:30Z: V1 parked 5 d 1.5 h, V4 11 d 1.5 h (its disabled stay continues
    # the available one in place)
    assert got[(scenario_ids := aggregated).alpha, "*"] == (2, [0, 0, 1, 1, 0], 0, 121.5, 265.5)
    # beta: W1 since 20 September (first seen: a lower bound), 16 d 1.5 h
    assert got[scenario_ids.beta, "*"] == (1, [0, 0, 0, 0, 1], 1, 385.5, 385.5)
    assert got[0, "west"][0] == 3
    assert (scenario_ids.gamma, "*") not in got  # nothing deployed at 01:30Z


def test_departures(engine: Engine, aggregated: Ids) -> None:
    got = {
        op: rest
        for op, *rest in rows(
            engine,
            "SELECT operator_id, departures, moved, vanished, excluded_outage,"
            " excluded_disabled, excluded_unconfirmed FROM stats_use_day"
            " WHERE day = %s AND form_factor = '*' AND zone_id = '*'",
            (DAY,),
        )
    }
    assert got[aggregated.alpha] == [2, 1, 1, 0, 0, 0]
    assert got[aggregated.beta] == [1, 0, 1, 1, 0, 0]
    assert got[aggregated.gamma] == [1, 0, 1, 0, 0, 2]
    assert got[0] == [4, 1, 3, 1, 0, 2]
    (policies,) = rows(
        engine,
        "SELECT array_agg(id_policy ORDER BY operator_id) FROM stats_coverage_day"
        " WHERE day = %s AND operator_id > 0",
        (DAY,),
    )
    assert policies[0] == ["rotating", "rotating", "persistent"]


def test_feeds_and_violations(engine: Engine, aggregated: Ids) -> None:
    feeds = {
        op: rest
        for op, *rest in rows(
            engine,
            "SELECT operator_id, fetches, successes, outage_s, outages, records,"
            " invalid_records, schema_errors FROM stats_feed_day WHERE day = %s"
            " AND feed_type = 'vehicle_status'",
            (DAY,),
        )
    }
    assert feeds[aggregated.alpha] == [1440, 1440, 0.0, 0, 14400, 1440, 0]
    assert feeds[aggregated.beta] == [1440, 1320, 7200.0, 1, 13200, 0, 2 * 600]
    got = rows(
        engine,
        "SELECT operator_id, rule_type, zone_id, area_id, status, opened, closed, closed_hours"
        " FROM stats_violation_day WHERE day = %s ORDER BY 1, 2, 3, 4, 5",
        (DAY,),
    )
    a, b = aggregated.alpha, aggregated.beta
    assert got == [
        (a, "idle_too_long", "", "*", "uncertain", 1, 0, 0.0),
        (a, "idle_too_long", "", "west", "uncertain", 1, 0, 0.0),
        (a, "in_no_parking_area", "np1", "*", "violation", 1, 1, 3.0),
        (a, "in_no_parking_area", "np1", "west", "violation", 1, 1, 3.0),
        (a, "in_no_parking_area", "np2", "*", "violation", 1, 0, 0.0),
        (a, "in_no_parking_area", "np2", "east", "violation", 1, 0, 0.0),
        (b, "outside_operating_area", "", "*", "violation", 1, 0, 0.0),
    ]


def test_incremental_and_idempotent(engine: Engine, history: History, ids: Ids) -> None:
    assert last_complete_day(scenario.UNTIL, CFG) == DAY
    assert last_complete_day(utc(2026, 10, 6, 23), CFG) == DAY - timedelta(days=1)
    first = aggregate(engine, CFG, until=scenario.UNTIL, first=DAY - timedelta(days=1))
    assert first.days == [DAY - timedelta(days=1), DAY]
    snapshot = rows(engine, "SELECT * FROM stats_fleet_day ORDER BY 1, 2, 3, 4")
    again = aggregate(engine, CFG, until=scenario.UNTIL, first=DAY - timedelta(days=1))
    assert again.days == []  # nothing new
    later = aggregate(engine, CFG, until=scenario.UNTIL + timedelta(days=1))
    assert later.days == [DAY + timedelta(days=1)]  # only the new day
    redo = aggregate(engine, CFG, until=scenario.UNTIL, first=DAY, recompute=True)
    assert redo.days == [DAY]
    assert (
        rows(engine, "SELECT * FROM stats_fleet_day WHERE day <= %s ORDER BY 1, 2, 3, 4", (DAY,))
        == snapshot
    )
    # the 6th began from the stays carried from the 5th; without them it is found by a
    # scan of the stays: same rows
    carried_sql = "SELECT details->'carried_in' FROM stats_aggregate_day WHERE day = %s"
    assert rows(engine, carried_sql, (DAY,))[0][0] == 3  # V1, V4 and W1, parked overnight
    history.sql("DELETE FROM stats_carry")
    aggregate(engine, CFG, until=scenario.UNTIL, first=DAY, recompute=True)
    assert rows(engine, carried_sql, (DAY,))[0][0] is None
    assert (
        rows(engine, "SELECT * FROM stats_fleet_day WHERE day <= %s ORDER BY 1, 2, 3, 4", (DAY,))
        == snapshot
    )
    assert [d for (d,) in rows(engine, "SELECT day FROM stats_aggregate_day ORDER BY 1")] == [
        date(2026, 10, 5),
        date(2026, 10, 6),
        date(2026, 10, 7),
    ]
