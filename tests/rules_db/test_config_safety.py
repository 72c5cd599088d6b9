"""A configuration can never halt the rules: zones and permits the engine cannot
use (stored by older versions, or written straight into the database) are
skipped with a recorded error shown on /admin/rules while the other rules still
produce findings; runs dated in the future are voided; a bad zone version can
be retired; the scheduler keeps evaluating through all of it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shapely.geometry import mapping
from sqlalchemy.orm import Session

from datastore import pg_connection
from fleet_monitor.settings import RulesSettings
from fleet_monitor.violations import import_zones
from fleet_monitor.violations.jobs import RulesJobs
from rules import Zone
from tests.rules.helpers import ll, square
from tests.rules_db.conftest import permit_toml
from tests.rules_db.fleet import Fleet, no_parking_square
from tests.web.conftest import make_app, signed_in

T0 = datetime(2025, 6, 3, 8, 0, tzinfo=UTC)
M = timedelta(minutes=1)


def execute(engine, sql: str, *params) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s, s.begin():
        pg_connection(s).cursor().execute(sql, params)


def add_raw_zone(engine, zone_id: str, kind: str, wkt: str, buffer_m: float | None = None) -> None:  # type: ignore[no-untyped-def]
    """A zone row as an older version (or a hand-written SQL fix) could leave it."""
    execute(
        engine,
        "INSERT INTO zone (zone_id, version, kind, name, buffer_m, geom, properties,"
        " content_hash) VALUES (%s, 1, %s, %s, %s, ST_GeomFromText(%s, 4326), '{}', 'old')",
        zone_id,
        kind,
        zone_id,
        buffer_m,
        wkt,
    )


def tram_wkt(y: float) -> str:
    (x0, y0), (x1, y1) = ll(0, y), ll(300, y)
    return f"LINESTRING({x0} {y0}, {x1} {y1})"


def bowtie_wkt() -> str:
    a, b, c, d = ll(1000, 1000), ll(1100, 1100), ll(1100, 1000), ll(1000, 1100)
    return f"POLYGON(({a[0]} {a[1]}, {b[0]} {b[1]}, {c[0]} {c[1]}, {d[0]} {d[1]}, {a[0]} {a[1]}))"


def issues(engine) -> list[tuple]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        cur = pg_connection(s).cursor()
        cur.execute(
            "SELECT kind, subject, version, severity, reason, resolved_at IS NOT NULL"
            " FROM rules_config_error ORDER BY id"
        )
        return cur.fetchall()


def test_a_zone_that_cannot_be_prepared_is_skipped_recorded_and_shown(
    db_url: str, engine, cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    fleet = Fleet(engine, "trotti")
    fleet.zones([no_parking_square()], "no_parking", T0)
    fleet.permit(permit_toml("trotti", max_idle="30m"))
    for k in (0, 10):
        fleet.poll(T0 + k * M, {"a": (50, 50), "b": (100, 300)})
    # the reported bug: a tram line buffered by -5 m (NaN in the grid), and one by 5 km
    add_raw_zone(engine, "tram_tracks:minus", "tram_tracks", tram_wkt(300), -5.0)
    add_raw_zone(engine, "tram_tracks:huge", "tram_tracks", tram_wkt(600), 5000.0)
    add_raw_zone(engine, "water:bowtie", "water", bowtie_wkt())  # invalid: repaired

    res = cli("rules", "run", "--at", (T0 + 11 * M).isoformat(), "--json")
    assert res.code == 0, res.err
    summary = res.json()
    assert summary["by_rule"]["in_no_parking_area"] == {"violation": 1, "uncertain": 0}
    assert "on_tram_tracks" not in summary["by_rule"]  # b is not "on" a 5 km-wide track
    assert "warning: zone tram_tracks:minus v1 skipped: buffer_m" in res.err
    assert "warning: zone tram_tracks:huge v1 skipped: buffer_m" in res.err
    recorded = issues(engine)
    assert sorted((k, s, v, sev, done) for k, s, v, sev, _r, done in recorded) == [
        ("zone", "tram_tracks:huge", 1, "error", False),
        ("zone", "tram_tracks:minus", 1, "error", False),
        ("zone", "water:bowtie", 1, "warning", False),
    ]

    app = make_app(db_url, engine)
    admin = signed_in(app, engine, "admin@annecy.example", "admin")
    page = admin.get("/admin/rules")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    current = html.split('id="fm-issues-current"')[1].split("</table>")[0]
    assert 'data-subject="tram_tracks:minus"' in current
    assert "buffer_m: expected a number of metres above 0 and at most 20" in current
    assert "Ignoré" in current and "Self-intersection" in current  # French by default
    assert "/admin/rules" in html  # linked from the admin menu
    officer = signed_in(app, engine, "officer@annecy.example", "officer")
    assert officer.get("/admin/rules").status_code == 403

    # undo the bad versions; the next evaluation resolves their entries
    res = cli("zones", "retire", "tram_tracks:minus", "tram_tracks:huge", "--reason", "bad buffer")
    assert res.code == 0, res.err
    assert "no earlier version applies" in res.out
    res = cli("rules", "run", "--at", (T0 + 12 * M).isoformat())
    assert res.code == 0 and "tram_tracks" not in res.err
    state = {s: done for _k, s, _v, _sev, _r, done in issues(engine)}
    assert state == {"tram_tracks:minus": True, "tram_tracks:huge": True, "water:bowtie": False}
    html = admin.get("/admin/rules").get_data(as_text=True)
    resolved = html.split('id="fm-issues-resolved"')[1].split("</table>")[0]
    assert 'data-subject="tram_tracks:minus"' in resolved


def test_a_stored_permit_that_cannot_be_used_is_skipped_the_previous_applies(engine, cli) -> None:  # type: ignore[no-untyped-def]
    trotti, velo = Fleet(engine, "trotti"), Fleet(engine, "velo")
    trotti.permit(permit_toml("trotti", max_idle="30m"))
    velo.permit(permit_toml("velo", max_idle="30m"))
    text = permit_toml("trotti", version=2, max_idle="10m", tolerance="nan")
    execute(
        engine,
        "INSERT INTO permit (operator, version, name, effective_from, gps_tolerance_m,"
        " source_text, parsed, content_hash) VALUES ('trotti', 2, '', %s, 'NaN', %s, '{}', 'x')",
        T0 - timedelta(days=1),
        text,
    )
    for k in (0, 40):
        trotti.poll(T0 + k * M, {"a": (0, 0)})
        velo.poll(T0 + k * M, {"b": (0, 0)})
    res = cli("rules", "run", "--at", (T0 + 41 * M).isoformat())
    assert res.code == 0, res.err
    assert "warning: permit trotti v2 skipped: gps_tolerance_m" in res.err
    rows = trotti.rows("SELECT operator, permit_version FROM violation ORDER BY operator")
    assert rows == [("trotti", 1), ("velo", 1)]  # version 1 applies again; velo unaffected
    assert [(k, s, v) for k, s, v, *_ in issues(engine)] == [("permit", "trotti", 2)]


def test_runs_dated_in_the_future_are_voided_and_the_rules_resume(engine, cli) -> None:  # type: ignore[no-untyped-def]
    fleet = Fleet(engine, "trotti")
    fleet.zones([no_parking_square()], "no_parking", T0)
    planned = Zone("no_parking:planned", "no_parking", square(450, 450, 550, 550))
    with Session(engine) as s, s.begin():  # a zone planned for 2099 holds b
        import_zones(
            s,
            [planned],
            kind="no_parking",
            operator=None,
            now=T0,
            effective_from=datetime(2099, 6, 1, tzinfo=UTC),
            partial=True,
        )
    fleet.permit(permit_toml("trotti", max_idle="2h", cap=1))
    for k in (0, 55):
        fleet.poll(T0 + k * M, {"a": (50, 50), "b": (500, 500)})
    real = fleet.evaluate(T0 + 56 * M)
    assert set(real.by_rule) == {"fleet_cap", "in_no_parking_area"}
    # what `rules run --at 2100-01-01` did before: a run (and samples) dated 2099 that
    # opened a violation in the planned zone and closed the fleet cap one
    bad = fleet.evaluate(datetime(2099, 12, 31, tzinfo=UTC))
    assert len(bad.lifecycle.opened) == 1 and bad.lifecycle.closed == 1
    res = cli("rules", "run", "--at", (T0 + 58 * M).isoformat())
    assert res.code == 0, res.err  # before: "violations only move forward", for ever
    assert "recovered: 1 rules run(s) dated after the clock" in res.err
    voided = fleet.rows("SELECT id, voided_at IS NOT NULL FROM rules_run ORDER BY id")
    assert voided[1] == (bad.run_id, True) and not voided[0][1] and not voided[2][1]
    assert fleet.rows("SELECT count(*) FROM count_sample WHERE time > now()") == [(0,)]
    rows = fleet.rows(
        "SELECT rule_type, state, closed_reason, last_seen_at FROM violation ORDER BY id"
    )
    assert [r[:3] for r in rows] == [
        ("fleet_cap", "open", None),  # reopened, then found again at 08:58
        ("in_no_parking_area", "open", None),
        ("in_no_parking_area", "closed", "voided"),  # b, in the zone planned for 2099
    ]
    assert [r[3] for r in rows[:2]] == [T0 + 58 * M, T0 + 58 * M]
    events = fleet.rows(
        "SELECT kind, detail ? 'reopened', detail ? 'voided_run' FROM violation_event"
        " WHERE violation_id = (SELECT id FROM violation WHERE rule_type = 'fleet_cap')"
        " ORDER BY id"
    )
    assert events[:3] == [
        ("opened", False, False),
        ("closed", False, True),
        ("updated", True, False),
    ]
    (entry,) = [i for i in issues(engine) if i[0] == "rules_run"]
    assert entry[1] == f"#{bad.run_id}" and entry[5]  # on the admin page, dealt with
    # the scheduler's clock goes on from there
    jobs = RulesJobs(engine, RulesSettings(), lambda: T0 + 60 * M)
    assert jobs.evaluate() is not None
    assert jobs.sample() >= 0


def test_the_scheduler_keeps_evaluating_through_a_bad_configuration(engine, caplog) -> None:  # type: ignore[no-untyped-def]
    fleet = Fleet(engine, "trotti")
    fleet.zones([no_parking_square()], "no_parking", T0)
    fleet.permit(permit_toml("trotti", max_idle="30m", cap=1))
    add_raw_zone(engine, "tram_tracks:minus", "tram_tracks", tram_wkt(300), -5.0)
    for k in range(0, 40, 5):
        fleet.poll(T0 + k * M, {"a": (50, 50), "b": (100, 300)})
    fleet.evaluate(datetime(2099, 1, 1, tzinfo=UTC))  # left by an older version
    clock = [T0 + 36 * M]
    jobs = RulesJobs(engine, RulesSettings(sample_catchup_s=3600), lambda: clock[0])
    first = jobs.evaluate()
    assert first is not None and first.voided is not None
    assert first.by_rule["in_no_parking_area"]["violation"] == 1
    assert [i.label for i in first.config_issues] == ["tram_tracks:minus v1"]
    assert "1 zone(s)/permit(s) skipped (see /admin/rules)" in caplog.text
    clock[0] += 5 * M
    assert jobs.sample() > 0  # the grid goes on (no sample of 2099 in the way)
    second = jobs.evaluate()
    assert second is not None and second.voided is None and jobs.runs == 2


def test_zones_retire_restores_the_version_it_replaced(engine, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    def write(name: str, size: float) -> Path:
        path = tmp_path / name
        path.write_text(
            json.dumps(
                {
                    "type": "Feature",
                    "id": "paquier",
                    "geometry": mapping(square(0, 0, size, size)),
                    "properties": {"name": "Pâquier"},
                }
            )
        )
        return path

    def versions() -> list[tuple]:
        res = cli("zones", "list", "--all", "--json")
        return [(z["version"], z["effective_to"] is None) for z in res.json()]

    v1, v2 = write("v1.geojson", 100), write("v2.geojson", 5000)
    assert cli("zones", "import", str(v1), "--kind", "no_parking").code == 0
    assert cli("zones", "import", str(v2), "--kind", "no_parking").code == 0
    assert versions() == [(1, False), (2, True)]
    res = cli("zones", "retire", "no_parking:paquier", "--json")
    assert res.code == 0, res.err
    (done,) = res.json()
    assert (done["version"], done["restored_version"]) == (2, 1)
    assert versions() == [(1, True)]  # version 1 applies again, open-ended
    now = cli("zones", "list", "--json").json()
    assert [(z["zone_id"], z["version"]) for z in now] == [("no_parking:paquier", 1)]
    kept = Fleet(engine, "x").rows("SELECT zone_id, version, reason FROM zone_retired")
    assert kept == [("no_parking:paquier", 2, "retired from the command line")]
    # a new import numbers after the retired version; re-importing v1's content is a no-op
    assert cli("zones", "import", str(v1), "--kind", "no_parking", "--json").json()["created"] == []
    res = cli("zones", "import", str(v2), "--kind", "no_parking", "--json").json()
    assert res["created"] == [{"zone_id": "no_parking:paquier", "version": 3}]
    # by version and by row id; a first version leaves nothing in force
    assert cli("zones", "retire", "no_parking:paquier/3").code == 0
    row_id = cli("zones", "list", "--all", "--json").json()[0]["db_id"]
    res = cli("zones", "retire", f"#{row_id}")
    assert res.code == 0 and "no earlier version applies" in res.out
    assert cli("zones", "list", "--all", "--json").json() == []
    res = cli("zones", "retire", "no_parking:paquier/1")
    assert res.code == 2 and "REFS: no version 1 of zone 'no_parking:paquier'" in res.err
