"""Urgent means urgent: an urgent violation is noticed by the evaluation that detects
it, with its rule's deadline (the permit's ``[notices.deadlines]``, else the
registry's), and the evaluation follows a poll within a minute."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from fleet_monitor.notices.jobs import after_evaluation
from fleet_monitor.scheduler import IngestScheduler
from fleet_monitor.settings import ConfigError, RulesSettings, settings_from_dict
from fleet_monitor.violations import import_permit
from fleet_monitor.violations.jobs import RulesJobs
from rules.registry import spec
from tests.notices.helpers import (
    NO_PARKING,
    T0,
    WATER,
    Feed,
    SMTPServer,
    add_contact,
    permit_text,
    settings_for,
    setup_city,
    vehicle_at,
)


def _notices(engine: Engine) -> list[dict]:  # type: ignore[type-arg]
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT n.urgent, n.status, n.created_at, n.issued_at, n.deadline_at,"
                " array_agg(i.rule_type ORDER BY i.id) AS rules"
                " FROM notice n JOIN notice_item i ON i.notice_id = n.id"
                " GROUP BY n.id ORDER BY n.id"
            )
        ).mappings()
        return [dict(r) for r in rows]


def _jobs(engine: Engine, db_url: str, clock: list, smtp_port: int | None = None) -> RulesJobs:  # type: ignore[type-arg]
    settings = settings_for(db_url, smtp_port, batch_window_s=3600, grace_s=600)
    return RulesJobs(
        engine,
        RulesSettings(),
        lambda: clock[0],
        after_evaluation=after_evaluation(engine, settings, lambda: clock[0]),
    )


def permit_v2(engine: Engine, rule_deadlines: str) -> None:
    """Version 2 of trotti's permit, with these ``[notices.deadlines]`` (none: the registry's)."""
    with Session(engine) as s, s.begin():
        text_ = permit_text("trotti", version=2, rule_deadlines=rule_deadlines)
        import_permit(s, text_, default_tolerance_m=10, source="test")


def test_urgent_violation_is_noticed_by_the_evaluation_that_detects_it(
    db_url: str, engine: Engine, smtp: SMTPServer
) -> None:
    setup_city(engine)
    permit_v2(engine, "")  # no deadline of its own for vehicles in water: the registry's
    feed = Feed(engine, "trotti", "Trotti")
    add_contact(engine, "trotti", "email", "ops@trotti.example")
    t = T0 + timedelta(minutes=20)
    feed.poll([vehicle_at("tw", WATER), vehicle_at("tn", NO_PARKING)], t)
    clock = [t + timedelta(seconds=30)]
    jobs = _jobs(engine, db_url, clock, smtp.port)
    assert jobs.evaluate() is not None

    notices = _notices(engine)
    assert len(notices) == 1  # the no-parking one waits for its batch window
    n = notices[0]
    assert n["urgent"] and n["status"] == "issued" and n["rules"] == ["in_water"]
    assert n["created_at"] == n["issued_at"] == clock[0]  # at detection, not a minute later
    # the registry's deadline for a vehicle in water (1 h), not the 2 h day deadline
    assert spec("in_water").deadline == timedelta(hours=1)
    assert n["deadline_at"] == clock[0] + timedelta(hours=1)
    assert len(smtp.messages()) == 1  # and sent at once

    # the next evaluations add nothing (never noticed twice)
    clock[0] += timedelta(minutes=1)
    jobs.evaluate()
    assert len(_notices(engine)) == 1


def test_the_permit_sets_the_deadline_of_each_rule(db_url: str, engine: Engine) -> None:
    setup_city(engine)
    permit_v2(engine, 'in_water = "20m"')
    feed = Feed(engine, "trotti", "Trotti")
    t = T0 + timedelta(minutes=20)
    feed.poll([vehicle_at("tw", WATER)], t)
    clock = [t + timedelta(seconds=30)]
    _jobs(engine, db_url, clock).evaluate()
    (n,) = _notices(engine)
    assert n["deadline_at"] == clock[0] + timedelta(minutes=20)


def test_non_urgent_rules_are_not_noticed_by_the_evaluation(db_url: str, engine: Engine) -> None:
    setup_city(engine)
    feed = Feed(engine, "trotti", "Trotti")
    t = T0 + timedelta(minutes=20)
    feed.poll([vehicle_at("tn", NO_PARKING)], t)
    clock = [t + timedelta(seconds=30)]
    _jobs(engine, db_url, clock).evaluate()
    assert _notices(engine) == []


def test_the_scheduler_plans_urgent_notices_after_each_evaluation(db_url: str) -> None:
    settings = settings_from_dict({"database": {"url": db_url}}, env={})
    sched = IngestScheduler(settings)
    try:
        assert sched.rules_jobs is not None and sched.rules_jobs.after_evaluation is not None
    finally:
        sched.engine.dispose()


@pytest.mark.parametrize(
    ("rules", "key"),
    [
        ({"debounce_s": 41}, "rules.debounce_s"),
        ({"debounce_s": 0, "evaluate_every_s": 300}, "rules.evaluate_every_s"),
    ],
)
def test_an_evaluation_must_follow_a_poll_within_a_minute(rules: dict, key: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        settings_from_dict({"rules": rules})
    ok = settings_from_dict({"rules": {"debounce_s": 40}}).rules
    jobs = RulesJobs(None, ok, lambda: T0)  # type: ignore[arg-type]
    assert ok.debounce_s + jobs.tick_s <= 60  # poke -> at most debounce + one tick
