"""Scheduled and event restrictions, end to end on PostGIS: a market zone imported
from GeoJSON with its schedule, vehicles to clear during the lead time, in breach
once the market opens (an urgent notice with the rule's deadline), nothing after,
and the zone on the map and in the MDS export as time-bounded rules."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from shapely.geometry import mapping
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from fleet_monitor.notices.jobs import after_evaluation, check
from fleet_monitor.notices.printed import notice_pdf
from fleet_monitor.settings import RulesSettings
from fleet_monitor.violations import import_zones
from fleet_monitor.violations.catalog import load_permits, load_zones
from fleet_monitor.violations.jobs import RulesJobs
from rules import permits_to_mds_policy, read_geojson_zones
from rules.registry import spec
from tests.mds_schema import mds_errors
from tests.notices.helpers import (
    STREET,
    Feed,
    SMTPServer,
    add_contact,
    settings_for,
    setup_city,
    square,
    vehicle_at,
)

SHOT = Path(__file__).resolve().parents[2] / "var" / "notice-scheduled.pdf"
TUESDAY = datetime(2026, 11, 3, tzinfo=UTC)  # CET: the market is 05:00-13:00 UTC
MARKET = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {
                "id": "vieille-ville",
                "name": "Marché de la vieille ville",
                "schedule": {
                    "timezone": "Europe/Paris",
                    "lead": "1h",
                    "recurring": [
                        {"days": ["tue", "fri", "sun"], "start": "06:00", "end": "14:00"}
                    ],
                },
            },
            "geometry": mapping(square(STREET, 100)),
        },
        {
            "type": "Feature",
            "properties": {
                "id": "fete-du-lac",
                "name": "Fête du lac",
                "schedule": {
                    "lead": "3h",
                    "events": [{"date": "2027-08-07", "start": "12:00", "end": "02:00"}],
                },
            },
            "geometry": mapping(square((45.9100, 6.1500), 100)),
        },
    ],
}


def import_market(engine: Engine, around: tuple[float, float] | None = None) -> None:
    """The market (around ``around``, else STREET) and the lake festival."""
    doc = copy.deepcopy(MARKET)
    if around is not None:
        doc["features"][0]["geometry"] = mapping(square(around, 150))  # type: ignore[index]
    zones = read_geojson_zones(orjson.dumps(doc), "scheduled_restriction").zones
    with Session(engine) as s, s.begin():
        import_zones(
            s,
            zones,
            kind="scheduled_restriction",
            operator=None,
            now=TUESDAY - timedelta(days=10),
            source="market.geojson",
            properties=[f["properties"] for f in MARKET["features"]],  # type: ignore[index]
        )


def open_violations(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT rule_type, status, state FROM violation"
                    " WHERE rule_type = 'scheduled_restriction' ORDER BY id"
                )
            )
        ]


def test_market_mornings_lead_time_breach_and_urgent_notice(db_url: str, engine: Engine) -> None:
    setup_city(engine)
    import_market(engine)
    feed = Feed(engine, "trotti", "Trotti")
    clock = [TUESDAY + timedelta(hours=3)]
    settings = settings_for(db_url, batch_window_s=3600, grace_s=600)
    jobs = RulesJobs(
        engine,
        RulesSettings(),
        lambda: clock[0],
        after_evaluation=after_evaluation(engine, settings, lambda: clock[0]),
    )

    def poll_and_evaluate(at: datetime, present: bool = True) -> None:
        clock[0] = at
        feed.poll([vehicle_at("m1", STREET)] if present else [], at)
        jobs.evaluate()

    poll_and_evaluate(TUESDAY + timedelta(hours=3, minutes=30))  # 04:30 local: nothing yet
    assert open_violations(engine) == []
    poll_and_evaluate(TUESDAY + timedelta(hours=4, minutes=15))  # 05:15: to clear by 06:00
    assert open_violations(engine) == [("scheduled_restriction", "uncertain", "open")]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM notice")).scalar() == 0  # never billed
    opened = TUESDAY + timedelta(hours=5, minutes=1)
    poll_and_evaluate(opened)  # 06:01: the market is open, the vehicle is still there
    # the same case, now a breach (one violation for the window)
    assert open_violations(engine) == [("scheduled_restriction", "violation", "open")]
    with engine.connect() as conn:
        urgent, created, deadline, rules = conn.execute(
            text(
                "SELECT n.urgent, n.created_at, n.deadline_at, array_agg(i.rule_type)"
                " FROM notice n JOIN notice_item i ON i.notice_id = n.id GROUP BY n.id"
            )
        ).one()
    assert urgent and rules == ["scheduled_restriction"] and created == opened
    with Session(engine) as s, s.begin():
        notice_id, payload = s.execute(text("SELECT id, payload FROM notice")).one()
        printed = notice_pdf(s, notice_id, None, why="test")
    assert printed is not None
    pdf = printed[0]
    # the document states the time allowed for the rule, not only the day/night deadlines
    assert payload["permit"]["deadline_terms"]["by_rule_s"] == {"scheduled_restriction": 3600}
    assert payload["permit"]["deadline_terms"]["text"].startswith("1 h : Dans une zone")
    assert bytes(pdf).startswith(b"%PDF")
    SHOT.parent.mkdir(exist_ok=True)
    SHOT.write_bytes(bytes(pdf))  # looked at with pdftoppm (see the guide)
    assert deadline == opened + spec("scheduled_restriction").deadline  # type: ignore[operator]
    poll_and_evaluate(TUESDAY + timedelta(hours=13, minutes=5))  # 14:05: the market is over
    assert open_violations(engine) == [("scheduled_restriction", "violation", "closed")]


def test_the_schedule_is_stored_with_the_zone_and_read_back(engine: Engine) -> None:
    import_market(engine)
    with Session(engine) as s:
        zones = {z.id: z for z in load_zones(s)}
    market = zones["scheduled_restriction:vieille-ville"]
    festival = zones["scheduled_restriction:fete-du-lac"]
    assert market.schedule is not None and festival.schedule is not None
    assert market.schedule.windows(TUESDAY, TUESDAY + timedelta(days=1)) == [
        (TUESDAY + timedelta(hours=5), TUESDAY + timedelta(hours=13))
    ]
    # the lake festival, 7 August 2027 12:00 CEST to 02:00 the next day, stored in UTC
    assert festival.schedule.events == (
        (datetime(2027, 8, 7, 10, tzinfo=UTC), datetime(2027, 8, 8, 0, tzinfo=UTC)),
    )
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT properties->'schedule'->'events' FROM zone WHERE zone_id = :z"),
            {"z": "scheduled_restriction:fete-du-lac"},
        ).scalar()
    assert stored == [{"start": "2027-08-07T10:00:00+00:00", "end": "2027-08-08T00:00:00+00:00"}]


def test_time_bounded_rules_in_the_mds_export(engine: Engine) -> None:
    setup_city(engine)
    import_market(engine)
    published = datetime(2027, 8, 1, tzinfo=UTC)
    with Session(engine) as s:
        doc = permits_to_mds_policy(load_permits(s), load_zones(s), published_at=published)
    assert mds_errors(doc, "policy", "/policies.json") == []
    policies = doc["policies"]
    timed = [r for p in policies for r in p["rules"] if r.get("days")]
    assert [(r["days"], r["start_time"], r["end_time"], r["maximum"]) for r in timed] == [
        (["tue", "fri", "sun"], "06:00:00", "14:00:00", 0)
    ]
    # the weekly windows come first in the parking policy (the most specific rules)
    parking = next(p for p in policies if p["name"].endswith(" - parking"))
    assert parking["rules"][0]["days"] == ["tue", "fri", "sun"]
    events = [p for p in policies if p["name"].endswith("event restriction")]
    assert len(events) == 1
    assert events[0]["rules"][0]["name"].startswith("Event restriction")
    start = datetime(2027, 8, 7, 10, tzinfo=UTC)
    assert events[0]["start_date"] == int(start.timestamp() * 1000)
    assert events[0]["end_date"] == int((start + timedelta(hours=14)).timestamp() * 1000)
    assert events[0]["published_date"] == int(published.timestamp() * 1000)


def test_no_penalty_when_the_restriction_ended_before_the_deadline(
    db_url: str, engine: Engine, smtp: SMTPServer
) -> None:
    setup_city(engine)
    import_market(engine)
    feed = Feed(engine, "trotti", "Trotti")
    add_contact(engine, "trotti", "email", "ops@trotti.example")
    settings = settings_for(db_url, smtp.port, batch_window_s=3600, grace_s=600)
    clock = [TUESDAY + timedelta(hours=12, minutes=30)]  # 13:30 local, the market ends at 14:00
    jobs = RulesJobs(
        engine,
        RulesSettings(),
        lambda: clock[0],
        after_evaluation=after_evaluation(engine, settings, lambda: clock[0]),
    )
    feed.poll([vehicle_at("m1", STREET)], clock[0])
    jobs.evaluate()  # violation, urgent notice, 1 h deadline: 14:30 local
    assert len(smtp.messages()) == 1
    late = TUESDAY + timedelta(hours=13, minutes=35)
    feed.poll([vehicle_at("m1", STREET)], late)  # still there after the deadline
    result = check(engine, settings, late + timedelta(minutes=1))
    assert (result.overdue, result.undetermined, result.penalties_eur) == (0, 1, 0.0)
    with engine.connect() as conn:
        reason = conn.execute(text("SELECT outcome_reason FROM notice_item")).scalar()
    assert reason == "restriction_ended"
