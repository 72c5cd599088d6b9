"""Fixtures of the statistics tests: a controlled history, aggregated or not."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from fleet_monitor.stats.aggregate import AggregateConfig, aggregate
from tests.stats import scenario
from tests.stats.history import History

CFG = AggregateConfig(zone_kinds=("district",), noise_m=15.0)


@pytest.fixture
def history(engine: Engine) -> History:
    return History(engine)


@pytest.fixture
def ids(history: History) -> scenario.Ids:
    return scenario.build(history)


@pytest.fixture
def aggregated(engine: Engine, ids: scenario.Ids) -> scenario.Ids:
    summary = aggregate(engine, CFG, until=scenario.UNTIL, first=scenario.DAY)
    assert summary.days == [scenario.DAY]
    return ids
