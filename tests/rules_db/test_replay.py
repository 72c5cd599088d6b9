"""What-if replays of a draft permit against the stored (simulated) history: a
report per operator and rule, and the real violations left untouched."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from fleet_monitor.database import make_engine
from fleet_monitor.violations import evaluate_rules, replay_draft
from fleet_monitor.violations.catalog import parse_permit
from fleet_monitor.violations.demo_setup import import_city_zones, import_demo_permits
from tests.rules_db.conftest import SimulatedHistory, fingerprint, permit_toml, run_cli


def test_replay_reports_without_touching_real_violations(
    sim_db: str, sim_history: SimulatedHistory, tmp_path: Path
) -> None:
    engine = make_engine(sim_db, pool_size=2)
    try:
        with Session(engine) as s, s.begin():
            import_city_zones(s, sim_history.start)
            import_demo_permits(s, sim_history.caps, sim_history.start)
        with Session(engine) as s, s.begin():
            real = evaluate_rules(s, sim_history.at(30))
        assert real.lifecycle.opened
        before = fingerprint(engine)

        draft = tmp_path / "trotti_draft.toml"
        draft.write_text(
            permit_toml(
                "trotti",
                version=2,
                max_idle="12h",
                cap=60,
                prohibited=["water"],
                effective_from=sim_history.at(100),
            )
        )
        start, end = sim_history.at(6.5).isoformat(), sim_history.at(30).isoformat()
        res = run_cli(
            sim_db,
            "rules",
            "replay",
            "--from",
            start,
            "--to",
            end,
            "--permit",
            str(draft),
            "--every",
            "2h",
            "--json",
        )
        assert res.code == 0, res.err
        report = res.json()
        assert fingerprint(engine) == before  # nothing written, real violations untouched

        assert report["draft"] == {"operator": "trotti", "version": 2, "name": ""}
        assert report["evaluations"] == 12  # 6.5 h, 8.5 h, ... 28.5 h
        got = {(r["operator"], r["rule_type"]): r for r in report["results"]}
        assert got[("trotti", "fleet_cap")]["violation"] >= 1  # 60 < the fleet
        assert got[("trotti", "idle_too_long")]["violation"] >= 1
        assert got[("trotti", "in_water")]["violation"] == 1  # the scooter in the lake
        assert ("trotti", "in_no_parking_area") not in got  # the draft only forbids water
        assert ("velomax", "feed_outage") in got  # other operators keep their permits
        assert report["per_operator"]["trotti"]["violation"] >= 3

        # a stricter idle limit finds more idle vehicles over the same history
        with Session(engine) as s:
            counts = []
            for limit in ("36h", "12h"):
                d = parse_permit(permit_toml("trotti", max_idle=limit), 10.0)
                r = replay_draft(s, d, sim_history.at(20), sim_history.at(44), timedelta(hours=4))
                counts.append(r.results.get(("trotti", "idle_too_long"), {}).get("violation", 0))
        assert counts[1] > counts[0]
        assert fingerprint(engine) == before
    finally:
        engine.dispose()


def test_replay_refuses_bad_input(sim_db: str, tmp_path: Path) -> None:
    draft = tmp_path / "d.toml"
    draft.write_text(permit_toml("trotti", max_idle="1d"))
    for args, message in (
        (["--from", "2025-06-03", "--to", "2025-06-02"], "before --from"),
        (["--from", "2025-06-02", "--to", "2025-06-03", "--every", "often"], "--every"),
        (["--from", "June", "--to", "2025-06-03"], "--from"),
    ):
        res = run_cli(sim_db, "rules", "replay", *args, "--permit", str(draft))
        assert res.code == 2 and message in res.err, res.err
