"""Consumers of the rule registry: settings, lifecycle, notice planner, documents."""

from __future__ import annotations

import pytest

from fleet_monitor.notices.planner import VEHICLE_RULES
from fleet_monitor.outbox.documents import bilingual_rule, rule_name
from fleet_monitor.settings import ConfigError, settings_from_dict
from fleet_monitor.violations.lifecycle import subject_kind
from rules import registry


def test_urgent_rules_default_to_the_registry() -> None:
    settings = settings_from_dict({})
    assert settings.notices.urgent_rules == registry.urgent_rule_ids()
    chosen = settings_from_dict({"notices": {"urgent_rules": ["in_water"]}})
    assert chosen.notices.urgent_rules == ("in_water",)


@pytest.mark.parametrize("key", ["urgent_rules", "rules"])
def test_unknown_rule_types_in_the_settings_are_refused(key: str) -> None:
    with pytest.raises(ConfigError, match=rf"notices\.{key}.*in_the_lake"):
        settings_from_dict({"notices": {key: ["in_water", "in_the_lake"]}})


def test_lifecycle_and_planner_read_the_subject_from_the_registry() -> None:
    for s in registry.REGISTRY:
        assert subject_kind(s.id) == s.subject
        assert (str(s.id) in VEHICLE_RULES) == (s.subject == "vehicle")


def test_documents_name_rules_as_the_registry_does() -> None:
    for s in registry.REGISTRY:
        assert rule_name(str(s.id), "fr") == s.labels["fr"]
        assert rule_name(str(s.id), "en") == s.labels["en"]
    assert bilingual_rule("in_water") == "Dans l’eau / In water"
