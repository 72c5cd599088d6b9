"""Fixtures of the notices tests: a real SMTP server per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.notices.helpers import SMTPServer


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    server = SMTPServer().start()
    try:
        yield server
    finally:
        server.stop()
