"""Which violations become notices and when; references; review mode; after the deadline:
remedied (moved, removed) or overdue with a penalty; outages and late deliveries."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from fleet_monitor.notices.actions import Actor, cancel_notice, set_case_status
from fleet_monitor.notices.jobs import check, plan, send_pending
from fleet_monitor.notices.planner import issue_notice
from tests.notices.helpers import (
    NO_PARKING,
    STREET,
    T0,
    WATER,
    Feed,
    SMTPServer,
    add_contact,
    evaluate,
    settings_for,
    setup_city,
    vehicle_at,
    violations,
)

NOW = T0 + timedelta(minutes=1)
CHEF = Actor("chef@annecy.example")


def notices(engine: Engine) -> list[dict]:  # type: ignore[type-arg]
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT n.id, n.reference, n.operator_slug, n.urgent, n.status, n.batch_key,"
                " n.outcome, array_agg(i.gbfs_id ORDER BY i.gbfs_id) AS vehicles"
                " FROM notice n JOIN notice_item i ON i.notice_id = n.id"
                " GROUP BY n.id ORDER BY n.id"
            )
        ).mappings()
        return [dict(r) for r in rows]


def items(engine: Engine) -> dict[str, dict]:  # type: ignore[type-arg]
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT gbfs_id, outcome, outcome_reason, distance_m FROM notice_item")
        ).mappings()
        return {r["gbfs_id"]: dict(r) for r in rows}


def test_urgent_at_once_others_per_batch_window(db_url: str, engine: Engine) -> None:
    settings = settings_for(db_url, batch_window_s=3600, grace_s=600)
    setup_city(engine, ("trotti", "velo"))
    trotti, velo = Feed(engine, "trotti", "Trotti"), Feed(engine, "velo", "Vélo")
    t = T0 + timedelta(minutes=20)  # 09:20 local; the window is 08:00-09:00 UTC
    trotti.poll(
        [
            vehicle_at("tw", WATER),
            vehicle_at("tn1", NO_PARKING),
            vehicle_at("tn2", NO_PARKING, east_m=40),
            vehicle_at("ts", STREET),
        ],
        t,
    )
    velo.poll([vehicle_at("vn", NO_PARKING, east_m=-40)], t)
    evaluate(engine, t + timedelta(seconds=30))

    result = plan(engine, settings, t + timedelta(minutes=1))
    assert [n["vehicles"] for n in notices(engine)] == [["tw"]]  # urgent only
    assert result.issued == ["ANN-2026-000001"]
    # still in the window: nothing more, however often planning runs
    for minutes in (10, 30):
        assert plan(engine, settings, t + timedelta(minutes=minutes)).created == []

    # the window closes at 09:00 UTC: one notice per operator for the non-urgent ones
    trotti.poll(
        [
            vehicle_at("tw", WATER),
            vehicle_at("tn1", NO_PARKING),
            vehicle_at("tn2", NO_PARKING, east_m=40),
            vehicle_at("ts", STREET),
        ],
        T0 + timedelta(minutes=59),
    )
    result = plan(engine, settings, T0 + timedelta(hours=1, seconds=5))
    assert sorted(result.issued) == ["ANN-2026-000002", "ANN-2026-000003"]
    found = {(n["operator_slug"], tuple(n["vehicles"])) for n in notices(engine)}
    assert found == {("trotti", ("tw",)), ("trotti", ("tn1", "tn2")), ("velo", ("vn",))}
    assert {n["batch_key"] for n in notices(engine) if not n["urgent"]} == {
        "batch:2026-11-02T09:00:00+00:00"
    }
    assert plan(engine, settings, T0 + timedelta(hours=1, minutes=1)).created == []


def test_uncertain_and_dismissed_violations_are_not_noticed(db_url: str, engine: Engine) -> None:
    settings = settings_for(db_url, grace_s=0)
    setup_city(engine)
    feed = Feed(engine, "trotti", "Trotti")
    # 5 m inside the water's edge: within the permit's 10 m GPS tolerance => uncertain
    edge = (WATER[0], WATER[1])
    feed.poll([vehicle_at("edge", edge, east_m=95), vehicle_at("tn", NO_PARKING)], T0)
    evaluate(engine, T0 + timedelta(seconds=30))
    status = {v["gbfs_id"]: v for v in violations(engine)}
    assert status["edge"]["status"] == "uncertain"
    with Session(engine) as s, s.begin():
        set_case_status(s, status["tn"]["id"], "dismissed", "faux positif", CHEF, NOW, None)
    assert plan(engine, settings, T0 + timedelta(hours=2)).created == []


def test_review_mode_keeps_drafts_until_a_supervisor_issues_them(
    db_url: str, engine: Engine
) -> None:
    settings = settings_for(db_url, mode="review")
    setup_city(engine)
    Feed(engine, "trotti", "Trotti").poll([vehicle_at("tw", WATER)], T0)
    add_contact(engine, "trotti", "email", "ops@trotti.example")
    evaluate(engine, T0 + timedelta(seconds=30))
    result = plan(engine, settings, NOW)
    assert result.issued == [] and len(result.created) == 1
    [n] = notices(engine)
    assert n["status"] == "draft" and n["reference"] is None
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM delivery")).scalar() == 0
    with Session(engine) as s, s.begin():
        reference = issue_notice(s, n["id"], NOW + timedelta(minutes=5), settings, by="chef")
    assert reference == "ANN-2026-000001"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM delivery")).scalar() == "pending"
        deadline = conn.execute(text("SELECT deadline_at FROM notice")).scalar()
    assert deadline == NOW + timedelta(minutes=5, hours=2)


def test_night_deadline(db_url: str, engine: Engine) -> None:
    settings = settings_for(db_url)
    setup_city(engine)
    night = T0 + timedelta(hours=13)  # 22:00 in Annecy
    Feed(engine, "trotti", "Trotti").poll([vehicle_at("tw", WATER)], night)
    evaluate(engine, night + timedelta(seconds=30))
    plan(engine, settings, night + timedelta(minutes=1))
    with engine.connect() as conn:
        deadline = conn.execute(text("SELECT deadline_at FROM notice")).scalar()
    assert deadline == night + timedelta(minutes=1, hours=6)


def test_deadline_remedied_moved_removed_or_overdue(
    db_url: str, engine: Engine, smtp: SMTPServer
) -> None:
    settings = settings_for(db_url, smtp.port)
    setup_city(engine)
    feed = Feed(engine, "trotti", "Trotti")
    add_contact(engine, "trotti", "email", "ops@trotti.example")
    fleet = [
        vehicle_at("moved", WATER),
        vehicle_at("gone", WATER, east_m=30),
        vehicle_at("jitter", WATER, east_m=-30),
        vehicle_at("stays", WATER, east_m=60),
    ]
    feed.poll(fleet, T0)
    evaluate(engine, T0 + timedelta(seconds=30))
    plan(engine, settings, NOW)
    send_pending(engine, settings, lambda: NOW)
    deadline = NOW + timedelta(hours=2)

    assert check(engine, settings, deadline - timedelta(minutes=1)).waiting == 0  # not due
    # before the deadline the operator moves one (200 m), collects another; a third
    # is reported 8 m away (GPS noise, below ingest.gps_noise_m = 15 m)
    feed.poll(
        [
            vehicle_at("moved", STREET),
            vehicle_at("jitter", WATER, east_m=-22),
            vehicle_at("stays", WATER, east_m=60),
        ],
        deadline - timedelta(minutes=30),
    )
    # no feed data after the deadline yet: wait
    assert check(engine, settings, deadline + timedelta(minutes=1)).waiting == 4
    feed.poll(
        [
            vehicle_at("moved", STREET),
            vehicle_at("jitter", WATER, east_m=-22),
            vehicle_at("stays", WATER, east_m=60),
        ],
        deadline + timedelta(minutes=2),
    )
    result = check(engine, settings, deadline + timedelta(minutes=3))
    assert (result.remedied, result.overdue, result.waiting) == (2, 2, 0)
    decided = items(engine)
    assert decided["moved"]["outcome_reason"] == "moved" and decided["moved"]["distance_m"] > 15
    assert (
        decided["gone"]["outcome"] == "remedied" and decided["gone"]["outcome_reason"] == "removed"
    )
    assert decided["jitter"]["outcome"] == "overdue"  # same place within GPS noise
    assert decided["stays"]["outcome"] == "overdue" and decided["stays"]["distance_m"] < 1
    [n] = notices(engine)
    assert n["status"] == "closed" and n["outcome"] == "partial"
    with engine.connect() as conn:
        amounts = conn.execute(text("SELECT amount_eur FROM penalty ORDER BY id")).scalars().all()
    assert [float(a) for a in amounts] == [120.0, 120.0]
    assert check(engine, settings, deadline + timedelta(hours=1)).overdue == 0  # decided once

    # a supervisor withdraws the notice: its penalties are void
    with Session(engine) as s, s.begin():
        cancel_notice(s, n["id"], "contesté avec succès", CHEF, deadline + timedelta(days=1))
    with engine.connect() as conn:
        assert set(conn.execute(text("SELECT status FROM penalty")).scalars()) == {"void"}


def test_outage_at_the_deadline_is_not_held_against_the_operator(
    db_url: str, engine: Engine, smtp: SMTPServer
) -> None:
    settings = settings_for(db_url, smtp.port)
    setup_city(engine)
    feed = Feed(engine, "trotti", "Trotti")
    add_contact(engine, "trotti", "email", "ops@trotti.example")
    feed.poll([vehicle_at("tw", WATER)], T0)
    evaluate(engine, T0 + timedelta(seconds=30))
    plan(engine, settings, NOW)
    send_pending(engine, settings, lambda: NOW)
    deadline = NOW + timedelta(hours=2)
    feed.fail(deadline - timedelta(minutes=10))
    assert check(engine, settings, deadline + timedelta(minutes=5)).waiting == 1
    # the feed comes back: the vehicle is gone by then
    feed.recover(deadline + timedelta(minutes=20))
    feed.poll([vehicle_at("other", STREET)], deadline + timedelta(minutes=20))
    # absent from a healthy file: its stay ended there (rented or removed; issue 11,
    # docs/ingest.md "Stays"), whatever id the next poll may show at its place
    result = check(engine, settings, deadline + timedelta(minutes=21))
    assert result.remedied == 1 and items(engine)["tw"]["outcome_reason"] == "removed"


def test_undelivered_and_late_notices(db_url: str, engine: Engine, smtp: SMTPServer) -> None:
    settings = settings_for(db_url, smtp.port)
    setup_city(engine, ("trotti", "velo"))
    trotti, velo = Feed(engine, "trotti", "Trotti"), Feed(engine, "velo", "Vélo")
    add_contact(engine, "velo", "email", "ops@velo.example")  # trotti has no contact
    trotti.poll([vehicle_at("tw", WATER)], T0)
    velo.poll([vehicle_at("vw", WATER, east_m=30)], T0)
    evaluate(engine, T0 + timedelta(seconds=30))
    plan(engine, settings, NOW)
    smtp.fail("RCPT", "421 4.7.0 Try again later")
    send_pending(engine, settings, lambda: NOW)
    late = NOW + timedelta(minutes=50)  # delivered 50 minutes after issue
    assert send_pending(engine, settings, lambda: late).sent == 1
    deadline = NOW + timedelta(hours=2)
    for feed, vid in ((trotti, "tw"), (velo, "vw")):
        feed.poll(
            [vehicle_at(vid, WATER, east_m=30 if vid == "vw" else 0)],
            deadline + timedelta(minutes=10),
        )
    result = check(engine, settings, deadline + timedelta(minutes=20))
    # trotti was never told: no penalty; velo gets its full two hours from delivery
    assert result.undetermined == 1 and result.waiting == 1
    assert items(engine)["tw"]["outcome_reason"] == "not_delivered"
    velo.poll([vehicle_at("vw", WATER, east_m=30)], late + timedelta(hours=2, minutes=5))
    assert check(engine, settings, late + timedelta(hours=2, minutes=6)).overdue == 1
