"""The rule registry: one declaration per rule type, read by the engine and every consumer."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from rules import registry
from rules.engine import evaluate_all
from rules.findings import Finding, RuleType
from rules.inputs import ZONE_KINDS, Permit
from rules.registry import REGISTRY, Evaluator, spec

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def test_the_declarations_are_consistent() -> None:
    assert registry.check_registry() == []
    assert [str(s.id) for s in REGISTRY] == list(registry.rule_ids())
    assert {str(r) for r in RuleType} == set(registry.rule_ids())
    assert {z.kind for z in registry.ZONE_KIND_SPECS} == set(ZONE_KINDS)


@pytest.mark.parametrize("s", REGISTRY, ids=lambda s: str(s.id))
def test_each_declaration_is_complete(s: registry.RuleSpec) -> None:
    assert s.subject in ("vehicle", "zone", "operator")
    assert s.labels["fr"] and s.labels["en"] and s.labels["fr"] != str(s.id)
    assert re.fullmatch(r"#[0-9a-f]{6}", s.colour)
    assert len(s.symbol) == 1
    assert s.permit_terms
    assert s.deadline is None or timedelta(0) < s.deadline <= timedelta(hours=24)
    if s.urgent:
        assert s.deadline is not None, "an urgent rule has its own (short) default deadline"


def test_rule_labels_fall_back_to_the_code_for_unknown_rules() -> None:
    assert registry.rule_label("in_water", "fr") == "Dans l’eau"
    assert registry.rule_label("in_water", "en") == "In water"
    assert registry.rule_label("some_new_rule", "fr") == "some new rule"


def test_the_engine_calls_every_evaluator_of_the_registry_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    permit = Permit(operator="op", version=1, effective_from=NOW - timedelta(days=1))

    def spy(ev: Evaluator) -> Evaluator:
        def run(ctx: registry.EvaluationContext) -> list[Finding]:
            calls.append(ev.name)
            return ev.run(ctx)

        return replace(ev, run=run)

    spied = tuple(replace(s, evaluator=spy(s.evaluator)) for s in REGISTRY)
    monkeypatch.setattr(registry, "REGISTRY", spied)
    evaluate_all([], [], [permit], [], [], NOW)
    data_only = [e.name for e in registry.evaluators() if e.needs == "data"]
    assert sorted(calls) == sorted(data_only)  # no zones: no geometric evaluator
    assert len(calls) == len(set(calls))


def test_an_evaluator_declared_in_the_registry_is_run_by_the_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Adding a rule type is a declaration: the engine needs no change."""
    permit = Permit(operator="op", version=1, effective_from=NOW - timedelta(days=1))

    def always(ctx: registry.EvaluationContext) -> list[Finding]:
        return [
            Finding(
                rule_type=RuleType.FEED_STALENESS,
                operator=p.operator,
                subject_key="probe",
                status="violation",
                measured=None,
                unit="",
                threshold=None,
                clause=p.clause("probe"),
                observed_at=ctx.now,
            )
            for p in ctx.permits
        ]

    probe = replace(spec("feed_staleness"), evaluator=Evaluator("probe", "data", always))
    monkeypatch.setattr(registry, "REGISTRY", (*REGISTRY, probe))
    keys = [f.key for f in evaluate_all([], [], [permit], [], [], NOW)]
    assert "feed_staleness|op|probe" in keys


def test_urgent_rules_and_subjects_come_from_the_declarations() -> None:
    assert set(registry.urgent_rule_ids()) >= {"in_water", "on_tram_tracks"}
    assert "idle_too_long" not in registry.urgent_rule_ids()
    assert "fleet_cap" in registry.rules_about("operator")
    assert "zone_cap" in registry.rules_about("zone")
    assert registry.rules_about("vehicle")[0] == "in_water"  # most urgent first


def test_map_rules_are_plain_json_data() -> None:
    rules = registry.map_rules("fr")
    assert [r["id"] for r in rules] == list(registry.rules_about("vehicle"))
    assert rules[0] == {
        "id": "in_water",
        "label": "Dans l’eau",
        "colour": spec("in_water").colour,
        "symbol": spec("in_water").symbol,
    }


MINIMAL = 'operator = "x"\nversion = 1\neffective_from = 2026-01-01\n'


def test_deadlines_per_rule_type_in_the_permit() -> None:
    from rules.permit_toml import PermitError, load_permit_toml

    p = load_permit_toml(MINIMAL + '[notices.deadlines]\nin_water = "45m"\nidle_too_long = "1d"\n')
    assert dict(p.notices.deadlines) == {
        "in_water": timedelta(minutes=45),
        "idle_too_long": timedelta(days=1),
    }
    sent = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)  # 12:00 in Annecy: day hours (2 h)
    assert registry.rule_deadline(p, "in_water") == timedelta(minutes=45)  # the permit's
    assert registry.rule_deadline(p, "on_tram_tracks") == spec("on_tram_tracks").deadline
    assert registry.rule_deadline(p, "in_no_parking_area") is None  # day/night only
    assert registry.notice_deadline(p, sent, ["in_no_parking_area"]) == sent + timedelta(hours=2)
    # the shortest of the notice's rules, never later than the day/night deadline
    assert registry.notice_deadline(p, sent, ["in_no_parking_area", "in_water"]) == sent + (
        timedelta(minutes=45)
    )
    assert registry.notice_deadline(p, sent, ["idle_too_long"]) == sent + timedelta(hours=2)
    for bad, key in (
        ('in_lake = "1h"', "notices.deadlines.in_lake"),
        ('in_water = "0m"', "notices.deadlines.in_water"),
        ('in_water = "soon"', "notices.deadlines.in_water"),
        ('in_water = "400d"', "notices.deadlines.in_water"),
    ):
        with pytest.raises(PermitError, match=re.escape(key)):
            load_permit_toml(MINIMAL + f"[notices.deadlines]\n{bad}\n")
