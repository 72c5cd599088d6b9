"""The ``[mail]``, ``[notices]`` and ``[reports]`` settings, and the scheduler jobs."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine, text

from fleet_monitor import notices, reports
from fleet_monitor.reports.jobs import due_day
from fleet_monitor.settings import ConfigError, settings_from_dict
from rules.registry import urgent_rule_ids
from tests.notices.helpers import (
    T0,
    WATER,
    Feed,
    SMTPServer,
    add_contact,
    evaluate,
    settings_for,
    setup_city,
    vehicle_at,
)


def test_mail_secrets_come_from_the_environment_or_a_file(tmp_path: Path) -> None:
    (tmp_path / "smtp.txt").write_text("from-a-file\n")
    raw = {
        "mail": {
            "smtp_host": "smtp.annecy.example",
            "from_address": "avis@annecy.example",
            "smtp_username_env": "SMTP_USER",
            "smtp_password_file": "smtp.txt",
            "staff_recipients": ["mobilite@annecy.example"],
        }
    }
    settings = settings_from_dict(raw, env={"SMTP_USER": "fleet"}, base_dir=tmp_path)
    assert settings.mail.smtp_username == "fleet"
    assert settings.mail.smtp_password is not None
    assert settings.mail.smtp_password.reveal() == "from-a-file"
    assert "from-a-file" not in repr(settings)
    with pytest.raises(ConfigError, match=r"mail\.smtp_password"):
        settings_from_dict({"mail": {"smtp_password": "literal"}}, env={})
    with pytest.raises(ConfigError, match=r"mail\.from_address"):
        settings_from_dict({"mail": {"smtp_host": "smtp.example"}}, env={})
    with pytest.raises(ConfigError, match=r"mail\.staff_recipients"):
        settings_from_dict({"mail": {"staff_recipients": ["nobody"]}}, env={})


def test_notices_and_reports_settings() -> None:
    settings = settings_from_dict({"city": {"timezone": "Europe/Paris"}}, env={})
    assert settings.reports.send_time == "07:00"
    assert settings.reports.timezone == "Europe/Paris"  # the city's by default
    # the rules the registry marks urgent (in water, on tram tracks, timed restrictions)
    assert settings.notices.urgent_rules == urgent_rule_ids()
    assert {"in_water", "on_tram_tracks"} <= set(settings.notices.urgent_rules)
    custom = settings_from_dict(
        {"notices": {"mode": "review", "batch_window_s": 1800}, "reports": {"send_time": "06:30"}},
        env={},
    )
    assert custom.notices.mode == "review" and custom.notices.batch_window_s == 1800
    for bad, key in (
        ({"notices": {"mode": "later"}}, "notices.mode"),
        ({"notices": {"reference_prefix": "A-B"}}, "notices.reference_prefix"),
        ({"reports": {"send_time": "7h"}}, "reports.send_time"),
        ({"reports": {"timezone": "Mars/Olympus"}}, "reports.timezone"),
    ):
        with pytest.raises(ConfigError, match=re.escape(key)):
            settings_from_dict(bad, env={})


def test_report_due_day_follows_the_local_send_time(db_url: str) -> None:
    settings = settings_for(db_url)
    # 05:59 UTC = 06:59 in Annecy (winter): still the day before yesterday's turn
    assert due_day(datetime(2026, 11, 3, 5, 59, tzinfo=UTC), settings) == date(2026, 11, 1)
    assert due_day(datetime(2026, 11, 3, 6, 0, tzinfo=UTC), settings) == date(2026, 11, 2)
    # summer time: 07:00 in Annecy is 05:00 UTC
    assert due_day(datetime(2026, 7, 3, 5, 0, tzinfo=UTC), settings) == date(2026, 7, 2)


def test_register_jobs_and_run_them(db_url: str, engine: Engine, smtp: SMTPServer) -> None:
    settings = settings_for(db_url, smtp.port)
    setup_city(engine)
    feed = Feed(engine, "trotti", "Trotti")
    feed.poll([vehicle_at("tw", WATER)], T0)
    add_contact(engine, "trotti", "email", "ops@trotti.example")
    evaluate(engine, T0 + timedelta(seconds=30))
    now = [T0 + timedelta(minutes=1)]
    scheduler = BackgroundScheduler(timezone=UTC)
    ids = notices.register_jobs(scheduler, settings, engine, lambda: now[0])
    ids += reports.register_jobs(scheduler, settings, engine, lambda: now[0])
    assert ids == [
        "notices:plan",
        "notices:send",
        "notices:deadlines",
        "reports:daily",
        "reports:send",
    ]
    jobs = {j.id: j for j in scheduler.get_jobs()}
    assert set(jobs) == set(ids)
    jobs["notices:plan"].func()  # plans, issues and sends
    assert [m["To"] for m in smtp.messages()] == ["ops@trotti.example"]
    feed.poll([vehicle_at("tw", WATER)], T0 + timedelta(hours=2, minutes=30))
    now[0] = T0 + timedelta(hours=3)
    jobs["notices:deadlines"].func()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM notice")).scalar() == "closed"
    now[0] = T0 + timedelta(days=1)  # 09:00 the next day in Annecy
    jobs["reports:daily"].func()
    jobs["reports:send"].func()
    assert len(smtp.messages()) == 3  # the notice, the operator's report, the staff summary
