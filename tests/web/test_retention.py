"""Retention of personal data (``[retention]``): on-site photos of closed cases erased
past the limit with a tombstone kept, never while the case, a notice or a dispute
about it is open; the settings checked on load; the CLI; the scheduler's job."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from click.testing import CliRunner
from sqlalchemy import Engine, text

from fleet_monitor.cli import cli, main
from fleet_monitor.retention import JOB_ID, apply_personal_data_retention, retention_job
from fleet_monitor.scheduler import EXTENSION_JOBS
from fleet_monitor.settings import (
    ConfigError,
    RetentionSettings,
    Settings,
    settings_from_dict,
)
from tests.notices.helpers import World

NOW = datetime(2027, 6, 1, 8, 0, tzinfo=UTC)
POLICY = RetentionSettings(case_photo_days=365, resident_report_days=90)


def sql(engine: Engine, statement: str, **params: object) -> list:  # type: ignore[type-arg]
    with engine.begin() as conn:
        result = conn.execute(text(statement), params)
        return list(result.all()) if result.returns_rows else []


def add_photo(engine: Engine, violation_id: int, label: str, uploaded_at: datetime) -> str:
    data = f"jpeg of {label}".encode()
    digest = hashlib.sha256(data).hexdigest()
    sql(
        engine,
        "INSERT INTO case_photo (violation_id, sha256, content_type, size, width, height,"
        " data, uploaded_at, uploaded_by) VALUES (:v, :h, 'image/jpeg', :n, 4, 3, :d, :at,"
        " 'agent@annecy.example')",
        v=violation_id,
        h=digest,
        n=len(data),
        d=data,
        at=uploaded_at,
    )
    return digest


def close_case(engine: Engine, violation_id: int, at: datetime) -> None:
    sql(
        engine,
        "UPDATE violation SET state = 'closed', closed_at = :at, closed_reason = 'resolved'"
        " WHERE id = :v",
        v=violation_id,
        at=at,
    )


def photos(engine: Engine) -> dict[int, tuple[bool, str | None, str]]:
    """violation -> (image still there, erased_reason, sha256)."""
    return {
        r[0]: (r[1], r[2], r[3])
        for r in sql(
            engine,
            "SELECT violation_id, data IS NOT NULL, erased_reason, sha256 FROM case_photo",
        )
    }


@pytest.fixture
def cases(engine: Engine, world: World) -> dict[str, int]:
    """Five cases, each with one photo taken 400 days before NOW:

    * ``expired``: closed 380 days ago, no notice: its photo goes;
    * ``recent``: closed 100 days ago: kept;
    * ``open``: the case is still open: kept;
    * ``notice``: closed long ago, but a notice about it is issued: kept;
    * ``dispute``: closed long ago, its notice closed, a dispute still open: kept."""
    ids = [r[0] for r in sql(engine, "SELECT id FROM violation ORDER BY id")]
    while len(ids) < 5:  # copies of the world's first case, under their own keys
        with engine.begin() as conn:
            conn.execute(
                text("CREATE TEMP TABLE copy AS SELECT * FROM violation WHERE id = :v"),
                {"v": ids[0]},
            )
            copy = conn.execute(
                text(
                    "UPDATE copy SET id = (SELECT max(id) + 1 FROM violation),"
                    " key = key || '#' || :n RETURNING id"
                ),
                {"n": len(ids)},
            ).one()
            conn.execute(text("INSERT INTO violation SELECT * FROM copy"))
            conn.execute(text("DROP TABLE copy"))
        ids.append(copy[0])
    named = dict(zip(("expired", "recent", "open", "notice", "dispute"), ids, strict=False))
    # the world's notices point at the cases we choose
    sql(engine, "DELETE FROM notice_item")
    notices = [r[0] for r in sql(engine, "SELECT id FROM notice ORDER BY id")]
    assert len(notices) >= 2
    issued = NOW - timedelta(days=390)
    for notice_id, case, status in (
        (notices[0], named["notice"], "issued"),
        (notices[1], named["dispute"], "closed"),
    ):
        sql(
            engine,
            "UPDATE notice SET status = :s, issued_at = :at, issued_by = 'chef' WHERE id = :n",
            s=status,
            at=issued,
            n=notice_id,
        )
        sql(
            engine,
            "INSERT INTO notice_item (notice_id, violation_id, rule_type, clause)"
            " SELECT :n, id, rule_type, 'art. 4' FROM violation WHERE id = :v",
            n=notice_id,
            v=case,
        )
    sql(
        engine,
        "INSERT INTO notice_dispute (notice_id, notice_item_id, violation_id, operator_id,"
        " reason, submitted_at, submitted_by, status)"
        " SELECT i.notice_id, i.id, i.violation_id, n.operator_id, 'not ours', :at,"
        " 'ops@velo.example', 'open' FROM notice_item i JOIN notice n ON n.id = i.notice_id"
        " WHERE i.violation_id = :v",
        at=issued + timedelta(days=5),
        v=named["dispute"],
    )
    taken = NOW - timedelta(days=400)
    for name, case in named.items():
        add_photo(engine, case, name, taken)
        if name != "open":
            days = 100 if name == "recent" else 380
            close_case(engine, case, NOW - timedelta(days=days))
    sql(
        engine,
        "UPDATE violation SET state = 'open', closed_at = NULL, closed_reason = NULL WHERE id = :v",
        v=named["open"],
    )
    return named


def test_photos_of_closed_cases_are_erased_past_the_limit_and_tombstoned(
    engine: Engine, cases: dict[str, int]
) -> None:
    before = photos(engine)
    with engine.begin() as conn:
        outcome = apply_personal_data_retention(conn, POLICY, NOW)
    assert outcome.case_photos_erased == 1
    assert outcome.case_photos_held == 3  # open case, issued notice, open dispute
    after = photos(engine)
    assert after[cases["expired"]][0] is False
    assert "retention.case_photo_days" in (after[cases["expired"]][1] or "")
    for name in ("recent", "open", "notice", "dispute"):
        assert after[cases[name]][:2] == (True, None), name
    # the tombstone keeps the hash and the metadata; the row says when it was erased
    assert {v: h for v, (_, _, h) in after.items()} == {v: h for v, (_, _, h) in before.items()}
    (row,) = sql(
        engine,
        "SELECT erased_at, size, uploaded_by, uploaded_at FROM case_photo WHERE violation_id = :v",
        v=cases["expired"],
    )
    assert row[0] == NOW and row[1] > 0 and row[2] == "agent@annecy.example"
    # idempotent: nothing more at the same time
    with engine.begin() as conn:
        assert apply_personal_data_retention(conn, POLICY, NOW).case_photos_erased == 0


def test_a_decided_dispute_restarts_the_clock_and_closed_matters_go_in_the_end(
    engine: Engine, cases: dict[str, int]
) -> None:
    sql(
        engine,
        "UPDATE notice_dispute SET status = 'rejected', decided_at = :at,"
        " decided_by = 'chef', decision_reason = 'seen on site' WHERE violation_id = :v",
        at=NOW - timedelta(days=10),
        v=cases["dispute"],
    )
    with engine.begin() as conn:
        apply_personal_data_retention(conn, POLICY, NOW)
    assert photos(engine)[cases["dispute"]][0] is True  # decided 10 days ago: kept
    sql(engine, "UPDATE notice SET status = 'closed' WHERE status = 'issued'")
    later = NOW + timedelta(days=400)
    with engine.begin() as conn:
        outcome = apply_personal_data_retention(conn, POLICY, later)
    after = photos(engine)
    assert {n for n, v in cases.items() if not after[v][0]} == {
        "expired",
        "recent",
        "notice",
        "dispute",
    }
    assert after[cases["open"]][0] is True  # an open case keeps its photo, however old
    # "expired" went in the first run
    assert outcome.case_photos_erased == 3 and outcome.case_photos_held == 1


def test_case_page_shows_the_tombstone_and_the_image_is_gone(
    engine: Engine, cases: dict[str, int], web: object
) -> None:
    from flask import Flask

    from tests.web.conftest import signed_in

    assert isinstance(web, Flask)
    with engine.begin() as conn:
        apply_personal_data_retention(conn, POLICY, NOW)
    officer = signed_in(web, engine, "agent@annecy.example", "officer")
    case = cases["expired"]
    digest = photos(engine)[case][2]
    page = officer.get(f"/cases/{case}").get_data(as_text=True)
    assert f'data-photo="{digest}" data-erased="1"' in page
    assert f"/cases/{case}/photos/{digest}.jpg" not in page
    assert officer.get(f"/cases/{case}/photos/{digest}.jpg").status_code == 404
    kept = cases["recent"]
    kept_digest = photos(engine)[kept][2]
    assert officer.get(f"/cases/{kept}/photos/{kept_digest}.jpg").status_code == 200


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"case_photo_days": 0}, "retention.case_photo_days"),
        ({"case_photo_days": 36500}, "retention.case_photo_days"),
        ({"resident_report_days": -1}, "retention.resident_report_days"),
        ({"resident_report_days": "90"}, "retention.resident_report_days"),
        ({"case_photo_days": True}, "retention.case_photo_days"),
        ({"every_s": 5}, "retention.every_s"),
        ({"keep_forever": True}, "retention.keep_forever"),
    ],
)
def test_bad_retention_settings_name_the_key(table: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_dict({"retention": table}, env={})
    assert info.value.key == key
    assert key in str(info.value)


def test_retention_settings_defaults_and_values() -> None:
    assert settings_from_dict({}, env={}).retention == RetentionSettings(365, 90, 86400)
    loaded = settings_from_dict(
        {"retention": {"case_photo_days": 730, "resident_report_days": 30}}, env={}
    )
    assert (loaded.retention.case_photo_days, loaded.retention.resident_report_days) == (730, 30)


def test_cli_counts_dry_runs_and_erases(
    engine: Engine,
    db_url: str,
    cases: dict[str, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    config = tmp_path / "config.toml"
    config.write_text("[retention]\ncase_photo_days = 365\nresident_report_days = 90\n")
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, ["--config", str(config), "retention", *args])
        return result.exit_code, result.output

    at = NOW.isoformat()
    code, out = run("--now", at, "--dry-run")
    assert code == 0, out
    assert "case photos: 1 would be erased" in out and "3 older ones kept" in out
    assert photos(engine)[cases["expired"]][0] is True  # a dry run erases nothing
    code, out = run("--now", at, "--json")
    assert code == 0, out
    outcome = json.loads(out)
    assert outcome["case_photos_erased"] == 1 and outcome["dry_run"] is False
    assert outcome["case_photo_limit"] == (NOW - timedelta(days=365)).isoformat()
    assert photos(engine)[cases["expired"]][0] is False
    code, out = run("--now", at)
    assert code == 0 and "case photos: 0 erased" in out
    # one audit record, for the run that erased something (not the dry run, not the empty one)
    audits = sql(
        engine,
        "SELECT actor_role, details->>'case_photos_erased', details->>'case_photo_days'"
        " FROM audit_log WHERE event = 'retention.erased'",
    )
    assert audits == [("cli", "1", "365")]
    code, out = run("--now", "yesterday")
    assert code == 2 and "not an ISO time" in out
    # a bad setting: one message naming the key, exit 2, nothing erased
    config.write_text("[retention]\ncase_photo_days = 0\n")
    with pytest.raises(SystemExit) as stopped:
        main(["--config", str(config), "retention", "--now", at])
    assert stopped.value.code == 2
    assert "retention.case_photo_days" in capsys.readouterr().err


def test_scheduler_registers_the_daily_job_and_it_logs_counts(
    engine: Engine, cases: dict[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    import importlib

    assert "fleet_monitor.retention" in EXTENSION_JOBS
    scheduler = BackgroundScheduler()
    module = importlib.import_module("fleet_monitor.retention")
    assert module.register_jobs(scheduler, Settings(), engine, clock=lambda: NOW) == [JOB_ID]
    job = scheduler.get_job(JOB_ID)
    assert job.trigger.interval == timedelta(days=1)
    with caplog.at_level(logging.INFO, logger="fleet_monitor.retention"):
        job.func(*job.args)
    assert "1 case photos erased" in caplog.text and "3 kept" in caplog.text
    assert photos(engine)[cases["expired"]][0] is False
    assert sql(engine, "SELECT actor_role FROM audit_log WHERE event = 'retention.erased'") == [
        ("scheduler",)
    ]
    # a failure is logged and does not escape into the scheduler
    caplog.clear()
    broken = RetentionSettings(case_photo_days=-5)  # bypasses the loader's checks
    sql(engine, "ALTER TABLE case_photo RENAME COLUMN erased_reason TO gone")
    retention_job(engine, broken, lambda: NOW)
    assert "retention of personal data failed" in caplog.text


def test_erased_photo_in_the_browser(db_url: str, engine: Engine, cases: dict[str, int]) -> None:
    """The case file in French, at tablet size: the tombstone in place of the image."""
    from playwright.sync_api import sync_playwright

    from tests.web.conftest import PASSWORD, add_user, served
    from tests.web.test_browser import ARGS, CHROMIUM
    from tests.web.test_map_tablet import SHOTS

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh --browser")
    case = cases["expired"]
    with engine.begin() as conn:
        apply_personal_data_retention(conn, POLICY, NOW)
    add_user(engine, "retention@annecy.example", "officer")
    with served(db_url, engine) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 768, "height": 1024})
            page.goto(server + "/login")
            page.fill("#email", "retention@annecy.example")
            page.fill("#password", PASSWORD)
            page.click("button.fm-primary")
            page.wait_for_url(server + "/")
            page.goto(f"{server}/cases/{case}#notes")
            erased = page.locator(".fm-photos li[data-erased]")
            assert erased.count() == 1
            assert "effacée le" in erased.inner_text()
            assert "conservation" in erased.inner_text()
            assert page.locator(".fm-photos img").count() == 0
            erased.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "case_photo_erased_768x1024.png"))
        finally:
            browser.close()


def test_migration_0022_matches_the_models(engine: Engine, world: World) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from fleet_monitor.models import metadata

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
        checks = set(
            conn.exec_driver_sql(
                "SELECT conname FROM pg_constraint WHERE conrelid = 'case_photo'::regclass"
            ).scalars()
        )
    assert [d for d in diffs if "case_photo" in str(d) or "resident_report" in str(d)] == []
    assert "ck_case_photo_erased" in checks
    # a photo without its image must say when it was erased, and the other way round
    with pytest.raises(Exception, match="ck_case_photo_erased"):
        sql(
            engine,
            "INSERT INTO case_photo (violation_id, sha256, content_type, size, width, height,"
            " data, uploaded_at, uploaded_by) SELECT id, repeat('0', 64), 'image/jpeg', 1, 1, 1,"
            " NULL, now(), 'x' FROM violation LIMIT 1",
        )
