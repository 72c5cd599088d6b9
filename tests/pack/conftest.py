"""One database for the pack's tests: two months of history, built and aggregated once
per module (about ten seconds), read by every test (the web tests add accounts)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from fleet_monitor.database import make_engine
from tests.conftest import _clone, _drop
from tests.pack import scenario


@pytest.fixture(scope="module")
def pack_db(template_db: str) -> Iterator[tuple[str, Engine, scenario.World]]:
    url = _clone(template_db)
    engine = make_engine(url, pool_size=4)
    try:
        yield url, engine, scenario.build(engine)
    finally:
        engine.dispose()
        _drop(url)
